"""Replay a recorded cassette through an httpx2 transport, without patching any library.

Recording stays vcrpy's (pytest-recording's ``vcr`` fixture patches httpx2 while a case runs). Replaying needs
none of that patching. ``replay_client(path)`` answers each request as vcrpy's httpx stub would with the
cassette configured as the fixture configures it (``vcr.vcr_config()``, ``vcr.configure_vcr()``: our persister,
request and response scrubbing, the matchers ``method``, ``conformance_path`` and ``conformance_json_body``, no
repeated playback, record mode ``none``):

- ``RecordedIndex`` is the fast path: the interactions vcrpy would keep (those whose request the scrub keeps and
  whose answer is not transient), each request reduced once to what the matchers compare, each answer decoded
  and scrubbed once, when the cassette is loaded, as vcrpy does. A request gets the first unplayed interaction
  all three matchers accept, as in vcrpy.
- Anything else goes to vcrpy itself: a cassette holding an interaction vcrpy would read differently or fail to
  load, and every request the index cannot answer (vcrpy then raises its own
  ``CannotOverwriteExistingCassetteException``, which says which recorded request came closest and why it
  differs). tests/test_replay_index.py compares the index with vcrpy's Cassette and with vcrpy patching httpx2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx2

from conformance import redaction
from conformance.api.endpoints import api_of, api_tail
from conformance.transport import vcr as cassettes


class NetworkBlocked(RuntimeError):
    """A request the cassette cannot answer and vcrpy would send to the network (replay never does)."""


def load(path: str | Path) -> Any:
    """The vcrpy ``Cassette`` at ``path`` (``.yaml`` included), loaded for replay (record mode ``none``).
    A cassette that cannot be read loads empty, and ``vcr.load_problem(path)`` says why (as in a vcrpy run)."""
    from vcr import VCR
    from vcr.cassette import Cassette, CassetteContextDecorator

    recorder = VCR(record_mode="none", path_transformer=VCR.ensure_suffix(".yaml"))
    cassettes.configure_vcr(recorder, only_completed=True)
    config = recorder.get_merged_config(**cassettes.vcr_config())
    for name in CassetteContextDecorator._non_cassette_arguments:  # the context manager's, not the cassette's
        config.pop(name, None)
    config["path"] = str(Path(path).with_suffix(".yaml"))
    config["before_record_request"] = scrubbed_copy
    return Cassette.load(**config)


def scrubbed_copy(request: Any) -> Any:
    """``vcr.scrub_request`` on a copy of ``request``: what vcrpy's own ``before_record_request`` does with our
    configuration (which has no other request filter), without deep-copying the body and every header."""
    import copy

    copied = copy.copy(request)
    copied.headers = dict(request.headers)  # a new HeadersDict: scrubbing deletes and rewrites headers
    return cassettes.scrub_request(copied)


class _OnceScrubbed:
    """A cassette's ``before_record_request`` run once per request object: vcrpy asks it for every question
    about the same request (can it be played? which answer?), and again on the scrubbed copy it got back,
    copying the request each time. The last few (object, result) pairs are kept, by identity."""

    KEPT = 4

    def __init__(self, scrub: Any):
        self.scrub = scrub
        self.recent: list[tuple[Any, Any]] = []

    def __call__(self, request: Any) -> Any:
        for seen, scrubbed in self.recent:
            if seen is request:
                return scrubbed
        scrubbed = self.scrub(request)
        self.recent = [(request, scrubbed), *self.recent[:self.KEPT - 1]]
        return scrubbed


class CassetteTransport(httpx2.BaseTransport):
    """An httpx2 transport answering from a loaded vcrpy cassette, with vcrpy's matching and play counts."""

    def __init__(self, cassette: Any):
        self.cassette = cassette
        cassette._before_record_request = _OnceScrubbed(cassette._before_record_request)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        from vcr.errors import CannotOverwriteExistingCassetteException, UnhandledHTTPRequestError
        from vcr.request import Request

        recorded = Request(request.method, str(request.url), request.read(), request.headers)
        # vcrpy's stub asks can_play_response_for and then play_response, matching every interaction twice; in
        # replay (record mode none, no repeats) the first is a loaded cassette, a request its filter keeps, and
        # an unplayed match, which play_response looks for itself
        if self.cassette.rewound and self.cassette.filter_request(recorded):
            try:
                return _response(self.cassette.play_response(recorded))
            except UnhandledHTTPRequestError:
                pass
        if self.cassette.write_protected and self.cassette.filter_request(recorded):
            raise CannotOverwriteExistingCassetteException(cassette=self.cassette, failed_request=recorded)
        raise NetworkBlocked(f"{request.method} {request.url}: not in the cassette, and replay never uses the "
                             f"network")


def _response(recorded: dict[str, Any]) -> httpx2.Response:
    """An httpx2 response from a recorded one, as vcrpy's httpx stub builds it."""
    message = recorded["status"].get("message")
    # HTTP/1.1 carries a reason phrase as ISO-8859-1 bytes (vcrpy's stub encodes ASCII, and a cassette holding
    # anything else made the answer an error); a character beyond that is replaced
    message = message.encode("latin-1", errors="replace") if isinstance(message, str) and message else None
    return httpx2.Response(
        recorded["status"]["code"],
        headers=[(name, value) for name, values in recorded["headers"].items() for value in values],
        stream=httpx2.ByteStream(recorded["body"]["string"]),
        extensions={"reason_phrase": message} if message else None,
    )


