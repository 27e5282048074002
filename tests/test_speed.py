"""The speed-ups of issue 15 keep behaviour: each is shown to do what the slow path did, and to do less.

Replay (expectations parsed once, known gaps reported as xfail without a traceback, absent HTTP libraries
looked for once, no per-item fixture of pytest-recording; the transport that serves cassettes is compared with
vcrpy in tests/test_replay_index.py), the results file
rewritten in a bounded share of the run, live runs (bounded polls, cases on a thread pool, per-target
concurrency, aimock's injected latency for the benchmark).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2
import pytest

from conformance.cases.targets import TargetError, make_target
from conformance.reports import results_file
from conformance.run import concurrent, plugin
from conformance.run.runner import PollBudget, poll
from conformance.transport import replay
from conformance.transport import vcr as cassettes
from conformance.transport.exchange import Exchange
from conformance.transport.http import Limits, _read
from conformance.verdicts import expectations

ROOT = Path(__file__).resolve().parents[1]


# --- replay ---------------------------------------------------------------------------------------------------

def test_expectations_are_parsed_once_per_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = []
    real = expectations.load_yaml
    monkeypatch.setattr(expectations, "load_yaml", lambda text: parsed.append(text) or real(text))
    expectations._parse.cache_clear()
    path = tmp_path / "t.yaml"
    path.write_text("known:\n  text/hello.chat: {verdict: fail, checks: [status]}\n")
    first, second = expectations.load(tmp_path, "t"), expectations.load(tmp_path, "t")
    assert len(parsed) == 1 and first is second and first.known["text/hello.chat"].verdict.value == "fail"
    path.write_text("known:\n  text/hello.chat: {verdict: unsupported, checks: [status]}\n")  # changed: re-read
    assert expectations.load(tmp_path, "t").known["text/hello.chat"].verdict.value == "unsupported"
    assert len(parsed) == 2


SPY = """
import json, sys, pytest
seen = []
class Spy:
    def pytest_runtest_logreport(self, report):
        if report.when == "call" and hasattr(report, "wasxfail"):
            seen.append([report.outcome, report.wasxfail, report.longrepr is None])
pytest.main(["conformance/run/suite.py", "-p", "conformance.run.plugin", "-p", "no:cacheprovider", "-q",
             "--target", "aimock", "--capability", "storage", "--reports", sys.argv[1]], plugins=[Spy()])
print(json.dumps(seen))
"""


def test_a_known_gap_is_an_xfail_with_its_reason_and_no_traceback(tmp_path: Path) -> None:
    """A replayed known gap is reported as pytest reports ``pytest.xfail(reason)`` (outcome skipped, the reason
    in ``wasxfail``), but with no traceback built (``longrepr`` None)."""
    proc = subprocess.run([sys.executable, "-c", SPY, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(seen) >= 5, proc.stdout[-2000:]
    assert all(outcome == "skipped" and reason.startswith("known ") and no_traceback
               for outcome, reason, no_traceback in seen), seen


def _setup_plan(*options: str) -> list[str]:
    """The fixtures ``conformance run --setup-plan`` would set up for aimock's storage cases (nothing runs)."""
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--target", "aimock", "--capability",
                           "storage", "--setup-plan", *options], cwd=ROOT, capture_output=True, text=True, timeout=300)
    return [line.split()[2] for line in proc.stdout.splitlines() if line.strip().startswith("SETUP")]


def test_a_directly_replayed_item_sets_up_none_of_pytest_recordings_fixtures(tmp_path: Path) -> None:
    """Recording keeps them (the ``vcr`` fixture records each item's cassette); direct replay has no use for
    them, and pytest would set up six fixtures for each item."""
    replayed = _setup_plan("--reports", str(tmp_path / "replay"))
    recorded = _setup_plan("--reports", str(tmp_path / "record"), "--record-mode", "once")
    items = sum(name.startswith("conformance_spec") for name in replayed)
    assert items >= 5 and items == sum(name.startswith("conformance_spec") for name in recorded)
    assert not set(replayed) & set(plugin.RECORDING_FIXTURES)
    assert recorded.count("vcr") == recorded.count("block_network") == items


def test_the_session_tools_stop_everything_even_when_one_fails_to_stop() -> None:
    from conformance.run.suite import SessionTools
    from conformance.transport.servers import RunningServer

    stopped: list[str] = []

    class Server(RunningServer):
        def __init__(self, label: str):
            self.label = label

        def stop(self) -> None:
            stopped.append(self.label)

    class Pool:
        def close(self) -> None:
            stopped.append("pool")
            raise KeyboardInterrupt  # Ctrl-C while the pool waits for its threads

    tools = SessionTools.__new__(SessionTools)  # what a live session with --concurrency holds at its end
    tools.runner, tools.servers = Pool(), {"a": Server("a"), "b": Server("b")}
    tools._client = httpx2.Client()
    with pytest.raises(KeyboardInterrupt):
        tools.close()
    assert stopped == ["pool", "b", "a"] and tools._client.is_closed


