"""A live run stopped midway (SIGINT, as Ctrl-C sends) leaves a readable results file with what it measured,
marked interrupted with how far it got. The target is a scripted loopback server that answers slowly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from conformance.verdicts.results import result_from_dict
from support.replay import ROOT, conformance, sigint_reaches_children
from support.server import answer, serve

CHAT = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}
RESPONSE = {"id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "model": "gpt-4o-mini",
            "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": "Hi.", "annotations": []}]}],
            "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}}


def slowly(body: dict, seconds: float = 0.3):
    handler = answer(200, body)

    def handle(request) -> None:
        time.sleep(seconds)
        handler(request)
    return handle


def test_sigint_midway_leaves_what_was_measured(tmp_path: Path) -> None:
    routes = {("GET", "/models"): answer(200, {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]}),
              ("POST", "/chat/completions"): slowly(CHAT), ("POST", "/responses"): slowly(RESPONSE)}
    reports = tmp_path / "reports"
    with serve(routes) as (base_url, _seen):
        with sigint_reaches_children():
            run = subprocess.Popen([sys.executable, "-m", "conformance", "run", "--base-url", base_url,
                                    "--model", "gpt-4o-mini", "--reports", str(reports)],
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = reports / "results.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and run.poll() is None:
            if lines.exists() and lines.read_text().count('{"result"') >= 4:
                break
            time.sleep(0.1)
        assert run.poll() is None, f"the run ended before it could be interrupted:\n{run.communicate()[0][-3000:]}"
        run.send_signal(signal.SIGINT)
        output = run.communicate(timeout=120)[0]
    assert run.returncode == 130, output[-3000:]  # interrupted
    document = json.loads((reports / "results.json").read_text())
    meta, records = document["run"], document["results"]
    assert meta["interrupted"] is True and meta["mode"] == "live" and meta["finished"]
    assert meta["progress"]["done"] == len(records) >= 4
    assert meta["progress"]["planned"] > len(records)
    assert meta["targets"][0]["host"] == base_url.split("/")[2]
    for record in records:
        assert result_from_dict(record).target == "custom"
        assert all(step.get("excerpt") for step in record["steps"])  # live: no cassette, excerpts kept
    assert any(record["tokens"] for record in records)
    events = [json.loads(line) for line in (reports / "results.jsonl").read_text().splitlines()]
    assert events[-1]["end"]["interrupted"] is True and sum("result" in e for e in events) == len(records)
    assert (reports / "matrix.html").exists() and (reports / "matrix.md").exists()
    shown = conformance("report", str(reports / "results.json"), "--html", str(tmp_path / "r.html"),
                        "--no-step-summary")
    assert shown.returncode == 0 and "interrupted" in shown.stderr
    assert f"interrupted after {len(records)} of {meta['progress']['planned']} cells" in (tmp_path / "r.html").read_text()
