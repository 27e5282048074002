"""A first live run, as a new user makes it: ``conformance run --base-url URL --model M`` against a server.

The server is scripted in code (tests/support/server.py) with its routes under ``/v1``, as most
OpenAI-compatible servers have them; it answers every create with a fixed, well-formed object.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support.server import answer, serve

CHAT = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi.", "refusal": None},
                     "finish_reason": "stop", "logprobs": None}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}
RESPONSE = {"id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "model": "m",
            "output": [{"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": "Hi.", "annotations": []}]}],
            "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}}
ROUTES = {("GET", "/v1/models"): answer(200, {"object": "list", "data": [{"id": "m", "object": "model"}]}),
          ("POST", "/v1/chat/completions"): answer(200, CHAT),
          ("POST", "/v1/responses"): answer(200, RESPONSE)}


def conformance(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "conformance", "run", "--reports", str(tmp_path / "reports"),
                           "--expectations", str(tmp_path / "expectations"), "--cassettes",
                           str(tmp_path / "cassettes"), *args], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)


def test_a_base_url_without_v1_gets_the_hint_and_stops_after_the_preflight(tmp_path: Path):
    with serve(ROUTES) as (base_url, seen):
        run = conformance(tmp_path, "--base-url", base_url.removesuffix("/v1"), "--model", "m")
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr[-2000:]  # a usage error
    assert f"use --base-url {base_url}" in run.stdout + run.stderr
    assert not (tmp_path / "reports" / "results.json").exists()
    assert len(seen) <= 5  # three probes, and the same again under the suggested URL (at most two)


def test_a_correct_base_url_prints_the_matrix_and_exits_0(tmp_path: Path):
    with serve(ROUTES) as (base_url, _):
        run = conformance(tmp_path, "--base-url", base_url, "--model", "m", "--capability", "text",
                          "--capability", "errors", "--timeout", "10")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "preflight custom: ok" in run.stdout and "conformance matrix" in run.stdout
    assert "no expectations for custom" in run.stdout
    results = json.loads((tmp_path / "reports" / "results.json").read_text())["results"]
    assert results and any(r["verdict"] != "pass" for r in results)  # a canned server is not a model


def test_strict_keeps_failing_on_non_pass_verdicts(tmp_path: Path):
    with serve(ROUTES) as (base_url, _):
        run = conformance(tmp_path, "--base-url", base_url, "--model", "m", "--capability", "errors", "--strict")
    assert run.returncode == 1


def test_a_refused_key_stops_the_run_naming_the_variable(tmp_path: Path):
    refused = {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error", "param": None,
                         "code": "invalid_api_key"}}
    routes = {("GET", "/v1/models"): answer(401, refused), ("POST", "/v1/chat/completions"): answer(401, refused),
              ("POST", "/v1/responses"): answer(401, refused)}
    with serve(routes) as (base_url, _):
        run = conformance(tmp_path, "--base-url", base_url, "--model", "m", "--api-key-env", "NO_SUCH_KEY_VAR")
    assert run.returncode == 2  # a usage error
    assert "NO_SUCH_KEY_VAR" in run.stdout + run.stderr and "not set" in run.stdout + run.stderr


def test_a_base_url_that_answers_a_web_page_stops_at_the_preflight(tmp_path: Path):
    page = answer(200, "<!doctype html><title>My web UI</title>", content_type="text/html")
    routes = {("GET", "/v1/models"): page, ("POST", "/v1/chat/completions"): page, ("POST", "/v1/responses"): page}
    with serve(routes) as (base_url, _):
        run = conformance(tmp_path, "--base-url", base_url, "--model", "m", "--capability", "text")
    assert run.returncode == 2, run.stdout[-2000:]  # the user's setup, not ten server failures
    assert "does not answer like an API" in run.stdout + run.stderr
    assert not (tmp_path / "reports" / "results.json").exists()
