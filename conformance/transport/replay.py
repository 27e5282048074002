"""Replay a recorded cassette through an httpx2 transport, without patching any library.

Recording stays vcrpy's (pytest-recording's ``vcr`` fixture patches httpx2 while a case runs). Replaying
needs none of that patching: ``replay_client(path)`` loads the cassette as a vcrpy ``Cassette`` configured
exactly as the fixture would configure it (``vcr.vcr_config()``, ``vcr.configure_vcr()``: our persister,
serializer, request scrubbing and matchers, no repeated playback) and answers each request the way vcrpy's
httpx stub does (``can_play_response_for`` / ``play_response``; ``CannotOverwriteExistingCassetteException``
when nothing recorded matches). What is skipped is per-cassette set-up (patching every HTTP library) and the
copies vcrpy makes of the same request for each question it asks about it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2

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


def replay_client(path: str | Path, timeout: Any = None) -> httpx2.Client:
    """An httpx2 client whose every request is answered from the cassette at ``path``."""
    return httpx2.Client(transport=CassetteTransport(load(path)), timeout=timeout, trust_env=False)
