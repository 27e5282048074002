"""Code-made variants of genuine OpenAI recordings: the mutants the audit must catch, and the edits it must not fail.

Every variant starts from a genuine official interaction of ../shared/corpus (read at run time; written to
temporary files or judged in memory only) and changes one thing with code:

- ``fail`` mutations break a protocol rule (a wrong ``object``, a swapped id prefix, a missing ``[DONE]``, a
  duplicated ``sequence_number``, a changed delta, ...): the audit must judge the interaction ``fail``, and the
  named check must be among the failing findings. The share caught is the **kill rate**; a mutation the audit
  stops catching is a regression.
- ``pass`` edits are what OpenAI itself does (opaque fields re-encrypted between events, informational fields
  absent, a server-side tool item left open that the terminal output holds, non-JSON arguments of a
  non-strict tool): the audit must not fail them, and must still say what it saw (a note), so the relaxed rule
  stays visible.

Each relaxation of issue 8 has its ``pass`` edit and, beside it, a ``fail`` mutation the relaxation must not
swallow (``encrypted_content`` differs: pass; a delta or a summary text differs: fail).
``tests/test_audit_mutants.py`` runs a sample; ``benchmarks/leave_one_out.py`` prints the kill rate of all.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterator

from conformance.api.vocabulary import SERVER_SIDE_ITEMS
from conformance.audit.judge import audit_interaction
from conformance.transport.recordings import decode_interaction
from conformance.transport.sse import parse_sse
from support.cassettes import from_corpus_record
from support.sse import frames, render, renumber

RECENT = "Thu, 20 Aug 2026 10:00:00 GMT"  # a date after every `since` of conformance/api/history.py


@dataclass(frozen=True)
class Mutation:
    """One code-made change of a genuine interaction and what the audit must make of it."""

    name: str
    api: str  # chat | responses
    stream: bool
    mutate: Callable[[dict[str, Any]], bool]  # edits a record in place; False when it does not apply to it
    expect: str  # "fail": a protocol deviation to catch; "pass": what OpenAI does, never a failure
    check: str | None = None  # the check that must report it ("fail"), or that must note it ("pass")
    recent: bool = False  # only bases recorded after every late protocol field (sequence_number)


def project(record: dict[str, Any]) -> str:
    return record["source_repo"].split("/")[-1]


def date(record: dict[str, Any]) -> str:
    try:
        return parsedate_to_datetime(record.get("response_date") or "").date().isoformat()
    except (TypeError, ValueError, IndexError):
        return ""


def audit(record: dict[str, Any], key: str = "variant", history: Any = None) -> dict[str, Any]:
    """The audit's report entry of one (mutated) record, decoded exactly as a cassette would be."""
    return audit_interaction(decode_interaction(key, 0, from_corpus_record(record, "text")), "openai",
                             history=history)


# -- helpers ------------------------------------------------------------------------------------------------------

def _events(record: dict[str, Any]) -> list[list[Any]]:
    return frames(parse_sse(record["response_body"]))


def _write(record: dict[str, Any], pairs: list[list[Any]]) -> None:
    record["response_body"] = render(pairs)


def _typed(pairs: list[list[Any]], kind: str) -> list[list[Any]]:
    return [pair for pair in pairs if isinstance(pair[1], dict) and pair[1].get("type") == kind]


def _terminal(pairs: list[list[Any]]) -> dict[str, Any] | None:
    found = _typed(pairs, "response.completed") or _typed(pairs, "response.incomplete")
    return found[-1][1] if found else None


def _body(record: dict[str, Any]) -> dict[str, Any] | None:
    body = record.get("response_body")
    return body if isinstance(body, dict) else None


def _choice(record: dict[str, Any]) -> dict[str, Any] | None:
    body = _body(record)
    choices = body.get("choices") if body else None
    return choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None


