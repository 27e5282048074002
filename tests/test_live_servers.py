"""Live runs against the real local servers the suite starts and stops itself.

Skipped when a server is not installed under .servers/ (scripts/install-servers.sh); CI installs both.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.transport.servers import SPECS, ServerError, is_ready
from conformance.checks.findings import Failure, Verdict
from conformance.verdicts.policy import combine

ROOT = Path(__file__).resolve().parents[1]


def installed(name: str) -> bool:
    try:
        SPECS[name].command()
    except ServerError:
        return False
    return True


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def run(tmp_path: Path, *args: str) -> tuple[int, list[dict]]:
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--reports", str(tmp_path), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
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


@pytest.mark.servers
@pytest.mark.skipif(not installed("aimock"), reason="aimock not installed (scripts/install-servers.sh aimock)")
def test_live_aimock_is_started_judged_and_stopped(tmp_path: Path) -> None:
    if is_ready(SPECS["aimock"]):
        pytest.skip("an aimock is already running on its port; this test checks start and stop")
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
    assert port_free(SPECS["aimock"].port), "the suite left aimock running"


@pytest.mark.servers
@pytest.mark.skipif(not installed("llama-server"), reason="llama-server not installed (scripts/install-servers.sh llama)")
def test_live_llama_server_reproduces_the_recordings(tmp_path: Path) -> None:
    if is_ready(SPECS["llama-server"]):
        pytest.skip("a llama-server is already running on its port")
    filters = ("--capability", "text", "--capability", "streaming", "--capability", "function-calling")
    _, results = run(tmp_path, "--target", "llama-server", "--live", *filters)
    live = comparable(results)
    # SmolLM2 at temperature 0 is deterministic: live verdicts equal the replayed ones, streams included
    # (apart from the findings of checks declared intermittent for this target).
    assert live and live == replayed_verdicts(tmp_path, "llama-server", *filters)
    assert port_free(SPECS["llama-server"].port)
