"""Turn a stream back into the object a non-stream request would have returned.

Chat: chunks are merged by choice index; ``tool_calls`` fragments by their ``index``.
Responses: the terminal event carries the whole response; if it is missing, the
items are rebuilt from ``output_item.done`` events so the checks still see what came.
"""

from __future__ import annotations

from typing import Any

from conformance.sse import SseEvent

TERMINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")


def reassemble_chat(events: list[SseEvent]) -> dict[str, Any] | None:
    """Merge ``chat.completion.chunk`` events into one ``chat.completion``-shaped dict."""
    chunks = [e.json for e in events if isinstance(e.json, dict)]
    if not chunks:
        return None
    first = chunks[0]
    out: dict[str, Any] = {
        "id": first.get("id"),
        "object": "chat.completion",
        "created": first.get("created"),
        "model": first.get("model"),
        "choices": [],
        "usage": None,
    }
    choices: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        if chunk.get("usage"):
            out["usage"] = chunk["usage"]
        for choice in chunk.get("choices") or []:
            index = choice.get("index", 0)
            slot = choices.setdefault(
                index,
                {"index": index, "message": {"role": None, "content": None, "refusal": None}, "finish_reason": None},
            )
            delta = choice.get("delta") or {}
            message = slot["message"]
            if delta.get("role"):
                message["role"] = delta["role"]
            for key in ("content", "refusal"):
                if isinstance(delta.get(key), str):
                    message[key] = (message[key] or "") + delta[key]
            for fragment in delta.get("tool_calls") or []:
                calls = message.setdefault("tool_calls", [])
                position = fragment.get("index", len(calls))
                while len(calls) <= position:
                    calls.append({"id": None, "type": "function", "function": {"name": None, "arguments": ""}})
                call = calls[position]
                if fragment.get("id"):
                    call["id"] = fragment["id"]
                function = fragment.get("function") or {}
                if function.get("name"):
                    call["function"]["name"] = function["name"]
                if isinstance(function.get("arguments"), str):
                    call["function"]["arguments"] += function["arguments"]
            if choice.get("finish_reason"):
                slot["finish_reason"] = choice["finish_reason"]
    out["choices"] = [choices[i] for i in sorted(choices)]
    return out


def final_response(events: list[SseEvent]) -> dict[str, Any] | None:
    """The ``response`` of the terminal event, or one rebuilt from ``output_item.done`` events."""
    for event in reversed(events):
        if event.type in TERMINAL_EVENTS and isinstance(event.json.get("response"), dict):
            return event.json["response"]
    items = [e.json.get("item") for e in events if e.type == "response.output_item.done"]
    if not items:
        return None
    base: dict[str, Any] = {}
    for event in events:
        if event.type in ("response.created", "response.in_progress") and isinstance(event.json.get("response"), dict):
            base = dict(event.json["response"])
    base["output"] = [item for item in items if isinstance(item, dict)]
    return base
