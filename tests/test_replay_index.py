"""Replay's fast path (``replay.RecordedIndex``) answers as vcrpy does, on every committed cassette and on
code-made variants of one (labelled as such: a transient answer, a non-API request, a compressed body, a secret
in the body, a request in a shape only vcrpy reads), and leaves to vcrpy what it cannot answer."""

from __future__ import annotations

import copy
import gzip
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from conformance import redaction
from conformance.transport import documents, replay
from conformance.transport import vcr as cassettes

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted((ROOT / "cassettes").rglob("*.yaml"))
BASE = ROOT / "cassettes" / "aimock" / "storage" / "delete-stored.chat.yaml"


def _answers(client: httpx2.Client, requests: list[tuple[str, str, bytes]]) -> list[tuple]:
    """Each request's (status, headers, body), or the name of the exception it raised."""
    out = []
    for method, url, body in requests:
        try:
            answer = client.request(method, url, content=body)
            out.append((answer.status_code, dict(answer.headers), answer.content))
        except Exception as exc:  # noqa: BLE001
            out.append((type(exc).__name__,))
    return out


def _recorded_requests(document: dict[str, Any]) -> list[tuple[str, str, bytes]]:
    """Every recorded request (sent to another port: matching is on the path), then the first once more (no
    repeated playback), then one never recorded."""
    recorded = [(one["request"]["method"], one["request"]["uri"].replace("127.0.0.1:", "127.0.0.2:"),
                 one["request"]["body"].encode() if isinstance(one["request"]["body"], str)
                 else one["request"]["body"] or b"") for one in document["interactions"]]
    return recorded + recorded[:1] + [("POST", "http://127.0.0.1:9/v1/chat/completions", b'{"model": "x"}')]


def _through_vcrpy_cassette(path: Path, requests: list[tuple[str, str, bytes]]) -> list[tuple]:
    try:
        transport = replay.CassetteTransport(replay.load(path))
    except Exception as exc:  # noqa: BLE001  (vcrpy raises while loading)
        return [("not loaded", type(exc).__name__)]
    with httpx2.Client(transport=transport, trust_env=False) as client:
        return _answers(client, requests)


def _through_vcrpy_patching(path: Path, requests: list[tuple[str, str, bytes]]) -> list[tuple]:
    """What vcrpy itself (patching httpx2, as pytest-recording does) answers."""
    from vcr import VCR

    recorder = VCR(record_mode="none")
    cassettes.configure_vcr(recorder, only_completed=True)
    with recorder.use_cassette(str(path), **cassettes.vcr_config()), httpx2.Client() as client:
        return _answers(client, requests)


def _through_replay(path: Path, requests: list[tuple[str, str, bytes]]) -> list[tuple]:
    try:
        client = replay.replay_client(path)
    except Exception as exc:  # noqa: BLE001
        return [("not loaded", type(exc).__name__)]
    with client:
        return _answers(client, requests)


def test_the_replay_transport_answers_as_vcrpy_patching_httpx2_does() -> None:
    """Every recorded request, then the first once more (no repeated playback), then one never recorded: the
    answers (status, headers, body, or the error) are those of vcrpy patching httpx2, as pytest-recording does."""
    requests = _recorded_requests(cassettes.load_yaml(BASE.read_text(encoding="utf-8")))
    expected = _through_vcrpy_patching(BASE, requests)
    assert _through_replay(BASE, requests) == expected
    assert {answer[0] for answer in expected[:-2]} <= {200, 404}  # all played
    assert expected[-2:] == [("CannotOverwriteExistingCassetteException",)] * 2


def _index_answers(path: Path, requests: list[tuple[str, str, bytes]]) -> list[int | None]:
    """The status the index itself gives each request (None: it leaves the request to vcrpy)."""
    index = replay.RecordedIndex.of(cassettes.load_yaml(path.read_text(encoding="utf-8")))
    return [answer.status_code if answer else None for answer in (index.play(*one) for one in requests)]


