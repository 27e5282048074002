"""stream_parity: a streamed answer must reassemble to the non-stream one.

The streams here are built by code (chunk objects serialised as SSE), in the shape the corpus shows.
"""

from __future__ import annotations

import json

from conformance.checks import CheckContext, run_check
from conformance.transport.exchange import Exchange


def chat_stream(text_parts: list[str], finish: str = "stop") -> str:
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
    chunks += [{**base, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]} for p in text_parts]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


def plain(text: str, finish: str = "stop") -> Exchange:
    body = {"id": "chatcmpl-2", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}]}
    return Exchange("POST", "http://h/v1/chat/completions", {"stream": False}, 200,
                    {"content-type": "application/json"}, json.dumps(body), step="plain.main")


def streamed(parts: list[str], finish: str = "stop") -> Exchange:
    return Exchange("POST", "http://h/v1/chat/completions", {"stream": True}, 200,
                    {"content-type": "text/event-stream"}, chat_stream(parts, finish))


def judge(stream_ex: Exchange, plain_ex: Exchange, aspects: list[str]) -> list:
    ctx = CheckContext(api="chat", exchanges={"plain.main": plain_ex, "main": stream_ex},
                       deterministic=True)
    return run_check("stream_parity", ctx, {"aspects": aspects, "step": "main"})


def test_equal_text_and_finish_pass() -> None:
    assert judge(streamed(["one, ", "two"]), plain("one, two"), ["finish", "text"]) == []


def test_different_text_fails() -> None:
    (failure,) = judge(streamed(["one, ", "three"]), plain("one, two"), ["text"])
    assert failure.check == "stream_parity" and "text" in failure.message


def test_different_finish_fails() -> None:
    (failure,) = judge(streamed(["x"], "length"), plain("x"), ["finish"])
    assert "finish" in failure.message


def test_json_keys() -> None:
    assert judge(streamed(['{"a": 1,', ' "b": 2}']), plain('{"b": 3, "a": 0}'), ["json_keys"]) == []
    assert judge(streamed(['{"a": 1}']), plain('{"b": 3}'), ["json_keys"])


def test_unknown_aspect_is_a_suite_error() -> None:
    (failure,) = judge(streamed(["x"]), plain("x"), ["colour"])
    assert failure.verdict.value == "error"
