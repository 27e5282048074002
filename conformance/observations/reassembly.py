"""Turn a stream back into the object a non-stream request would have returned.

Chat: chunks are merged by choice index; ``tool_calls`` fragments by their ``index``
(id, type and name kept from the fragment that first carries them, argument pieces
concatenated); audio transcripts and data are concatenated too.
Responses: the terminal event carries the whole response; if it is missing, the
response is rebuilt from the last envelope event and the ``output_item.done`` items
(in ``output_index`` order) so the checks still see what came.
The grammars in ``conformance.streams`` judge whether the stream was well formed;
this module only rebuilds, leniently.
"""

from __future__ import annotations

from typing import Any

from conformance.api.endpoints import CREATE
from conformance.api.vocabulary import ENVELOPE_EVENTS, TERMINAL_EVENTS
from conformance.transport.sse import SseEvent


def _new_choice(index: int) -> dict[str, Any]:
    return {"index": index, "message": {"role": None, "content": None, "refusal": None}, "finish_reason": None}


def _merge_tool_call(calls: dict[Any, dict[str, Any]], fragment: dict[str, Any]) -> None:
    # Keyed by the fragment's index (never a list padded up to it: an index of 10**20 must cost nothing).
    position = fragment.get("index")
    key = position if isinstance(position, int) and not isinstance(position, bool) else ("arrival", len(calls))
    call = calls.setdefault(key, {"id": None, "type": "function", "function": {"name": None, "arguments": ""}})
    if fragment.get("id") and not call["id"]:
        call["id"] = fragment["id"]
    if isinstance(fragment.get("type"), str):
        call["type"] = fragment["type"]
    function = fragment.get("function") if isinstance(fragment.get("function"), dict) else {}
    if function.get("name") and not call["function"]["name"]:
        call["function"]["name"] = function["name"]
    if isinstance(function.get("arguments"), str):
        call["function"]["arguments"] += function["arguments"]


def _in_order(slots: dict[Any, Any]) -> list[Any]:
    """The values of ``slots`` by key: integer keys ascending, then the others in arrival order."""
    numbered = sorted(k for k in slots if isinstance(k, int) and not isinstance(k, bool))
    others = [v for k, v in slots.items() if not (isinstance(k, int) and not isinstance(k, bool))]
    return [slots[k] for k in numbered] + others


def _merge_audio(message: dict[str, Any], audio: dict[str, Any]) -> None:
    merged = message.setdefault("audio", {})
    for key, value in audio.items():
        if key in ("transcript", "data") and isinstance(value, str):
            merged[key] = merged.get(key, "") + value
        elif value is not None:
            merged[key] = value


def reassemble_chat(events: list[SseEvent]) -> dict[str, Any] | None:
    """Merge ``chat.completion.chunk`` events into one ``chat.completion``-shaped dict."""
    # An error payload inside the stream is not a chunk (the stream_error check reports it).
    chunks = [e.json for e in events
              if isinstance(e.json, dict) and not (e.json.get("error") and "choices" not in e.json)]
    if not chunks:
        return None
    first = chunks[0]
    out: dict[str, Any] = {
        "id": first.get("id"),
        "object": CREATE["chat"].object,
        "created": first.get("created"),
        "model": first.get("model"),
        "choices": [],
        "usage": None,
    }
    for key in ("system_fingerprint", "service_tier"):
        if key in first:
            out[key] = first[key]
    choices: dict[Any, dict[str, Any]] = {}
    calls: dict[Any, dict[Any, dict[str, Any]]] = {}  # tool-call fragments by choice, then by call index
    for chunk in chunks:
        if isinstance(chunk.get("usage"), dict):
            out["usage"] = chunk["usage"]
        for choice in chunk.get("choices") if isinstance(chunk.get("choices"), list) else []:
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            # A key of any type a server may send (a list is unhashable): the grammar checks judge the index.
            slot_key = index if isinstance(index, (int, str)) or index is None else repr(index)
            slot = choices.setdefault(slot_key, _new_choice(index))
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
            message = slot["message"]
            if delta.get("role") and not message["role"]:
                message["role"] = delta["role"]
            for key in ("content", "refusal"):
                if isinstance(delta.get(key), str):
                    message[key] = (message[key] or "") + delta[key]
            for fragment in delta.get("tool_calls") if isinstance(delta.get("tool_calls"), list) else []:
                if isinstance(fragment, dict):
                    _merge_tool_call(calls.setdefault(slot_key, {}), fragment)
            if isinstance(delta.get("audio"), dict):
                _merge_audio(message, delta["audio"])
            if choice.get("finish_reason"):
                slot["finish_reason"] = choice["finish_reason"]
    for slot_key, merged in calls.items():
        if merged:
            choices[slot_key]["message"]["tool_calls"] = _in_order(merged)
    out["choices"] = _in_order(choices)
    return out


def final_response(events: list[SseEvent]) -> dict[str, Any] | None:
    """The ``response`` of the terminal event, or one rebuilt from the envelope and ``output_item.done`` events."""
    for event in reversed(events):
        if event.type in TERMINAL_EVENTS and isinstance(event.json.get("response"), dict):
            return event.json["response"]
    done = [e.json for e in events if e.type == "response.output_item.done" and isinstance(e.json.get("item"), dict)]
    if not done:
        return None
    base: dict[str, Any] = {}
    for event in events:
        if event.type in ENVELOPE_EVENTS and isinstance(event.json.get("response"), dict):
            base = dict(event.json["response"])
    # Order by output_index when every item has one; otherwise keep the order they arrived in.
    if all(isinstance(d.get("output_index"), int) for d in done):
        done = sorted(done, key=lambda d: d["output_index"])
    base["output"] = [d["item"] for d in done]
    return base