@pytest.mark.skipif(not COMMITTED, reason="no committed cassettes in this checkout")
def test_every_committed_cassette_is_answered_by_the_index_as_by_vcrpy() -> None:
    assert len(COMMITTED) > 100
    for path in COMMITTED:
        document = cassettes.load_yaml(path.read_text(encoding="utf-8"))
        assert replay.RecordedIndex.of(document) is not None, path  # the fast path reads every one of them
        requests = _recorded_requests(document)
        assert _through_replay(path, requests) == _through_vcrpy_cassette(path, requests), path
        assert None not in _index_answers(path, requests[:-2]), path  # no recorded request was left to vcrpy


def _variant(tmp_path: Path, name: str, change: Any) -> Path:
    """A code-made variant of a committed cassette (written to ``tmp_path``, never committed)."""
    document = copy.deepcopy(cassettes.load_yaml(BASE.read_text(encoding="utf-8")))
    change(document)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _transient_first(document: dict[str, Any]) -> None:
    document["interactions"][0]["response"]["status"] = {"code": 429, "message": "Too Many Requests"}


def _probe_first(document: dict[str, Any]) -> None:
    probe = copy.deepcopy(document["interactions"][0])
    probe["request"].update(method="GET", uri="http://127.0.0.1:4020/health", body=None)
    document["interactions"].insert(0, probe)


def _compressed_first(document: dict[str, Any]) -> None:
    response = document["interactions"][0]["response"]
    response["body"]["string"] = gzip.compress(response["body"]["string"].encode())
    response["headers"]["Content-Encoding"] = ["gzip"]


SECRET = "sk-proj-" + "a1B2c3D4" * 6  # made up, shaped like an OpenAI key


def _secret_in_bodies(document: dict[str, Any]) -> None:
    """The body as a recording writes it (the key redacted); the test sends it with the key."""
    request = document["interactions"][0]["request"]
    request["body"] = redaction.redact(request["body"].replace("Say hi.", "Say " + SECRET))
    assert SECRET not in request["body"]


def _unusual_request_key(document: dict[str, Any]) -> None:
    document["interactions"][0]["request"]["extra"] = 1  # vcrpy cannot build its Request: it says why


@pytest.mark.parametrize("change", [_transient_first, _probe_first, _compressed_first, _secret_in_bodies])
def test_code_made_variants_are_answered_as_vcrpy_answers_them(tmp_path: Path, change: Any) -> None:
    path = _variant(tmp_path, change.__name__, change)
    requests = _recorded_requests(cassettes.load_yaml(path.read_text(encoding="utf-8")))
    if change is _secret_in_bodies:  # sent with the key the recording does not hold
        hidden = redaction.redact(SECRET).encode()
        assert hidden in requests[0][2]
        requests[0] = (*requests[0][:2], requests[0][2].replace(hidden, SECRET.encode()))
    ours = _through_replay(path, requests)
    assert ours == _through_vcrpy_cassette(path, requests)
    if change is _probe_first:  # a request the scrub drops: vcrpy would send it to the network, replay never does
        assert ours[0] == ("NetworkBlocked",)
    else:
        assert ours == _through_vcrpy_patching(path, requests)
    assert replay.RecordedIndex.of(cassettes.load_yaml(path.read_text(encoding="utf-8"))) is not None
    played = _index_answers(path, requests)
    assert played[-2:] == [None, None]  # a repeat and an unknown request: left to vcrpy, which raises
    if change is _transient_first:
        assert ours[0] == ("CannotOverwriteExistingCassetteException",)  # a transient answer is never played
        assert played[0] is None
    elif change is _probe_first:
        assert played[0] is None and None not in played[1:-2]
    else:
        assert None not in played[:-2]
    if change is _compressed_first:
        assert ours[0][0] == 200 and b"chat.completion" in ours[0][2] and "content-encoding" not in ours[0][1]


def _empty_header_value(document: dict[str, Any]) -> None:
    document["interactions"][0]["request"]["headers"]["x-empty"] = []  # vcrpy's Request takes the first item


