"""The runner's verdict logic, driven by an in-process transport (no server, no cassette)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2

from conformance.cases.loading import load_file
from conformance.checks import CHECKS
from conformance.reports.matrix import markdown_matrix, terminal_matrix
from conformance.run.runner import run_case
from conformance.transport.http import sender
from conformance.verdicts.results import result_from_dict
from conformance.cases.targets import adhoc_target
from conformance.checks.findings import Verdict

TARGET = adhoc_target("http://127.0.0.1:9/v1", model="m")
CASES = """\
capability: demo
title: Demo
cases:
  - id: hello
    description: A prompt gets an answer.
    claim: {chat: {status: supported, doc: "https://example.test/d"}}
    expect: [text_nonempty]
    chat: {request: {body: {model: "${model}", messages: [{role: user, content: hi}]}}}
  - id: other-api-param
    description: A parameter of the other API is rejected.
    claim: {chat: {status: unsupported, doc: "https://example.test/d"}}
    expect: [{check: status, code: 4xx}]
    chat: {request: {body: {model: "${model}", messages: [], text: {}}}}
  - id: two-steps
    description: A tool call then its result.
    claim: {chat: {status: supported, doc: "https://example.test/d"}}
    expect: [{check: tool_called, step: call, name: f, min_calls: 1}, text_nonempty]
    chat:
      steps:
        - {name: call, body: {model: "${model}", messages: [{role: user, content: hi}]}}
        - {name: answer, body: {model: "${model}", messages: ["${call.choices.0.message}", {role: tool, tool_call_id: "${call.choices.0.message.tool_calls.0.id}", content: "1"}]}}
"""


def completion(content=None, tool_calls=None, finish="stop", usage=(3, 2)) -> dict:
    message = {"role": "assistant", "content": content, "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}}


def client(*answers: tuple[int, dict]) -> tuple[httpx2.Client, list[dict]]:
    sent: list[dict] = []
    queue = list(answers)

    def handle(request: httpx2.Request) -> httpx2.Response:
        sent.append(json.loads(request.content))
        status, body = queue.pop(0)
        return httpx2.Response(status, json=body)

    return httpx2.Client(transport=httpx2.MockTransport(handle)), sent


def cases(tmp_path: Path) -> dict:
    path = tmp_path / "demo.yaml"
    path.write_text(CASES)
    found, errors = load_file(path, CHECKS)
    assert not errors
    return {c.id: c for c in found}


def test_pass_and_explicit_rejection(tmp_path: Path) -> None:
    c = cases(tmp_path)
    http, _ = client((200, completion("hi there")))
    assert run_case(c["hello"], "chat", TARGET, sender(http)).verdict is Verdict.PASS
    http, _ = client((400, {"error": {"message": "no", "type": "invalid_request_error", "param": None, "code": None}}))
    result = run_case(c["hello"], "chat", TARGET, sender(http))
    assert result.verdict is Verdict.UNSUPPORTED and result.failures[0].check == "status"


def test_server_error_fails_and_accepted_foreign_parameter_is_ignored(tmp_path: Path) -> None:
    c = cases(tmp_path)
    http, _ = client((500, {"error": "boom"}))
    assert run_case(c["hello"], "chat", TARGET, sender(http)).verdict is Verdict.FAIL
    http, _ = client((200, completion("ok")))
    result = run_case(c["other-api-param"], "chat", TARGET, sender(http))
    assert result.verdict is Verdict.IGNORED and "accepted" in result.failures[0].message


def test_steps_chain_answers_and_stop_when_the_first_lacks_a_call(tmp_path: Path) -> None:
    c = cases(tmp_path)
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    http, sent = client((200, completion(None, [call], "tool_calls")), (200, completion("done")))
    result = run_case(c["two-steps"], "chat", TARGET, sender(http))
    assert result.verdict is Verdict.PASS, result.failures
    assert sent[1]["messages"][1]["tool_call_id"] == "call_1"
    assert sent[1]["messages"][0]["tool_calls"] == [call]
    # no call in the first answer: the second step is not sent, and the findings say why
    http, sent = client((200, completion("I would call f")))
    result = run_case(c["two-steps"], "chat", TARGET, sender(http))
    assert len(sent) == 1 and result.verdict is Verdict.IGNORED  # tools accepted, no call: the rest is absent
    assert {(f.check, f.verdict) for f in result.failures} >= {("request", Verdict.IGNORED),
                                                              ("tool_called", Verdict.IGNORED)}


def test_min_calls(tmp_path: Path) -> None:
    c = cases(tmp_path)
    c["two-steps"].expect["chat"][0].params["min_calls"] = 2
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    http, _ = client((200, completion(None, [call], "tool_calls")), (200, completion("done")))
    failures = run_case(c["two-steps"], "chat", TARGET, sender(http)).failures
    assert any(f.check == "tool_called" and "at least 2" in f.message for f in failures)


def test_results_round_trip_and_reports(tmp_path: Path) -> None:
    c = cases(tmp_path)
    http, _ = client((200, completion("hi")), (400, {"error": {"message": "x", "type": "t", "param": None, "code": None}}))
    results = [run_case(c["hello"], "chat", TARGET, sender(http)).as_dict(), run_case(c["hello"], "chat", TARGET, sender(http)).as_dict()]
    results[1]["target"] = "other"
    assert result_from_dict(results[1]).as_dict() == results[1]
    text = terminal_matrix(results)
    assert "custom chat" in text and "other chat" in text and "unsupported" in text
    markdown = markdown_matrix(results)
    assert "| demo | hello | yes | - | pass | unsupported |" in markdown
    assert "`status` (unsupported, root cause)" in markdown


def failing_client(exc: Exception) -> httpx2.Client:
    def handle(request: httpx2.Request) -> httpx2.Response:
        raise exc

    return httpx2.Client(transport=httpx2.MockTransport(handle))


def test_a_dropped_connection_is_the_targets_fault_but_no_server_is_a_suite_error(tmp_path: Path) -> None:
    c = cases(tmp_path)
    dropped = run_case(c["hello"], "chat", TARGET, sender(failing_client(httpx2.RemoteProtocolError("Server disconnected"))))
    assert dropped.verdict is Verdict.FAIL and "closed the connection" in dropped.failures[0].message
    refused = run_case(c["hello"], "chat", TARGET, sender(failing_client(httpx2.ConnectError("refused"))))
    assert refused.verdict is Verdict.ERROR and refused.failures[0].check == "status"