@dataclass
class _Recorded:
    """One recorded interaction as replay sees it: what the matchers compare, and the answer as recorded."""

    method: str
    tail: str  # ``api_tail`` of the scrubbed URL's path
    body: Any  # ``vcr.match_body`` of the scrubbed body
    response: dict[str, Any]  # as vcrpy plays it (``_answer``)


class _Plain:
    """A request reduced to what the scrub and the matchers read (vcrpy's ``Request`` has the same names)."""

    def __init__(self, method: str, uri: str, body: Any):
        self.method, self.uri, self.body = method, uri, body.encode("utf-8") if isinstance(body, str) else body

    @property
    def path(self) -> str:
        return urlparse(self.uri).path


_REQUEST_KEYS = {"method", "uri", "body", "headers"}  # exactly what vcrpy's Request is built from


def _reduced(request: _Plain) -> tuple[str, Any] | None:
    """(api tail, match body) of ``request`` once scrubbed as ``vcr.scrub_request`` scrubs it (which also
    redacts headers, that no matcher reads); None when the scrub drops it."""
    if api_of(request.path) is None:
        return None
    uri, body = redaction.redact_url(request.uri), request.body
    if isinstance(body, bytes) and body:
        body = redaction.redact_bytes(body)
    return api_tail(urlparse(uri).path), cassettes.match_body(_Plain(request.method, uri, body))


class RecordedIndex:
    """The fast path of replay over a parsed cassette document (see the module's docstring)."""

    def __init__(self, recorded: list[_Recorded]):
        self.recorded = recorded
        self.played = [0] * len(recorded)

    @classmethod
    def of(cls, document: dict[str, Any]) -> RecordedIndex | None:
        """The index of a checked cassette ``document`` (``vcr.cassette_problem`` is None); None when an
        interaction is not in the plain shape this reads, so that vcrpy reads it (and says what is wrong)."""
        recorded = []
        for interaction in document["interactions"]:
            request, response = interaction["request"], interaction["response"]
            body = response["body"].get("string")
            if not _plain_request(request) or not isinstance(body, (str, bytes, type(None))):
                return None
            try:  # what vcrpy does to each interaction as it loads the cassette
                reduced = _reduced(_Plain(request["method"], request["uri"], request["body"]))
                answer = _answer(response) if reduced is not None else None
            except Exception:  # noqa: BLE001  (vcrpy raises it while loading: it is left to vcrpy, which does)
                return None
            if answer is not None:  # else the scrubs drop it (not an API call, a transient answer)
                recorded.append(_Recorded(request["method"], *reduced, answer))
        return cls(recorded)

    def play(self, method: str, url: str, body: bytes) -> httpx2.Response | None:
        """The answer to a request (None when no unplayed interaction matches it, or the scrub drops it)."""
        reduced = _reduced(_Plain(method, url, body))
        if reduced is None:
            return None
        tail, matched = reduced
        for index, one in enumerate(self.recorded):
            if not self.played[index] and one.method == method and one.tail == tail and one.body == matched:
                self.played[index] = 1
                return _response(one.response)
        return None


def _plain_request(request: dict[str, Any]) -> bool:
    """A recorded request vcrpy builds its ``Request`` from without complaint: exactly its four keys, header
    names that are strings and values that are strings or non-empty lists (vcrpy keeps a list's first item),
    a body that is text, bytes or nothing."""
    headers = request.keys() == _REQUEST_KEYS and request["headers"]
    return (isinstance(headers, dict) and isinstance(request["body"], (str, bytes, type(None)))
            and all(isinstance(name, str) and (isinstance(value, str) or isinstance(value, list) and value)
                    for name, value in headers.items()))


def _answer(recorded: dict[str, Any]) -> dict[str, Any]:
    """A recorded answer as vcrpy plays it: its body as bytes, decompressed when the recording is compressed
    (``decode_compressed_response``), then ``vcr.scrub_response``. The recorded dict is left unchanged."""
    response = {**recorded, "body": dict(recorded["body"])}
    if isinstance(response["body"].get("string"), str):
        response["body"]["string"] = response["body"]["string"].encode("utf-8")
    if any(name.lower() == "content-encoding" for name in response["headers"]):
        from vcr.filters import decode_response  # rare: vcrpy's own decompression

        response = decode_response(response)
    return cassettes.scrub_response(response)


class IndexTransport(httpx2.BaseTransport):
    """An httpx2 transport answering from a ``RecordedIndex``; a request it cannot answer goes to vcrpy, given
    the same play counts, so that the error raised is vcrpy's own."""

    def __init__(self, index: RecordedIndex, path: Path):
        self.index, self.path = index, path

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        answer = self.index.play(request.method, str(request.url), request.read())
        if answer is not None:
            return answer
        fallback = CassetteTransport(load(self.path))
        same = len(fallback.cassette.data) == len(self.index.played)  # the same interactions, in the same order
        if same:
            for position, played in enumerate(self.index.played):
                fallback.cassette.play_counts[position] = played
        answer = fallback.handle_request(request)
        if same:  # vcrpy played what the index did not find (never seen): the index counts it too
            self.index.played = [fallback.cassette.play_counts[at] for at in range(len(self.index.played))]
        return answer


def replay_client(path: str | Path, timeout: Any = None) -> httpx2.Client:
    """An httpx2 client whose every request is answered from the cassette at ``path``."""
    path = Path(path).with_suffix(".yaml")
    document, _problem = cassettes.read_cassette(path)
    index = RecordedIndex.of(document) if document is not None else None
    transport = IndexTransport(index, path) if index is not None else CassetteTransport(load(path))
    return httpx2.Client(transport=transport, timeout=timeout, trust_env=False)
