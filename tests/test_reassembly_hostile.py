"""Reassembling a chat stream survives hostile fragments (generated here, labelled as mutants): an enormous tool-call
index costs nothing, an index of the wrong type is kept for the grammar checks to judge, never a crash."""
from __future__ import annotations

import json
import time

from conformance.checks import CheckContext, implicit_checks, run_check
from conformance.observations.reassembly import reassemble_chat
from conformance.transport.exchange import Exchange
from conformance.transport.sse import parse_sse


def chunk(delta: dict, index=0, finish=None) -> dict:
    return {"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": index, "delta": delta, "finish_reason": finish}]}


def stream(*chunks: dict) -> str:
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


def call(index, arguments="{}") -> dict:
    return {"tool_calls": [{"index": index, "id": "call_1", "type": "function",
                            "function": {"name": "f", "arguments": arguments}}]}


def test_a_huge_tool_call_index_is_one_call_not_a_padded_list():
    started = time.monotonic()
    body = reassemble_chat(parse_sse(stream(chunk(call(10**20)), chunk({}, finish="tool_calls"))))
    assert time.monotonic() - started < 1
    assert [c["function"]["name"] for c in body["choices"][0]["message"]["tool_calls"]] == ["f"]


def test_tool_calls_are_ordered_by_index_and_fragments_merge():
    body = reassemble_chat(parse_sse(stream(chunk(call(1, '{"b"')), chunk(call(0)),
                                            chunk({"tool_calls": [{"index": 1, "function": {"arguments": ": 1}"}}]}))))
    calls = body["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["arguments"] for c in calls] == ["{}", '{"b": 1}']


def test_a_choice_index_of_the_wrong_type_is_judged_not_a_crash():
    raw = stream(chunk({"role": "assistant", "content": "hi"}, index=[0]), chunk({}, index=[0], finish="stop"))
    body = reassemble_chat(parse_sse(raw))
    assert body["choices"][0]["index"] == [0]
    exchange = Exchange(method="POST", url="http://x/v1/chat/completions", request_body={"stream": True},
                        status=200, headers={"content-type": "text/event-stream"}, text=raw)
    ctx = CheckContext(api="chat", exchanges={"main": exchange}, profile="compat")
    findings = [f for name in implicit_checks() for f in run_check(name, ctx)]
    assert any("index" in f.message for f in findings)  # the mutant is caught by a check, not by a crash
