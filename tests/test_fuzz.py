"""``conformance fuzz``: generated requests found, shrunk, reproduced by curl, recorded and replayed the same way.

The live tests run against ``tests/support/fault_server.py``, a tiny server whose faults are injected by code.
The replay tests read the committed recordings of aimock and llama-server (network blocked) and check that
they report those servers' real deviations, each with a small reproducer.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from conformance.cases.targets import adhoc_target, load_targets
from conformance.checks.findings import Verdict
from conformance.fuzz import determinism, recording
from conformance.fuzz.engine import _simpler, allocate
from conformance.fuzz.judging import category_of
from conformance.fuzz.main import fuzz_api, main, new_settings
from conformance.fuzz.sending import Request
from support.fault_server import FaultServer

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"max_requests": 30, "max_shrink_requests": 40, "shrink_per_finding": 40}


def fuzz(server: FaultServer, api: str, **overrides):
    target = adhoc_target(server.base_url, "gpt-4o-mini")
    outcome, _ = fuzz_api(target, api, new_settings(target, **{**SMALL, **overrides}))
    return outcome


def findings_of(outcome, check: str):
    return [f for f in outcome.findings if f.problem.check == check]


# -- a fault injected by code is found and shrunk ------------------------------------------------------------------

def test_an_injected_server_error_is_found_shrunk_and_reproduced_by_its_curl():
    with FaultServer("stop-list") as server:
        outcome = fuzz(server, "chat", max_requests=40, max_shrink_requests=60, shrink_per_finding=60,
                       operations=["POST /chat/completions"])
        (finding,) = findings_of(outcome, "not_a_server_error")
        first, request = finding.first.request, finding.minimal.request
        body = json.loads(request.content)
        # only valid requests reach the fault: what is left is what the fault and validity need
        assert set(body) == {"model", "messages", "stop"} and len(body["stop"]) == 2
        assert body["messages"] == [{"role": body["messages"][0]["role"], "content": ""}]
        assert len(request.content) < len(first.content)
        assert finding.shrunk == "yes" and finding.minimal.exchange.status == 500
        assert finding.problem.category == "server_errors" and finding.problem.verdict is Verdict.FAIL
        curl = request.curl(server.base_url)
        assert "schemathesis" not in curl.lower() and "[Filtered]" not in curl
        if shutil.which("curl"):
            shown = subprocess.run(["sh", "-c", curl + " -o /dev/null -w '%{http_code}'"], capture_output=True,
                                   text=True, timeout=30, env={**os.environ, "BASE_URL": server.base_url})
            assert shown.stdout == "500", shown.stderr
        # the 500's envelope is fine: no other finding is a server error or an envelope violation
        assert [f.problem.category for f in outcome.findings].count("server_errors") == 1


def test_the_same_server_without_the_fault_has_no_server_error():
    with FaultServer() as server:
        outcome = fuzz(server, "chat", max_shrink_requests=10)
    assert not [f for f in outcome.findings if f.problem.category in ("server_errors", "envelope", "schema")]
    assert len(outcome.sent) <= SMALL["max_requests"] + 10


def test_an_integer_error_code_is_an_envelope_violation_of_both_checkers():
    with FaultServer("llama-envelope") as server:
        outcome = fuzz(server, "responses", max_shrink_requests=10)
    checks = {f.problem.check for f in outcome.findings if f.problem.category == "envelope"}
    assert {"error_envelope", "response_schema_conformance"} <= checks
    envelope = findings_of(outcome, "error_envelope")[0]
    assert "error.code is integer" in envelope.problem.message or "code" in envelope.problem.message


# -- determinism ------------------------------------------------------------------------------------------------

def test_the_same_seed_sends_the_same_requests_and_another_seed_does_not():
    small = {"max_requests": 16, "max_shrink_requests": 0, "operations": ["POST /responses", "GET /responses/{id}"]}
    with FaultServer() as server:
        first = fuzz(server, "responses", **small).sent
        again = fuzz(server, "responses", **small).sent
        other = fuzz(server, "responses", **small, seed=2).sent
    keys = [[s.request.key for s in run] for run in (first, again, other)]
    coverage = sum(1 for s in first if s.phase == "coverage")
    assert len(keys[0]) >= 12 and keys[0] == keys[1]
    assert keys[0][:coverage] == keys[2][:coverage]  # coverage cases do not depend on the seed ...
    assert keys[0][coverage:] != keys[2][coverage:]  # ... generated ones do


def test_hypothesis_local_constants_hook_is_still_there():
    """The determinism fix replaces an internal Hypothesis hook; an upgrade that moves it must fail here."""
    import hypothesis.internal.conjecture.providers as providers

    assert callable(getattr(providers, "_get_local_constants", None))
    determinism.freeze_hypothesis()
    assert len(providers._get_local_constants()) == 0


def test_record_then_replay_gives_the_same_exchanges_and_findings(tmp_path, monkeypatch):
    with FaultServer("stop-list") as server:
        target = adhoc_target(server.base_url, "gpt-4o-mini")
        settings = new_settings(target, **SMALL)
        cassette = tmp_path / "fault.yaml"
        with recording.use_cassette(cassette, "all"):
            recorded, _ = fuzz_api(target, "chat", settings)
    with recording.use_cassette(cassette, "none"), recording.network_blocked():
        replayed, _ = fuzz_api(target, "chat", settings)  # the server is gone: every answer is the cassette's
    assert [(s.phase, s.request.key, s.exchange.status) for s in replayed.sent] == \
           [(s.phase, s.request.key, s.exchange.status) for s in recorded.sent]
    assert [(f.problem.signature, f.minimal.request.key, f.shrunk) for f in replayed.findings] == \
           [(f.problem.signature, f.minimal.request.key, f.shrunk) for f in recorded.findings]
    assert "500" in cassette.read_text()  # fuzz recordings keep server errors: they are the findings


# -- the committed recordings -----------------------------------------------------------------------------------

def replay(tmp_path: Path, target: str) -> dict:
    """Replay one target's committed fuzz recordings (sockets refused), return reports/fuzz.json's runs."""
    for api in ("chat", "responses"):
        assert recording.cassette_for(ROOT / "cassettes", target, api).is_file()
    original = socket.socket.connect

    def refuse(self, address):
        raise AssertionError(f"a replay opened a connection to {address}")

    socket.socket.connect = refuse
    try:
        status = main(["--target", target, "--cassettes", str(ROOT / "cassettes"), "--reports", str(tmp_path),
                       "--expectations", str(ROOT / "expectations")])
    finally:
        socket.socket.connect = original
    assert status == 0  # every robustness verdict is the known one (expectations/robustness/<target>.yaml)
    runs = json.loads((tmp_path / "fuzz.json").read_text())["runs"]
    return {run["api"]: run for run in runs}


@pytest.mark.skipif(not recording.cassette_for(ROOT / "cassettes", "aimock", "responses").is_file(),
                    reason="no committed aimock fuzz recording")
def test_aimock_recording_replays_its_500_on_a_bad_responses_input(tmp_path):
    runs = replay(tmp_path, "aimock")
    errors = [f for f in runs["responses"]["findings"] if f["check"] == "not_a_server_error"]
    assert errors and errors[0]["status"] == 500 and errors[0]["operation"] == "POST /responses"
    minimal = errors[0]["request"]
    assert "input" not in minimal.get("body", {})  # the missing input is what breaks it
    assert len(json.dumps(minimal["body"])) < 60 and errors[0]["curl"].startswith("curl")
    envelope = [f for f in runs["responses"]["findings"] if f["check"] == "error_envelope"]
    assert any("error.param is missing" in f["message"] for f in envelope)
    assert runs["responses"]["requests"]["total"] == json.loads(
        recording.settings_file(recording.cassette_for(ROOT / "cassettes", "aimock", "responses")).read_text())["requests"]


@pytest.mark.skipif(not recording.cassette_for(ROOT / "cassettes", "llama-server", "chat").is_file(),
                    reason="no committed llama-server fuzz recording")
def test_llama_server_recording_replays_its_integer_error_code_and_missing_param(tmp_path):
    runs = replay(tmp_path, "llama-server")
    for api in ("chat", "responses"):
        envelope = [f for f in runs[api]["findings"] if f["check"] == "error_envelope"]
        assert any("error.param is missing" in f["message"] and "code" in f["message"] for f in envelope), api
        assert all(f["curl"].startswith(("curl", "printf")) for f in envelope)


def test_every_committed_fuzz_recording_has_its_settings_and_a_known_verdict():
    targets = load_targets()
    for cassette in sorted((ROOT / "cassettes").glob(f"*/{recording.CAPABILITY}/*.yaml")):
        settings = recording.read_settings(cassette)
        assert settings["libraries"] == determinism.library_versions(), f"{cassette}: re-record after an upgrade"
        target = cassette.parts[-3]
        assert target in targets
        assert (ROOT / "expectations" / recording.CAPABILITY / f"{target}.yaml").is_file()


# -- pieces -----------------------------------------------------------------------------------------------------

def test_curl_of_a_binary_body_pipes_its_exact_bytes():
    request = Request("POST", "http://127.0.0.1:1/v1/responses", {"content-type": "application/json",
                                                                  "user-agent": "x"}, b"\x85\xe5\x00")
    curl = request.curl("http://127.0.0.1:1/v1", "OPENAI_API_KEY")
    assert curl.startswith("printf '\\205\\345\\000' | curl") and "--data-binary @-" in curl
    assert '"$BASE_URL"/responses' in curl and "Bearer $OPENAI_API_KEY" in curl and "user-agent" not in curl
    text = Request("POST", "http://h/v1/chat/completions?x=1", {}, b'{"max_completion_tokens": 5}')
    assert text.curl("http://h/v1").endswith("--data-raw '{\"max_completion_tokens\": 5}'")
    assert "?x=1" in text.curl("http://h/v1")


def test_categories_follow_the_check_the_status_and_the_mode():
    assert category_of("not_a_server_error", 500, "negative") == "server_errors"
    assert category_of("response_schema_conformance", 404, "positive") == "envelope"
    assert category_of("response_schema_conformance", 200, "positive") == "schema"
    assert category_of("response_schema_conformance", 200, "negative") == "other"
    assert category_of("negative_data_rejection", 200, "negative") == "accepted_invalid"


def test_budget_split_gives_every_key_a_share_and_respects_weights():
    shares = allocate(10, [("a",), ("b",), ("c",)], lambda key: 4 if key == ("a",) else 1)
    assert shares == {("a",): 7, ("b",): 2, ("c",): 1} or sum(shares.values()) == 10
    assert min(allocate(1, [("a",), ("b",)], lambda key: 1).values()) == 1


def test_reduction_steps_leave_out_one_part_at_a_time_outermost_first():
    steps = list(_simpler({"a": "x", "b": [1, {"c": "y"}]}, {"limit": 3}))
    assert steps[0] == ({"a": "x", "b": [1, {"c": "y"}]}, {})  # a query parameter first
    bodies = [body for body, _ in steps[1:]]
    assert bodies[:2] == [{"b": [1, {"c": "y"}]}, {"a": "x"}]  # then top-level properties
    assert {"a": "x", "b": [{"c": "y"}]} in bodies and {"a": "x", "b": [1, {}]} in bodies
    assert bodies[-2:] == [{"a": "", "b": [1, {"c": "y"}]}, {"a": "x", "b": [1, {"c": ""}]}]  # strings emptied last