def test_absent_http_libraries_are_looked_for_once(monkeypatch: pytest.MonkeyPatch) -> None:
    name = "conformance_no_such_library_xyz"
    monkeypatch.delitem(sys.modules, name, raising=False)
    assert cassettes.skip_absent_libraries((name, "json")) == [name]  # json is installed: left alone
    assert sys.modules[name] is None and importlib.util.find_spec(name) is None
    with pytest.raises(ImportError):
        __import__(name)  # fails at once: Python's own "known absent" marker, no search of sys.path
    monkeypatch.delitem(sys.modules, name)


def test_the_request_scrub_on_a_shallow_copy_equals_vcrpys_deep_copy() -> None:
    from vcr import VCR
    from vcr.request import Request

    recorder = VCR(record_mode="none")
    cassettes.configure_vcr(recorder)
    built = recorder.get_merged_config(**cassettes.vcr_config())["before_record_request"]
    body = json.dumps({"model": "m", "input": "hi", "user": "u"}).encode()
    for original in (Request("POST", "http://user:pw@h/v1/responses?api-key=sk-abc", body,
                             {"Authorization": "Bearer sk-123", "X-Stainless-Os": "Linux", "Accept": "a"}),
                     Request("GET", "http://h/health", None, {})):
        ours, theirs = replay.scrubbed_copy(original), built(original)
        if theirs is None:
            assert ours is None
            continue
        assert (ours.method, ours.uri, ours.body, dict(ours.headers)) == \
            (theirs.method, theirs.uri, theirs.body, dict(theirs.headers))
        assert "Authorization" in original.headers  # the request itself is left as it was


def test_an_answer_already_in_memory_is_read_without_a_watchdog_thread() -> None:
    before = threading.active_count()
    response = httpx2.Response(200, stream=httpx2.ByteStream(b'{"a": 1}'))
    assert _read(response, time.monotonic(), Limits()) == ('{"a": 1}', None)
    text, problem = _read(httpx2.Response(200, stream=httpx2.ByteStream(b"x" * 100)), time.monotonic(),
                          Limits(max_bytes=10))
    assert text == "x" * 100 and "exceeded 10 bytes" in problem  # as the chunked loop keeps its one chunk
    assert threading.active_count() == before


def test_a_replayed_answer_sent_through_the_client_is_read_without_a_watchdog(monkeypatch: pytest.MonkeyPatch):
    """The client wraps the transport's in-memory stream; the read still sees it is in memory."""
    from conformance.transport import http

    def no_watchdog(*args, **kwargs):
        raise AssertionError("a watchdog thread for an answer already in memory")

    monkeypatch.setattr(http.threading, "Timer", no_watchdog)
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, stream=httpx2.ByteStream(b'{"a": 1}')))
    with httpx2.Client(transport=transport) as client:
        with client.stream("GET", "http://h/v1/models") as response:
            assert _read(response, time.monotonic(), Limits()) == ('{"a": 1}', None)


def test_the_results_file_is_rewritten_in_a_bounded_share_of_the_run(tmp_path: Path) -> None:
    writer = results_file.ResultsWriter(tmp_path, results_file.standalone_run(), every=1e-9)
    writer._cost = 0.0  # as if the first rewrite took no time
    record = {"target": "t", "capability": "c", "case": "x", "api": "chat", "stream": False, "verdict": "pass",
              "failures": [], "steps": []}
    writer.add(dict(record))
    assert len(json.loads((tmp_path / "results.json").read_text())["results"]) == 1  # cheap: rewritten at once
    writer._cost = 3600.0  # as if the last rewrite took an hour: not again before 20 hours
    writer.add(dict(record, case="y"))
    assert len(json.loads((tmp_path / "results.json").read_text())["results"]) == 1
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 3  # every result kept at once
    writer.finish()
    assert len(json.loads((tmp_path / "results.json").read_text())["results"]) == 2


# --- live -----------------------------------------------------------------------------------------------------

def _answer(status: int, body: dict) -> Exchange:
    return Exchange("GET", "http://h/v1/chat/completions/chatcmpl-1", status=status,
                    headers={"content-type": "application/json"}, text=json.dumps(body))


ABSENT = {"error": {"message": "Not found"}}  # a server without the route
NOT_YET = {"error": {"message": "No completion found with id chatcmpl-1", "param": "completion_id"}}


@pytest.mark.parametrize("body, budget, sent", [
    (ABSENT, PollBudget(), 1),  # the route is absent: asked twice in all, then no more waiting
    (ABSENT, None, 6),  # replay: every recorded poll answered, as before
    (NOT_YET, PollBudget(), 6),  # OpenAI's eventual consistency: waited for
    (NOT_YET, PollBudget(timeout=0.0), 0),  # --poll-timeout 0: no waiting at all
])
def test_polls_stop_on_an_absent_route_and_within_the_budget(body, budget, sent) -> None:
    tries = []

    def again() -> Exchange:
        tries.append(1)
        return _answer(404, body) if len(tries) < 6 else Exchange("GET", "http://h/x")  # then: used up

    exchange, unmet = poll({"until_status": 200, "timeout": 3600}, _answer(404, body), again, lambda _s: None,
                           budget)
    assert len(tries) == sent and exchange.status == 404 and unmet is None


