"""No hang: a live run against a server that streams forever, or trickles one byte every two seconds (so the
read timeout never fires), ends at the overall per-request deadline given by ``--timeout`` with a ``fail``
naming the figure; an answer over ``--max-body-mb`` is cut with a ``fail`` naming the size. The servers are
scripted on loopback (tests/support/server.py) and stream until the client hangs up: without the deadline
these runs would never end (the subprocess timeout would fail the test).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.server import serve, streaming

SUITE = """\
capability: demo
title: Demo
cases:
  - id: streamed
    description: A streamed greeting.
    stream: true
    claim:
      chat: {status: supported, doc: "https://example.test/doc"}
    expect: [text_nonempty]
    chat:
      request: {body: {model: "${model}", messages: [{role: user, content: Say hi.}]}}
"""


def live_run(tmp_path: Path, base_url: str, *options: str) -> tuple[float, dict, str]:
    """``conformance run --live`` of the one streamed case: (seconds taken, its result, the output)."""
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "demo.yaml").write_text(SUITE)
    (tmp_path / "targets.yaml").write_text(f"targets:\n  fake:\n    base_url: {base_url}\n    profile: compat\n"
                                           f"    models: {{default: m}}\n")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "conformance", "run", "--targets", "targets.yaml", "--suites",
                           "suites", "--reports", "reports", "--expectations", "expectations", "--target", "fake",
                           "--live", "--no-preflight", "--strict", *options],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]  # a fail verdict under --strict: the run fails, it does not hang
    results = json.loads((tmp_path / "reports" / "results.json").read_text())["results"]
    assert len(results) == 1, output[-3000:]
    return elapsed, results[0], output


@pytest.mark.parametrize("chunk, every", [(b'data: {"x": 1}\n\n', 0.01), (b":", 2.0)],
                         ids=["endless", "trickling one byte every 2 s"])
def test_an_endless_or_trickling_stream_ends_at_the_deadline_with_a_fail(tmp_path: Path, chunk: bytes,
                                                                          every: float) -> None:
    with serve({("POST", "/chat/completions"): streaming(chunk, every)}) as (base_url, seen):
        elapsed, result, output = live_run(tmp_path, base_url, "--timeout", "4", "--read-timeout", "10")
    assert len(seen) == 1  # one request, ended by the deadline (no retry)
    assert elapsed < 4 + 25, elapsed  # the deadline plus the start-up of a pytest process on a busy machine
    assert result["verdict"] == "fail", result
    root = result["failures"][0]
    assert root["check"] == "status" and "no complete answer within 4 s" in root["message"], root
    assert "bytes received" in root["message"]


def test_a_stream_over_the_size_limit_is_cut_with_a_fail(tmp_path: Path) -> None:
    with serve({("POST", "/chat/completions"): streaming(b'data: {"x": 1}\n\n' * 64, 0.0)}) as (base_url, _):
        _elapsed, result, _output = live_run(tmp_path, base_url, "--max-body-mb", "0.01", "--timeout", "60")
    assert result["verdict"] == "fail", result
    assert "exceeded 10,485 bytes" in result["failures"][0]["message"], result["failures"]
