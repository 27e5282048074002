"""A recording stopped midway (SIGINT as Ctrl-C sends it, or SIGTERM) leaves no partial cassette and says it
was interrupted. The target is a scripted loopback server: the first case completes, the second case's
second step is held by the server until the run is stopped. Without the guard, vcrpy would save that case's
cassette with its first step only, and it would replay later as if it were the whole recording."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from support.replay import sigint_reaches_children
from support.server import answer, serve, silent
from support.suites import chat_case, suite

SUITE = suite(chat_case("hello"), """\
  - id: two-steps
    description: An answer, then the stored completion (the server holds it until the run is stopped).
    claim:
      chat: {status: supported, doc: "https://example.test/doc"}
    chat:
      steps:
        - name: create
          body: {model: "${model}", messages: [{role: user, content: hi}]}
        - name: fetch
          method: GET
          path: /chat/completions/${create.id}
""")
CHAT = {"id": "chatcmpl-held", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": "Hello."}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_recording_leaves_no_partial_cassette_and_marks_the_report(tmp_path: Path, stop) -> None:
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "demo.yaml").write_text(SUITE)
    routes = {("POST", "/chat/completions"): answer(200, CHAT), ("GET", "/chat/completions/chatcmpl-held"): silent(120)}
    demo = tmp_path / "cassettes" / "fake" / "demo"
    with serve(routes) as (base_url, seen):
        (tmp_path / "targets.yaml").write_text(f"targets:\n  fake:\n    base_url: {base_url}\n    profile: compat\n"
                                               f"    models: {{default: m}}\n")
        with sigint_reaches_children():
            run = subprocess.Popen([sys.executable, "-m", "conformance", "run", "--targets", "targets.yaml",
                                    "--suites", "suites", "--cassettes", "cassettes", "--reports", "reports",
                                    "--expectations", "expectations", "--target", "fake", "--record-mode", "rewrite",
                                    "--no-preflight", "-p", "no:randomly"],
                                   cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and run.poll() is None:
            if any(r["method"] == "GET" for r in seen):
                break  # the second case is waiting for its second answer
            time.sleep(0.05)
        assert run.poll() is None, f"the run ended before it could be stopped:\n{run.communicate()[0][-3000:]}"
        time.sleep(0.3)
        run.send_signal(stop)
        output = run.communicate(timeout=120)[0]
    assert run.returncode == 130, output[-3000:]  # interrupted
    assert (demo / "hello.chat.yaml").exists(), output[-3000:]  # the completed case was written...
    assert yaml.safe_load((demo / "hello.chat.yaml").read_text())["version"] == 1
    assert not (demo / "two-steps.chat.yaml").exists(), output[-3000:]  # ...the interrupted one not at all
    assert not list(demo.glob(".*.tmp"))
    assert "cassette not written (its case did not complete)" in output and "two-steps.chat.yaml" in output
    document = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert document["run"]["interrupted"] is True and document["run"]["progress"]["done"] == 1
    assert document["run"]["exit_status"] == 130
    assert [r["case"] for r in document["results"]] == ["hello"]
    events = [json.loads(line) for line in (tmp_path / "reports" / "results.jsonl").read_text().splitlines()]
    assert events[-1]["end"]["interrupted"] is True