def test_cases_run_longest_first_within_each_targets_limit() -> None:
    class Spec:
        def __init__(self, name: str, target: str, polls: int):
            self.id, self.api = name, "chat"
            self.target = type("T", (), {"name": target})()
            self.case = type("C", (), {"steps": {"chat": [type("S", (), {"poll": {"p": 1}})()] * polls}})()

    specs = [Spec(f"a{i}", "small", 0) for i in range(6)] + [Spec("slow", "big", 3)]
    started, running, most = [], {"small": 0}, {"small": 0}
    lock = threading.Lock()

    def run(spec: Spec) -> str:
        with lock:
            started.append(spec.id)
            running[spec.target.name] = running.get(spec.target.name, 0) + 1
            most["small"] = max(most["small"], running.get("small", 0))
        time.sleep(0.05)
        with lock:
            running[spec.target.name] -= 1
        if spec.id == "a5":
            raise ValueError("boom")
        return spec.id

    runner = concurrent.CaseRunner(4, {"small": 2})
    runner.start(specs, run)
    assert [runner.result(s, run) for s in specs[:5]] == [f"a{i}" for i in range(5)]
    with pytest.raises(ValueError, match="boom"):
        runner.result(specs[5], run)
    runner.close()
    assert started[0] == "slow" and most["small"] == 2


def test_a_targets_concurrency_is_validated() -> None:
    assert make_target("t", {"base_url": "http://h/v1", "concurrency": 2}).concurrency == 2
    assert make_target("t", {"base_url": "http://h/v1"}).concurrency is None
    for bad in (0, "2", 1.5):
        with pytest.raises(TargetError, match="concurrency must be a whole number"):
            make_target("t", {"base_url": "http://h/v1", "concurrency": bad})


def test_aimock_gets_the_injected_latency_only_when_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from conformance.transport.servers import catalog

    monkeypatch.setattr(catalog, "_installed", lambda path, what: str(path))
    launch = type("L", (), {"port": 1234})()
    monkeypatch.delenv(catalog.AIMOCK_LATENCY_ENV, raising=False)
    argv, _ = catalog._aimock("aimock")(launch)
    assert "--chaos-latency" not in argv
    monkeypatch.setenv(catalog.AIMOCK_LATENCY_ENV, "300")
    argv, _ = catalog._aimock("aimock")(launch)
    assert argv[-2:] == ["--chaos-latency", "300"]


# --- audit ----------------------------------------------------------------------------------------------------

def test_the_audit_collects_garbage_less_often_and_restores_the_settings(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    import gc

    from conformance.audit import main as audit

    seen = []
    monkeypatch.setattr(audit, "_audit_files", lambda *args, **kwargs: seen.append(gc.get_threshold()) or [])
    before = gc.get_threshold()
    (tmp_path / "empty.yaml").write_text("interactions: []\nversion: 1\n")
    audit.main([str(tmp_path), "--json", str(tmp_path / "report.json")])
    assert seen == [audit.AUDIT_GC_THRESHOLDS] and gc.get_threshold() == before


def test_a_run_collects_garbage_less_often_and_restores_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from conformance import cli
    from conformance.memory import FEWER_COLLECTIONS

    seen = []
    monkeypatch.setattr(pytest, "main", lambda args: seen.append(gc.get_threshold()) or 0)
    before = gc.get_threshold()
    assert cli.run(["--collect-only"]) == 0
    assert seen == [FEWER_COLLECTIONS] and gc.get_threshold() == before


def test_a_kept_cassette_document_is_read_back_only_while_its_file_is_unchanged(tmp_path: Path) -> None:
    """Replay keeps what it parsed for the report; a changed file is parsed again, and vcrpy's loading leaves
    the kept document as parsed (its body strings stay text)."""
    import os

    from conformance.transport import documents
    from conformance.transport.recordings import read_document

    path = tmp_path / "hello.chat.yaml"
    path.write_text("interactions:\n- request: {method: POST, uri: 'http://h/v1/chat/completions', body: null,\n"
                    "    headers: {}}\n  response:\n    status: {code: 200, message: OK}\n    headers: {}\n"
                    "    body: {string: '{\"id\": \"chatcmpl-1\"}'}\nversion: 1\n")
    cassettes.SafePersister.load_cassette(path, serializer=None)  # as replay loads it
    kept = documents.kept(path)
    assert kept is not None and read_document(path) is kept
    assert kept["interactions"][0]["response"]["body"]["string"] == '{"id": "chatcmpl-1"}'  # not made bytes
    path.write_text(path.read_text().replace("chatcmpl-1", "chatcmpl-2"))
    os.utime(path, ns=(1, 1))  # a different modification time, as any rewrite has
    assert documents.kept(path) is None
    assert "chatcmpl-2" in read_document(path)["interactions"][0]["response"]["body"]["string"]
