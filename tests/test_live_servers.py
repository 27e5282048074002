"""Live runs against the real local servers the suite starts and stops itself.

Skipped when a server is not installed under .servers/ (scripts/install-servers.sh); CI installs them. Each
server gets a free port the suite picks, so these runs cannot collide with other processes (or each other);
each run keeps its pid files in its own folder, which must be empty when the run ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.transport.servers import installed
from conformance.checks.findings import Failure, Verdict
from conformance.verdicts.policy import combine

ROOT = Path(__file__).resolve().parents[1]


def run(tmp_path: Path, *args: str, timeout: float = 600) -> tuple[int, list[dict]]:
    """``conformance run`` in a subprocess; its servers' pid files go to tmp_path/run (empty at the end)."""
    env = dict(os.environ, CONFORMANCE_SERVERS_RUN=str(tmp_path / "run"))
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--reports", str(tmp_path), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)
    results = json.loads((tmp_path / "results.json").read_text())["results"] if (tmp_path / "results.json").exists() else []
    return proc.returncode, results


def comparable(results: list[dict]) -> dict[tuple, str]:
    """Verdicts without the findings of checks the target declares intermittent (expectations/<target>.yaml)."""
    out = {}
    for r in results:
        failures = [Failure(f["check"], f["message"], Verdict(f["verdict"])) for f in r["failures"]
                    if not f.get("intermittent")]
        out[(r["case"], r["api"], r["stream"])] = combine(failures).value
    return out


def replayed_verdicts(tmp_path: Path, target: str, *filters: str) -> dict[tuple, str]:
    _, results = run(tmp_path / "replay", "--target", target, *filters)
    return comparable(results)


def nothing_left(tmp_path: Path) -> bool:
    """The run stopped what it started: no pid file and no state directory remains."""
    folder = tmp_path / "run"
    return not folder.exists() or not any(folder.iterdir())


@pytest.mark.servers
@pytest.mark.skipif(not installed("aimock"), reason="aimock not installed (scripts/install-servers.sh aimock)")
def test_live_aimock_is_started_judged_and_stopped(tmp_path: Path) -> None:
    _, results = run(tmp_path, "--target", "aimock", "--live", "--capability", "text", "--capability", "errors")
    assert results, "no results written"
    verdicts = comparable(results)
    # aimock scripts a greeting: chat is right, but its Responses usage is all zeros (a real deviation)
    assert verdicts[("plain-prompt", "chat", False)] == "pass"
    assert verdicts[("plain-prompt", "responses", False)] == "fail"
    assert any(f["check"] == "usage_plausible" for r in results
               if (r["case"], r["api"]) == ("plain-prompt", "responses") for f in r["failures"])
    # the live run judges what the committed recordings judge
    assert verdicts == replayed_verdicts(tmp_path, "aimock", "--capability", "text", "--capability", "errors")
    assert nothing_left(tmp_path), "the suite left aimock running"


@pytest.mark.servers
@pytest.mark.skipif(not installed("llama-server"), reason="llama-server not installed (scripts/install-servers.sh llama)")
def test_live_llama_server_reproduces_the_recordings(tmp_path: Path) -> None:
    filters = ("--capability", "text", "--capability", "streaming", "--capability", "function-calling")
    _, results = run(tmp_path, "--target", "llama-server", "--live", *filters)
    live = comparable(results)
    # SmolLM2 at temperature 0 is deterministic: live verdicts equal the replayed ones, streams included
    # (apart from the findings of checks declared intermittent for this target).
    replayed = replayed_verdicts(tmp_path, "llama-server", *filters)
    differing = {cell: (live.get(cell), replayed.get(cell)) for cell in {*live, *replayed}
                 if live.get(cell) != replayed.get(cell)}
    findings = [(r["case"], r["api"], r["stream"], f["check"], f["message"][:200]) for r in results
                if (r["case"], r["api"], r["stream"]) in differing for f in r["failures"]]
    assert live and not differing, f"live vs replayed: {differing}; live findings: {findings}"
    assert nothing_left(tmp_path)


@pytest.mark.servers
@pytest.mark.skipif(not installed("llama-stack-aimock"),
                    reason="Llama Stack not installed (scripts/install-servers.sh llama-stack)")
def test_live_llama_stack_stores_and_reproduces_the_recordings(tmp_path: Path) -> None:
    """Llama Stack with its two aimock backends, each on a port the suite picked and a fresh state directory:
    stored objects are retrievable, file search answers from the uploaded file, and every verdict equals the
    recorded one."""
    filters = ("--capability", "storage", "--capability", "conversation-state", "--capability", "file-search")
    _, results = run(tmp_path, "--target", "llama-stack-aimock", "--live", *filters)
    live = comparable(results)
    assert live[("default-store-retrievable", "responses", False)] == "pass"
    assert live[("stored-chat-retrievable", "chat", False)] == "pass"
    assert live[("search-uploaded-file", "responses", False)] == "pass"
    assert live == replayed_verdicts(tmp_path, "llama-stack-aimock", *filters)
    assert nothing_left(tmp_path)


@pytest.mark.servers
@pytest.mark.skipif(not installed("llama-stack"),
                    reason="Llama Stack or llama-server not installed (scripts/install-servers.sh llama llama-stack)")
def test_live_llama_stack_with_a_real_model_chains_and_reproduces_the_recordings(tmp_path: Path) -> None:
    """Llama Stack in front of llama-server (SmolLM2 at temperature 0, so deterministic): the storage and
    conversation-state cases, live, give the recorded verdicts; the chained turn recalls what only the first
    turn said, and the cells that state a real gap read as recorded (DELETE 405 unsupported, 400 instead of 404
    a fail of the status check)."""
    filters = ("--capability", "storage", "--capability", "conversation-state")
    _, results = run(tmp_path, "--target", "llama-stack", "--live", *filters)
    live = comparable(results)
    case_verdicts = {(r["case"], r["api"], r["stream"]): r for r in results}  # the case's own, shape aside
    for passing in [("default-store-retrievable", "responses", False), ("chat-store-default", "chat", False),
                    ("stored-chat-retrievable", "chat", False), ("input-items-of-stored", "responses", False),
                    ("previous-response-recall", "responses", False), ("previous-response-recall", "responses", True)]:
        assert case_verdicts[passing]["verdict"] == "pass", (passing, case_verdicts[passing]["failures"])
    assert case_verdicts[("delete-stored", "responses", False)]["verdict"] == "unsupported"
    store_false = case_verdicts[("store-false-not-retrievable", "responses", False)]
    assert store_false["verdict"] == "fail" and store_false["root_cause"]["check"] == "status"
    assert live == replayed_verdicts(tmp_path, "llama-stack", *filters)
    assert nothing_left(tmp_path)