def _set(record: dict[str, Any], path: tuple, value: Any = None, delete: bool = False) -> bool:
    node = _body(record)
    for part in path[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return False
    last = path[-1]
    if not isinstance(node, dict) or (delete and last not in node):
        return False
    if delete:
        del node[last]
    else:
        node[last] = value
    return True


def _recent(record: dict[str, Any]) -> None:
    record["response_date"] = RECENT


# -- chat, non-stream -----------------------------------------------------------------------------------------------

def chat_object(r):
    return _set(r, ("object",), "chat.completions")


def chat_id_prefix(r):
    body = _body(r)
    return bool(body and isinstance(body.get("id"), str)) and _set(r, ("id",), "resp_" + body["id"][9:])


def chat_drop(name):
    def mutate(r):
        return _set(r, (name,), delete=True)
    mutate.__name__ = f"chat_drop_{name}"
    return mutate


def chat_drop_finish_reason(r):
    return _set(r, ("choices", 0, "finish_reason"), delete=True)


def chat_role_user(r):
    return _set(r, ("choices", 0, "message", "role"), "user")


def chat_other_container(r):
    return _set(r, ("output",), [])


def chat_usage_names(r):
    usage = (_body(r) or {}).get("usage")
    if not isinstance(usage, dict) or "prompt_tokens" not in usage:
        return False
    usage["input_tokens"] = usage.pop("prompt_tokens")
    usage["output_tokens"] = usage.pop("completion_tokens")
    return True


def chat_usage_total(r):
    usage = (_body(r) or {}).get("usage")
    if not isinstance(usage, dict) or not isinstance(usage.get("total_tokens"), int):
        return False
    usage["total_tokens"] += 7
    return True


def _chat_call(r):
    choice = _choice(r)
    calls = (choice or {}).get("message", {}).get("tool_calls") if choice else None
    return calls[0] if isinstance(calls, list) and calls and isinstance(calls[0].get("function"), dict) else None


def chat_arguments_object(r):
    call = _chat_call(r)
    if call is None:
        return False
    try:
        call["function"]["arguments"] = json.loads(call["function"]["arguments"])
    except (TypeError, ValueError):
        return False
    return isinstance(call["function"]["arguments"], dict)


def _strict(r, strict: bool) -> str | None:
    call = _chat_call(r)
    tools = (r.get("request_body") or {}).get("tools") if isinstance(r.get("request_body"), dict) else None
    if call is None or not isinstance(tools, list):
        return None
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and function.get("name") == call["function"].get("name"):
            function["strict"] = strict
            call["function"]["arguments"] = call["function"]["arguments"][:-1]  # cut: no longer JSON
            return call["function"]["arguments"]
    return None


def chat_broken_arguments_strict(r):
    return _strict(r, True) is not None


def chat_broken_arguments_not_strict(r):
    return _strict(r, False) is not None


def chat_call_id_prefix(r):
    call = _chat_call(r)
    if call is None or not isinstance(call.get("id"), str):
        return False
    call["id"] = "fc_" + call["id"][5:]
    return True


def chat_drop_informational(name: str, path: tuple):
    def mutate(r):
        _recent(r)
        return _set(r, path, delete=True)
    mutate.__name__ = f"chat_drop_{name}"
    return mutate


# -- chat, stream ---------------------------------------------------------------------------------------------------

def _chunks(pairs):
    return [p[1] for p in pairs if isinstance(p[1], dict)]


def chat_stream_no_done(r):
    pairs = _events(r)
    kept = [p for p in pairs if p[1] != "[DONE]"]
    if len(kept) == len(pairs):
        return False
    _write(r, kept)
    return True


def chat_stream_two_done(r):
    pairs = _events(r)
    if not pairs or pairs[-1][1] != "[DONE]":
        return False
    _write(r, pairs + [[None, "[DONE]"]])
    return True


def chat_stream_changed_id(r):
    pairs = _events(r)
    chunks = _chunks(pairs)
    if len(chunks) < 3:
        return False
    chunks[1]["id"] = str(chunks[1].get("id")) + "x"
    _write(r, pairs)
    return True


def chat_stream_wrong_object(r):
    pairs = _events(r)
    chunks = _chunks(pairs)
    if not chunks:
        return False
    chunks[-1]["object"] = "chat.completion"
    _write(r, pairs)
    return True


def chat_stream_no_finish(r):
    pairs = _events(r)
    found = False
    for chunk in _chunks(pairs):
        for choice in chunk.get("choices") or []:
            if isinstance(choice, dict) and choice.get("finish_reason") is not None:
                choice["finish_reason"] = None
                found = True
    if found:
        _write(r, pairs)
    return found and "audio" not in ((r.get("request_body") or {}).get("modalities") or [])


def chat_stream_no_role(r):
    pairs = _events(r)
    for chunk in _chunks(pairs):
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if isinstance(delta, dict) and "role" in delta:
                del delta["role"]
                _write(r, pairs)
                return True
    return False


def _asks_usage(r):
    return ((r.get("request_body") or {}).get("stream_options") or {}).get("include_usage") is True


def chat_stream_usage_removed(r):
    if not _asks_usage(r):
        return False
    pairs = _events(r)
    kept = [p for p in pairs if not (isinstance(p[1], dict) and isinstance(p[1].get("usage"), dict))]
    if len(kept) == len(pairs):
        return False
    _write(r, kept)
    return True


def chat_stream_usage_unasked(r):
    if not _asks_usage(r):
        return False
    del r["request_body"]["stream_options"]
    return True


def chat_stream_relabelled(r):
    r["response_content_type"] = "application/json"
    return True


def chat_stream_repeated_call_id(r):
    pairs = _events(r)
    seen: set = set()
    for chunk in _chunks(pairs):
        for choice in chunk.get("choices") or []:
            for fragment in ((choice or {}).get("delta") or {}).get("tool_calls") or []:
                index = fragment.get("index")
                if index in seen and "id" not in fragment:
                    fragment["id"] = "call_repeated"
                    _write(r, pairs)
                    return True
                seen.add(index)
    return False


# -- responses, non-stream ------------------------------------------------------------------------------------------

def responses_object(r):
    return _set(r, ("object",), "responses")


def responses_id_prefix(r):
    body = _body(r)
    return bool(body and isinstance(body.get("id"), str)) and _set(r, ("id",), "chatcmpl-" + body["id"][5:])


def responses_drop(name):
    def mutate(r):
        return _set(r, (name,), delete=True)
    mutate.__name__ = f"responses_drop_{name}"
    return mutate


def responses_other_container(r):
    return _set(r, ("choices",), [])


def _items(r, kind=None):
    body = _body(r)
    output = body.get("output") if body else None
    return [i for i in output if isinstance(i, dict) and (kind is None or i.get("type") == kind)] \
        if isinstance(output, list) else []


def responses_item_prefix(r):
    for item in _items(r, "message"):
        if isinstance(item.get("id"), str) and item["id"].startswith("msg_"):
            item["id"] = "fc_" + item["id"][4:]
            return True
    return False


def responses_item_drop_id(r):
    items = _items(r)
    if not items or "id" not in items[0]:
        return False
    del items[0]["id"]
    return True


def responses_usage_names(r):
    usage = (_body(r) or {}).get("usage")
    if not isinstance(usage, dict) or "input_tokens" not in usage:
        return False
    usage["prompt_tokens"] = usage.pop("input_tokens")
    usage["completion_tokens"] = usage.pop("output_tokens")
    return True


def responses_arguments_object(r):
    for item in _items(r, "function_call"):
        try:
            value = json.loads(item.get("arguments"))
        except (TypeError, ValueError):
            continue
        if isinstance(value, dict):
            item["arguments"] = value
            return True
    return False


def responses_drop_informational(name: str):
    def mutate(r):
        _recent(r)
        return _set(r, (name,), delete=True)
    mutate.__name__ = f"responses_drop_{name}"
    return mutate


def responses_drop_cache_write_tokens(r):
    _recent(r)
    return _set(r, ("usage", "input_tokens_details", "cache_write_tokens"), delete=True)


# -- responses, stream ----------------------------------------------------------------------------------------------

def stream_drop_sequence(r):
    pairs = _events(r)
    for _, payload in pairs:
        if isinstance(payload, dict):
            payload.pop("sequence_number", None)
    _write(r, pairs)
    return True


def stream_duplicate_sequence(r):
    pairs = _events(r)
    numbered = [p for _, p in pairs if isinstance(p, dict) and isinstance(p.get("sequence_number"), int)]
    if len(numbered) < 4:
        return False
    numbered[2]["sequence_number"] = numbered[1]["sequence_number"]
    _write(r, pairs)
    return True


def stream_terminal_first(r):
    pairs = _events(r)
    _write(r, [pairs[-1], *pairs[:-1]])
    return True


def stream_drop_event(kind):
    def mutate(r):
        pairs = _events(r)
        kept = [p for p in pairs if not (isinstance(p[1], dict) and p[1].get("type") == kind)]
        if len(kept) == len(pairs):
            return False
        _write(r, renumber(kept))
        return True
    mutate.__name__ = f"stream_drop_{kind.replace('.', '_')}"
    return mutate


def stream_changed_delta(r):
    pairs = _events(r)
    deltas = _typed(pairs, "response.output_text.delta")
    if not deltas:
        return False
    deltas[0][1]["delta"] = str(deltas[0][1].get("delta")) + " (changed)"
    _write(r, pairs)
    return True


def stream_changed_terminal_text(r):
    pairs = _events(r)
    terminal = _terminal(pairs)
    for item in (terminal or {}).get("response", {}).get("output") or []:
        for part in item.get("content") or [] if isinstance(item, dict) else []:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                part["text"] += " (changed)"
                _write(r, pairs)
                return True
    return False


def _terminal_item(pairs, kind):
    terminal = _terminal(pairs)
    for item in (terminal or {}).get("response", {}).get("output") or []:
        if isinstance(item, dict) and item.get("type") == kind:
            return item
    return None


def stream_changed_terminal_call_id(r):
    pairs = _events(r)
    item = _terminal_item(pairs, "function_call")
    if item is None or not isinstance(item.get("call_id"), str):
        return False
    item["call_id"] += "x"
    _write(r, pairs)
    return True


def stream_changed_terminal_reasoning(r):
    """A non-opaque field of a reasoning item differs between output_item.done and the terminal output."""
    pairs = _events(r)
    item = _terminal_item(pairs, "reasoning")
    if item is None:
        return False
    if item.get("summary"):
        item["summary"][0]["text"] = str(item["summary"][0].get("text")) + " (changed)"
    else:
        item["summary"] = [{"type": "summary_text", "text": "added"}]
    _write(r, pairs)
    return True


def stream_reencrypted_reasoning(r):
    """What OpenAI does: encrypted_content differs between output_item.done and the terminal output."""
    pairs = _events(r)
    done = [p for p in _typed(pairs, "response.output_item.done") if (p[1].get("item") or {}).get("type") == "reasoning"]
    item = _terminal_item(pairs, "reasoning")
    if not done or item is None:
        return False
    done[0][1]["item"]["encrypted_content"] = "gAAAAABo-first-encryption"
    item["encrypted_content"] = "gAAAAABo-second-encryption"
    _write(r, pairs)
    return True


def stream_reencrypted_changed_delta(r):
    """The same re-encrypted reasoning stream with a changed text delta: still a failure."""
    return stream_reencrypted_reasoning(r) and stream_changed_delta(r)


def _drop_item_done(r, kinds, from_terminal: bool):
    pairs = _events(r)
    for pair in _typed(pairs, "response.output_item.done"):
        item = pair[1].get("item") or {}
        if item.get("type") in kinds:
            pairs.remove(pair)
            if from_terminal:
                terminal = _terminal(pairs)
                output = (terminal or {}).get("response", {}).get("output")
                if isinstance(output, list):
                    output[:] = [i for i in output if not (isinstance(i, dict) and i.get("id") == item.get("id"))]
            _write(r, renumber(pairs))
            return True
    return False


def stream_message_left_open(r):
    return _drop_item_done(r, ("message",), from_terminal=False)


def stream_server_item_left_open(r):
    return _drop_item_done(r, SERVER_SIDE_ITEMS, from_terminal=False)


def stream_server_item_lost(r):
    return _drop_item_done(r, SERVER_SIDE_ITEMS, from_terminal=True)


def stream_event_line(r):
    pairs = _events(r)
    for pair in pairs:
        if pair[0] and isinstance(pair[1], dict) and pair[1].get("type") == "response.in_progress":
            pair[0] = "response.created"
            _write(r, pairs)
            return True
    return False


def stream_added_done(r):
    _write(r, _events(r) + [[None, "[DONE]"]])
    return True


def stream_wrong_item_id(r):
    pairs = _events(r)
    deltas = _typed(pairs, "response.output_text.delta")
    if not deltas:
        return False
    deltas[-1][1]["item_id"] = "msg_not_announced"
    _write(r, pairs)
    return True


def stream_terminal_id(r):
    pairs = _events(r)
    terminal = _terminal(pairs)
    if terminal is None or not isinstance(terminal.get("response", {}).get("id"), str):
        return False
    terminal["response"]["id"] += "x"
    _write(r, pairs)
    return True


def stream_terminal_status(r):
    pairs = _events(r)
    completed = _typed(pairs, "response.completed")
    if not completed:
        return False
    completed[-1][1]["response"]["status"] = "incomplete"
    _write(r, pairs)
    return True


def stream_drop_terminal_moderation(r):
    _recent(r)
    pairs = _events(r)
    terminal = _terminal(pairs)
    if terminal is None or "moderation" not in terminal.get("response", {}):
        return False
    del terminal["response"]["moderation"]
    _write(r, pairs)
    return True


MUTATIONS: tuple[Mutation, ...] = (
    # chat, non-stream
    Mutation("chat-wrong-object", "chat", False, chat_object, "fail", "object_value"),
    Mutation("chat-id-prefix", "chat", False, chat_id_prefix, "fail", "id_prefix"),
    Mutation("chat-no-id", "chat", False, chat_drop("id"), "fail", "schema"),
    Mutation("chat-no-choices", "chat", False, chat_drop("choices"), "fail", "output_container"),
    Mutation("chat-no-model", "chat", False, chat_drop("model"), "fail", "schema"),
    Mutation("chat-no-usage", "chat", False, chat_drop("usage"), "fail", "schema"),
    Mutation("chat-no-finish-reason", "chat", False, chat_drop_finish_reason, "fail", "schema"),
    Mutation("chat-role-user", "chat", False, chat_role_user, "fail", "schema"),
    Mutation("chat-other-container", "chat", False, chat_other_container, "fail", "output_container"),
    Mutation("chat-usage-names", "chat", False, chat_usage_names, "fail", "usage_fields"),
    Mutation("chat-usage-total", "chat", False, chat_usage_total, "fail", "usage_fields"),
    Mutation("chat-arguments-object", "chat", False, chat_arguments_object, "fail", "arguments_string"),
    Mutation("chat-broken-arguments-strict", "chat", False, chat_broken_arguments_strict, "fail", "arguments_string"),
    Mutation("chat-call-id-prefix", "chat", False, chat_call_id_prefix, "fail", "id_prefix"),
    Mutation("chat-broken-arguments-not-strict", "chat", False, chat_broken_arguments_not_strict, "pass",
             "arguments_string"),
    Mutation("chat-no-service-tier", "chat", False, chat_drop_informational("service_tier", ("service_tier",)),
             "pass", "schema"),
    Mutation("chat-no-system-fingerprint", "chat", False,
             chat_drop_informational("system_fingerprint", ("system_fingerprint",)), "pass", "schema"),
    Mutation("chat-no-annotations", "chat", False,
             chat_drop_informational("annotations", ("choices", 0, "message", "annotations")), "pass", "schema"),
    Mutation("chat-no-cached-tokens", "chat", False,
             chat_drop_informational("cached_tokens", ("usage", "prompt_tokens_details", "cached_tokens")),
             "pass", "schema"),
    # chat, stream
    Mutation("chat-stream-no-done", "chat", True, chat_stream_no_done, "fail", "stream_framing"),
    Mutation("chat-stream-two-done", "chat", True, chat_stream_two_done, "fail", "stream_framing"),
    Mutation("chat-stream-changed-id", "chat", True, chat_stream_changed_id, "fail", "chat_stream_chunks"),
    Mutation("chat-stream-wrong-object", "chat", True, chat_stream_wrong_object, "fail", "chat_stream_chunks"),
    Mutation("chat-stream-no-finish-reason", "chat", True, chat_stream_no_finish, "fail", "chat_stream_chunks"),
    Mutation("chat-stream-no-role", "chat", True, chat_stream_no_role, "fail", "chat_stream_chunks"),
    Mutation("chat-stream-usage-removed", "chat", True, chat_stream_usage_removed, "fail", "chat_stream_usage"),
    Mutation("chat-stream-usage-unasked", "chat", True, chat_stream_usage_unasked, "fail", "chat_stream_usage"),
    Mutation("chat-stream-relabelled", "chat", True, chat_stream_relabelled, "fail", "stream_content_type"),
    Mutation("chat-stream-repeated-call-id", "chat", True, chat_stream_repeated_call_id, "fail",
             "chat_stream_tool_calls"),
    # responses, non-stream
    Mutation("responses-wrong-object", "responses", False, responses_object, "fail", "object_value"),
    Mutation("responses-id-prefix", "responses", False, responses_id_prefix, "fail", "id_prefix"),
    Mutation("responses-item-prefix", "responses", False, responses_item_prefix, "fail", "id_prefix"),
    Mutation("responses-no-output", "responses", False, responses_drop("output"), "fail", "schema"),
    Mutation("responses-no-status", "responses", False, responses_drop("status"), "fail", "schema"),
    Mutation("responses-no-created-at", "responses", False, responses_drop("created_at"), "fail", "schema"),
    Mutation("responses-item-no-id", "responses", False, responses_item_drop_id, "fail", "schema"),
    Mutation("responses-other-container", "responses", False, responses_other_container, "fail",
             "output_container"),
    Mutation("responses-usage-names", "responses", False, responses_usage_names, "fail", "usage_fields"),
    Mutation("responses-arguments-object", "responses", False, responses_arguments_object, "fail",
             "arguments_string"),
    Mutation("responses-no-billing", "responses", False, responses_drop_informational("billing"), "pass", "schema"),
    Mutation("responses-no-moderation", "responses", False, responses_drop_informational("moderation"), "pass",
             "schema"),
    Mutation("responses-no-completed-at", "responses", False, responses_drop_informational("completed_at"), "pass",
             "schema"),
    Mutation("responses-no-cache-write-tokens", "responses", False, responses_drop_cache_write_tokens, "pass",
             "schema"),
    # responses, stream
    Mutation("stream-no-sequence-number", "responses", True, stream_drop_sequence, "fail", "stream_sequence",
             recent=True),
    Mutation("stream-duplicate-sequence-number", "responses", True, stream_duplicate_sequence, "fail",
             "stream_sequence", recent=True),
    Mutation("stream-terminal-first", "responses", True, stream_terminal_first, "fail", "stream_envelope"),
    Mutation("stream-no-created", "responses", True, stream_drop_event("response.created"), "fail",
             "stream_envelope"),
    Mutation("stream-no-in-progress", "responses", True, stream_drop_event("response.in_progress"), "fail",
             "stream_envelope"),
    Mutation("stream-no-terminal", "responses", True, stream_drop_event("response.completed"), "fail",
             "stream_envelope"),
    Mutation("stream-changed-delta", "responses", True, stream_changed_delta, "fail", "stream_reassembly"),
    Mutation("stream-changed-terminal-text", "responses", True, stream_changed_terminal_text, "fail",
             "stream_reassembly"),
    Mutation("stream-changed-terminal-call-id", "responses", True, stream_changed_terminal_call_id, "fail",
             "stream_reassembly"),
    Mutation("stream-changed-terminal-reasoning", "responses", True, stream_changed_terminal_reasoning, "fail",
             "stream_reassembly"),
    Mutation("stream-reencrypted-changed-delta", "responses", True, stream_reencrypted_changed_delta, "fail",
             "stream_reassembly"),
    Mutation("stream-message-left-open", "responses", True, stream_message_left_open, "fail", "stream_nesting"),
    Mutation("stream-server-item-lost", "responses", True, stream_server_item_lost, "fail", "stream_reassembly"),
    Mutation("stream-event-line", "responses", True, stream_event_line, "fail", "stream_framing"),
    Mutation("stream-added-done", "responses", True, stream_added_done, "fail", "stream_framing"),
    Mutation("stream-wrong-item-id", "responses", True, stream_wrong_item_id, "fail", "stream_nesting"),
    Mutation("stream-terminal-id", "responses", True, stream_terminal_id, "fail", "stream_envelope"),
    Mutation("stream-terminal-status", "responses", True, stream_terminal_status, "fail", "stream_envelope"),
    Mutation("stream-reencrypted-reasoning", "responses", True, stream_reencrypted_reasoning, "pass"),
    Mutation("stream-server-item-left-open", "responses", True, stream_server_item_left_open, "pass",
             "stream_nesting"),
    Mutation("stream-no-terminal-moderation", "responses", True, stream_drop_terminal_moderation, "pass",
             "stream_event_schema"),
)


def bases(records: list[dict[str, Any]], mutation: Mutation) -> list[dict[str, Any]]:
    """The genuine 200 interactions a mutation may start from (create answers of its API and stream mode)."""
    endpoint = "chat/completions" if mutation.api == "chat" else "responses"
    out = [r for r in records if r.get("api") == mutation.api and bool(r.get("stream")) == mutation.stream
           and r.get("status") == 200 and r.get("method") == "POST" and r.get("endpoint") == endpoint]
    if mutation.recent:
        out = [r for r in out if date(r) >= "2025-09"]
    return sorted(out, key=lambda r: (date(r), r.get("cassette_path", ""), r.get("index", 0)), reverse=True)


def variants(records: list[dict[str, Any]], per_project: int) -> Iterator[tuple[Mutation, dict[str, Any]]]:
    """``(mutation, mutated record)`` for each mutation and up to ``per_project`` bases of each project (newest
    first) it applies to; the bases themselves must pass or be stale (the caller checks)."""
    for mutation in MUTATIONS:
        taken: dict[str, int] = {}
        for base in bases(records, mutation):
            if taken.get(project(base), 0) >= per_project:
                continue
            record = copy.deepcopy(base)
            if mutation.mutate(record):
                taken[project(base)] = taken.get(project(base), 0) + 1
                yield mutation, record


def caught(mutation: Mutation, entry: dict[str, Any]) -> bool:
    """True when the audit made of a variant what the mutation expects."""
    if mutation.expect == "fail":
        return entry["verdict"] == "fail" and (mutation.check is None or mutation.check in {
            f["check"] for f in entry["failures"] if f["verdict"] == "fail"})
    noted = {f["check"] for f in entry.get("notes", [])} | {f["check"] for f in entry["failures"]}
    return entry["verdict"] != "fail" and (mutation.check is None or mutation.check in noted)