def _odd_answer_header_never_played(document: dict[str, Any]) -> None:
    extra = copy.deepcopy(document["interactions"][-1])
    extra["request"]["uri"] += "-never-asked"
    extra["response"]["headers"][5] = ["x"]  # a header name that is not text: vcrpy's scrub fails on loading
    document["interactions"].append(extra)


def _compressed_nothing_transient(document: dict[str, Any]) -> None:
    extra = copy.deepcopy(document["interactions"][0])
    extra["response"].update(status={"code": 503, "message": "Service Unavailable"},
                             body={"string": None}, headers={"Content-Encoding": ["gzip"]})
    document["interactions"].append(extra)  # vcrpy decompresses before it drops a transient answer: it fails


@pytest.mark.parametrize("change, problem", [(_unusual_request_key, "vcrpy cannot read it: TypeError"),
                                             (_empty_header_value, "vcrpy cannot read it: IndexError"),
                                             (_odd_answer_header_never_played, None),
                                             (_compressed_nothing_transient, None)])
def test_a_cassette_only_vcrpy_reads_as_it_should_is_left_to_vcrpy(tmp_path: Path, change: Any, problem: Any):
    path = _variant(tmp_path, change.__name__, change)
    assert replay.RecordedIndex.of(cassettes.load_yaml(path.read_text(encoding="utf-8"))) is None
    requests = _recorded_requests(cassettes.load_yaml(BASE.read_text(encoding="utf-8")))
    ours = _through_replay(path, requests)
    assert ours == _through_vcrpy_cassette(path, requests)
    if problem:
        assert cassettes.load_problem(path).startswith(problem)
        assert ours == _through_vcrpy_patching(path, requests)
    else:
        assert ours[0][0] == "not loaded"  # as vcrpy: an error while loading the cassette


def test_a_request_the_index_cannot_answer_gets_vcrpys_own_error(tmp_path: Path) -> None:
    """A repeat of a played request, then an unknown one: vcrpy's error (which names the closest recording),
    raised with the index's play counts (the repeat is not played again)."""
    document = cassettes.load_yaml(BASE.read_text(encoding="utf-8"))
    method, url, body = _recorded_requests(document)[0]
    with replay.replay_client(BASE) as client:
        assert isinstance(client._transport, replay.IndexTransport)
        assert client.request(method, url, content=body).status_code == 200
        for again, says in ((body, "already been played back"), (b'{"model": "other"}', "json_body_matcher")):
            with pytest.raises(Exception) as raised:
                client.request(method, url, content=again)
            assert type(raised.value).__name__ == "CannotOverwriteExistingCassetteException"
            assert says in str(raised.value)


@pytest.mark.skipif(not COMMITTED, reason="no committed cassettes in this checkout")
def test_the_recorded_run_id_is_read_from_the_kept_document_as_from_the_text(monkeypatch: pytest.MonkeyPatch):
    with_id = 0
    for path in COMMITTED:
        monkeypatch.setattr(documents, "_KEPT", {})
        from_text = cassettes.recorded_run_id(path)
        cassettes.read_cassette(path)  # replay parses it and keeps the document
        assert documents.kept(path) is not None
        assert cassettes.recorded_run_id(path) == from_text, path
        with_id += from_text is not None
    assert with_id >= 5  # cassettes of cases that name what they create by the run


def _ids_in_answer_then_request(document: dict[str, Any]) -> None:
    """A list answer naming an earlier run's object before the next request names this run's."""
    document["interactions"][0]["response"]["body"]["string"] += " 20240101t000000-abcdef"
    document["interactions"][1]["request"]["uri"] += "?after=20250101t000000-123456"


def test_the_recorded_run_id_is_the_first_in_the_file_from_either(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = _variant(tmp_path, "ids", _ids_in_answer_then_request)
    monkeypatch.setattr(documents, "_KEPT", {})
    from_text = cassettes.recorded_run_id(path)
    cassettes.read_cassette(path)
    assert documents.kept(path) is not None
    assert cassettes.recorded_run_id(path) == from_text == "20240101t000000-abcdef"

