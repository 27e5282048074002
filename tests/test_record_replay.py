"""Recording and replay through the real plugin: scrubbing, matching, and replay never opening a socket.

A tiny HTTP server in this process stands in for a target. It plants secrets in
the response headers; the request carries a planted API key. Nothing it answers
is committed: cassettes are written to a temp dir.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

from support.suites import chat_case, suite

PLANTED_KEY = "sk-planted-" + "x" * 32
SUITE = suite(chat_case("hello"))


class FakeTarget(BaseHTTPRequestHandler):
    seen_auth: list[str] = []

    def do_POST(self) -> None:  # noqa: N802
        FakeTarget.seen_auth.append(self.headers.get("authorization", ""))
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
                           "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"},
                                        "finish_reason": "stop", "logprobs": None}],
                           "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("set-cookie", "session=secret-cookie")
        self.send_header("openai-organization", "org-planted000000000000")
        self.send_header("openai-project", "proj_planted0000000000000")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_target() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTarget)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def _setup(pytester: pytest.Pytester, base_url: str) -> None:
    (pytester.path / "suites").mkdir()
    (pytester.path / "suites" / "demo.yaml").write_text(SUITE)
    (pytester.path / "targets.yaml").write_text(
        f"targets:\n  fake:\n    base_url: {base_url}\n    api_key_env: FAKE_KEY\n    profile: compat\n"
        f"    models: {{default: m}}\n")


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    suite = str(Path(__file__).resolve().parents[1] / "conformance" / "run" / "suite.py")
    return pytester.runpytest_subprocess(suite, "-p", "conformance.run.plugin", "--targets", "targets.yaml",
                                         "--suites", "suites", "--cassettes", "cassettes",
                                         "--reports", "reports", "--expectations", "expectations", *args)


def test_record_scrubs_secrets_then_replay_uses_no_socket(pytester: pytest.Pytester, fake_target: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _setup(pytester, fake_target)
    monkeypatch.setenv("FAKE_KEY", PLANTED_KEY)
    recorded = _run(pytester, "--target", "fake", "--record-mode", "once")
    recorded.assert_outcomes(passed=1)
    assert FakeTarget.seen_auth[-1] == f"Bearer {PLANTED_KEY}"  # the key was really sent...
    cassette = pytester.path / "cassettes" / "fake" / "demo" / "hello.chat.yaml"
    text = cassette.read_text()
    for secret in (PLANTED_KEY, "secret-cookie", "org-planted", "proj_planted", "authorization", "set-cookie"):
        assert secret not in text  # ...and never reached the cassette
    assert '"content": "hello"' in text  # bodies are pretty-printed JSON

    # replay: the server is gone and sockets are blocked; the cassette answers
    calls_before = len(FakeTarget.seen_auth)
    replayed = _run(pytester, "--target", "fake")  # replay is the default, and blocks sockets by itself
    replayed.assert_outcomes(passed=1)
    assert len(FakeTarget.seen_auth) == calls_before
    results = json.loads((pytester.path / "reports" / "results.json").read_text())["results"]
    assert [(r["target"], r["case"], r["api"], r["verdict"]) for r in results] == [("fake", "hello", "chat", "pass")]


def test_replay_without_cassette_is_not_recorded(pytester: pytest.Pytester, fake_target: str) -> None:
    _setup(pytester, fake_target)
    result = _run(pytester, "--target", "fake", "--block-network")
    result.assert_outcomes(skipped=1)
    record = json.loads((pytester.path / "reports" / "results.json").read_text())["results"][0]
    assert record["verdict"] == "not-recorded"


def test_changed_request_does_not_replay_a_stale_recording(pytester: pytest.Pytester, fake_target: str) -> None:
    _setup(pytester, fake_target)
    _run(pytester, "--target", "fake", "--record-mode", "once").assert_outcomes(passed=1)
    (pytester.path / "suites" / "demo.yaml").write_text(SUITE.replace("content: hi", "content: changed"))
    result = _run(pytester, "--target", "fake", "--block-network")
    result.assert_outcomes(failed=1)
    record = json.loads((pytester.path / "reports" / "results.json").read_text())["results"][0]
    assert record["verdict"] == "error" and "no answer" in record["failures"][0]["message"]


def test_replay_items_are_marked_to_block_the_network(pytester: pytest.Pytester, fake_target: str) -> None:
    _setup(pytester, fake_target)
    (pytester.path / "conftest.py").write_text(
        "def pytest_collection_modifyitems(items):\n"
        "    for item in items:\n"
        "        print('MARKS', item.name, sorted(m.name for m in item.iter_markers()))\n")
    result = _run(pytester, "--target", "fake", "--collect-only", "-s", "-p", "conftest")
    marks = [line for line in result.outlines if line.startswith("MARKS")]
    # raw replay answers from the cassette through an httpx2 transport (transport/replay.py): no vcr mark, and
    # sockets are blocked while each item runs by plugin.pytest_runtest_call, not by pytest-recording's fixtures
    assert marks and all("block_network" not in line and "'vcr'" not in line for line in marks), marks
    recording = _run(pytester, "--target", "fake", "--collect-only", "-s", "-p", "conftest", "--record-mode", "once")
    assert any("'vcr'" in line for line in recording.outlines if line.startswith("MARKS"))  # recording: vcrpy


def test_sdk_lane_replay_items_are_marked_to_block_the_network(pytester: pytest.Pytester, fake_target: str) -> None:
    """The SDK lane replays through pytest-recording (vcrpy patches the SDK's client): its items keep the mark."""
    pytest.importorskip("openai", reason="the SDK lane needs the openai SDK (pip install -e '.[sdk]')")
    _setup(pytester, fake_target)
    (pytester.path / "conftest.py").write_text(
        "def pytest_collection_modifyitems(items):\n"
        "    for item in items:\n"
        "        print('MARKS', item.name, sorted(m.name for m in item.iter_markers()))\n")
    sdk = _run(pytester, "--target", "fake", "--collect-only", "-s", "-p", "conftest", "--client", "sdk")
    sdk_marks = [line for line in sdk.outlines if line.startswith("MARKS")]
    assert sdk_marks and all("block_network" in line for line in sdk_marks), sdk.outlines


def test_a_direct_replay_blocks_sockets_while_items_run(pytester: pytest.Pytester, fake_target: str) -> None:
    _setup(pytester, fake_target)
    _run(pytester, "--target", "fake", "--record-mode", "once").assert_outcomes(passed=1)
    (pytester.path / "conftest.py").write_text(
        "import socket\n"
        "def pytest_runtest_call(item):\n"
        "    try:\n"
        "        socket.create_connection(('127.0.0.1', 9), timeout=1)\n"
        "    except RuntimeError as exc:\n"
        "        print('BLOCKED', exc)\n"
        "    except OSError as exc:\n"
        "        print('NOT BLOCKED', exc)\n")
    result = _run(pytester, "--target", "fake", "-s", "-p", "conftest")
    assert any("BLOCKED Network is disabled" in line and "NOT" not in line for line in result.outlines)


def test_replay_blocks_sockets_in_process() -> None:
    """The canary: with pytest-recording's network block, a socket to anywhere fails immediately."""
    from pytest_recording import network

    with network.blocking_context(allowed_hosts=None):
        with pytest.raises(RuntimeError, match="Network is disabled"):
            socket.create_connection(("127.0.0.1", 9), timeout=1)
