"""The Chat Completions stream grammar: every rule fails on a real recorded stream changed to break only that rule.

Base streams are real OpenAI recordings from the corpus (read at run time, never copied);
each test edits one thing with code and asserts which check now fails, and that no other does.
"""

from __future__ import annotations

import copy
import json
import re

import pytest

from support.findings import missing_fields, only_missing
from conformance.transport.exchange import Exchange
from conformance.transport.sse import parse_sse
from conformance.checks.stream import check_stream
from support.sse import frames, render
from corpus import CORPUS_MISSING, corpus_available, exchange_from_record, load_corpus

pytestmark = pytest.mark.skipif(not corpus_available(), reason=CORPUS_MISSING)
URL = "https://api.openai.com/v1/chat/completions"


@pytest.fixture(scope="module")
def streams() -> list[dict]:
    """Official, genuine, successful chat streams."""
    return [r for r in load_corpus(api="chat", stream=True) if r["status"] == 200]


def _usage_wanted(record: dict) -> bool:
    return ((record["request_body"] or {}).get("stream_options") or {}).get("include_usage") is True


def _pick(records: list[dict], want) -> dict:
    for record in sorted(records, key=lambda r: (r["cassette_path"], r["index"])):
        if want(record) and not check_stream(exchange_from_record(record), "compat"):
            return record
    pytest.skip("no suitable base stream in the corpus")


def _count(record: dict, key: str) -> int:
    return sum(1 for e in parse_sse(record["response_body"]) if isinstance(e.json, dict)
               for c in e.json.get("choices") or [] if (c.get("delta") or {}).get(key))


@pytest.fixture(scope="module")
def text_base(streams) -> dict:
    """A text stream that asked for the usage chunk."""
    return _pick(streams, lambda r: _usage_wanted(r) and _count(r, "content") >= 3 and not _count(r, "tool_calls"))


@pytest.fixture(scope="module")
def plain_base(streams) -> dict:
    """A text stream that did not ask for usage."""
    return _pick(streams, lambda r: not _usage_wanted(r) and _count(r, "content") >= 2 and "modalities" not in (
        r["request_body"] or {}))


@pytest.fixture(scope="module")
def tool_base(streams) -> dict:
    """A stream with one tool call whose arguments come in several fragments."""
    def want(r):
        fragments = [f for e in parse_sse(r["response_body"]) if isinstance(e.json, dict)
                     for c in e.json.get("choices") or [] for f in (c.get("delta") or {}).get("tool_calls") or []]
        return len(fragments) >= 3 and {f.get("index") for f in fragments} == {0} and _usage_wanted(r)
    return _pick(streams, want)


def exchange(record: dict, text: str, request: dict | None = None, content_type: str = "text/event-stream") -> Exchange:
    return Exchange("POST", URL, request if request is not None else record["request_body"], 200,
                    {"content-type": content_type}, text)


def edited(record: dict, edit) -> list[list]:
    pairs = frames(parse_sse(record["response_body"]))
    edit(pairs)
    return pairs


def failing(ex: Exchange, profile: str) -> dict[str, object]:
    return {f.check: f for f in check_stream(ex, profile)}


def new_failures(record: dict, pairs: list[list], profile: str = "compat", request: dict | None = None) -> dict:
    before = failing(exchange(record, record["response_body"], request), profile)
    after = failing(exchange(record, render(pairs), request), profile)
    return {name: f for name, f in after.items() if name not in before or before[name].message != f.message}


def only(found: dict, check: str, pattern: str = "") -> object:
    assert set(found) == {check}, {k: v.message for k, v in found.items()}
    assert re.search(pattern, found[check].message), found[check].message
    return found[check]


def chunks(pairs: list[list]) -> list[dict]:
    return [p for _, p in pairs if isinstance(p, dict)]


def content_chunks(pairs: list[list]) -> list[dict]:
    return [p for p in chunks(pairs) if any((c.get("delta") or {}).get("content") for c in p.get("choices") or [])]


def fragments(pairs: list[list]) -> list[dict]:
    return [f for p in chunks(pairs) for c in p.get("choices") or [] for f in (c.get("delta") or {}).get("tool_calls")
            or []]


def usage_position(pairs: list[list]) -> int:
    return next(i for i, (_, p) in enumerate(pairs) if isinstance(p, dict) and p.get("usage"))


# -- real traffic passes ---------------------------------------------------------------------------------------

def test_real_chat_streams_pass(streams):
    """Every real OpenAI chat stream passes compat; under openai the only findings are usage fields added after
    the recording (only_missing), never a grammar rule."""
    assert len(streams) > 100
    for record in streams:
        ex = exchange_from_record(record)
        assert not check_stream(ex, "compat"), record["cassette_path"]
        for failure in check_stream(ex, "openai"):
            assert failure.check == "stream_event_schema" and only_missing(failure), failure.message


def _audio_streams(streams) -> list[dict]:
    audio = [r for r in streams if "audio" in ((r["request_body"] or {}).get("modalities") or [])]
    assert audio, "the corpus has genuine audio-output streams"
    return audio


def _is_expiry_chunk(payload) -> bool:
    return isinstance(payload, dict) and any(set((c.get("delta") or {}).get("audio") or {}) == {"expires_at"}
                                             for c in payload.get("choices") or [])


def test_audio_streams_are_accepted_as_openai_sends_them(streams):
    """Audio-output streams: chunks without choices, no finish_reason (the choice ends with its final audio
    update, as OpenAI documents), that update after the usage chunk."""
    for record in _audio_streams(streams):
        assert not check_stream(exchange_from_record(record), "compat")
        assert not [f for f in check_stream(exchange_from_record(record), "openai") if f.check != "stream_event_schema"]


def test_an_audio_stream_without_its_final_audio_update_never_finishes(streams):
    """Code-made variants of a genuine audio stream: the final audio update is what finishes a choice that has no
    finish_reason; without it, or when it carries more than its expiry, the choice never finishes."""
    base = _audio_streams(streams)[0]

    def drop(pairs):
        pairs[:] = [pair for pair in pairs if not _is_expiry_chunk(pair[1])]
    found = only(new_failures(base, edited(base, drop)), "chat_stream_chunks", "choice 0 never gets a finish_reason")
    assert missing_fields(found) == ["finish_reason"]

    def more_than_expiry(pairs):
        for _, payload in pairs:
            if _is_expiry_chunk(payload):
                payload["choices"][0]["delta"]["audio"]["data"] = "AAAA"
    only(new_failures(base, edited(base, more_than_expiry)), "chat_stream_chunks", "never gets a finish_reason")


def test_a_text_stream_cannot_end_with_an_audio_expiry_instead_of_a_finish_reason(text_base):
    """A code-made variant of a genuine text stream: its finish_reason replaced by a final audio update. Without
    an audio answer before it, that update finishes nothing."""
    def expiry_instead(pairs):
        for _, payload in pairs:
            for choice in payload.get("choices") or [] if isinstance(payload, dict) else []:
                if choice.get("finish_reason") is not None:
                    choice["finish_reason"] = None
                    choice["delta"] = {"audio": {"expires_at": 1780697155}}
    only(new_failures(text_base, edited(text_base, expiry_instead)), "chat_stream_chunks",
         "choice 0 never gets a finish_reason")


# -- framing -----------------------------------------------------------------------------------------------------

def test_chat_streams_are_data_lines_only(text_base):
    def edit(pairs):
        pairs[1][0] = "message"
    only(new_failures(text_base, edited(text_base, edit)), "stream_framing", "`event: message` line")


def test_done_ends_the_stream_once(text_base):
    found = only(new_failures(text_base, edited(text_base, lambda p: p.pop())), "stream_framing",
                 r"does not end with `data: \[DONE\]`")
    assert missing_fields(found) == ["[DONE]"]

    def early(pairs):
        pairs.insert(usage_position(pairs), pairs.pop())
    only(new_failures(text_base, edited(text_base, early)), "stream_framing", r"not the last event \(1 more")
    only(new_failures(text_base, edited(text_base, lambda p: p.append([None, "[DONE]"]))), "stream_framing",
         "sent 2 times")


def test_data_must_be_json_objects(text_base):
    def edit(pairs):
        pairs.insert(len(pairs) - 1, [None, "{oops"])
    only(new_failures(text_base, edited(text_base, edit)), "stream_framing", "not JSON")
    only(new_failures(text_base, edited(text_base, lambda p: p.insert(len(p) - 1, [None, [1, 2]]))),
         "stream_framing", "not a JSON object")


# -- schema -----------------------------------------------------------------------------------------------------------

def test_chunk_field_types(text_base):
    def edit(pairs):
        for chunk in chunks(pairs):
            chunk["created"] = str(chunk["created"])
    only(new_failures(text_base, edited(text_base, edit)), "stream_event_schema",
         "created: .* is not of type 'integer'")


def test_arguments_must_be_a_string(tool_base):
    """llama.cpp #20198: arguments sent as a JSON object."""
    def edit(pairs):
        parts = fragments(pairs)
        whole = "".join(f["function"].get("arguments", "") for f in parts)
        parts[0]["function"]["arguments"] = json.loads(whole)
        for fragment in parts[1:]:
            fragment["function"]["arguments"] = ""
    only(new_failures(tool_base, edited(tool_base, edit)), "stream_event_schema",
         "arguments: .* is not of type 'string'")


# -- chunks -----------------------------------------------------------------------------------------------------------

def test_object_id_created_model_are_constant(text_base):
    def obj(pairs):
        content_chunks(pairs)[0]["object"] = "chat.completion"
    only(new_failures(text_base, edited(text_base, obj)), "chat_stream_chunks",
         "object is 'chat.completion', expected 'chat.completion.chunk'")
    for key, value in (("id", "chatcmpl-other"), ("created", 1), ("model", "other-model")):
        def edit(pairs, key=key, value=value):
            content_chunks(pairs)[1][key] = value
        only(new_failures(text_base, edited(text_base, edit)), "chat_stream_chunks", f"{key} .* differs from the first")


def test_choice_indexes_start_at_zero(text_base):
    def edit(pairs):
        for chunk in chunks(pairs):
            for choice in chunk.get("choices") or []:
                choice["index"] = 1
    only(new_failures(text_base, edited(text_base, edit)), "chat_stream_chunks", r"choice indexes are \[1\]")


def test_role_arrives_first(text_base):
    def edit(pairs):
        del chunks(pairs)[0]["choices"][0]["delta"]["role"]
    found = only(new_failures(text_base, edited(text_base, edit)), "chat_stream_chunks", "has no role")
    assert missing_fields(found) == ["role"]


def test_one_finish_reason_per_choice(text_base):
    def twice(pairs):
        finish = next(i for i, (_, p) in enumerate(pairs) if isinstance(p, dict) and any(
            c.get("finish_reason") for c in p.get("choices") or []))
        pairs.insert(finish + 1, copy.deepcopy(pairs[finish]))
    only(new_failures(text_base, edited(text_base, twice)), "chat_stream_chunks", "a second finish_reason 'stop'")

    def never(pairs):
        for chunk in chunks(pairs):
            for choice in chunk.get("choices") or []:
                choice["finish_reason"] = None
    found = only(new_failures(text_base, edited(text_base, never)), "chat_stream_chunks", "never gets a finish_reason")
    assert only_missing(found)

    def early(pairs):
        for chunk in chunks(pairs):
            for choice in chunk.get("choices") or []:
                choice["finish_reason"] = None
        content_chunks(pairs)[0]["choices"][0]["finish_reason"] = "stop"
    only(new_failures(text_base, edited(text_base, early)), "chat_stream_chunks",
         "brings output after its finish_reason")


# -- tool calls --------------------------------------------------------------------------------------------------------

def test_id_and_name_come_once_in_the_first_fragment(tool_base):
    def repeat(pairs):
        parts = fragments(pairs)
        parts[1]["id"] = parts[0]["id"]
    only(new_failures(tool_base, edited(tool_base, repeat)), "chat_stream_tool_calls", "repeats id")

    def lacks(pairs):
        del fragments(pairs)[0]["id"]
    found = only(new_failures(tool_base, edited(tool_base, lacks)), "chat_stream_tool_calls", "lacks id")
    assert missing_fields(found) == ["id"]


def test_later_fragments_carry_only_arguments_under_openai(tool_base):
    """lmstudio: later deltas carry an empty function.name (harmless to SDKs, not what OpenAI sends)."""
    def edit(pairs):
        fragments(pairs)[1]["function"]["name"] = ""
    pairs = edited(tool_base, edit)
    only(new_failures(tool_base, pairs, "openai"), "chat_stream_tool_calls", "carries function.name")
    assert not new_failures(tool_base, pairs, "compat")


def test_arguments_concatenate_into_a_json_object(tool_base):
    def edit(pairs):
        fragments(pairs)[-1]["function"]["arguments"] += "}"
    only(new_failures(tool_base, edited(tool_base, edit)), "chat_stream_tool_calls", "is not JSON")

    def array(pairs):
        parts = fragments(pairs)
        parts[0]["function"]["arguments"] = "[" + parts[0]["function"]["arguments"]
        parts[-1]["function"]["arguments"] += "]"
    only(new_failures(tool_base, edited(tool_base, array)), "chat_stream_tool_calls",
         "is JSON list, not an object")


def test_tool_call_indexes_start_at_zero(tool_base):
    def edit(pairs):
        for fragment in fragments(pairs):
            fragment["index"] = 1
    only(new_failures(tool_base, edited(tool_base, edit)), "chat_stream_tool_calls",
         "tool call index 1 appears before index 0")


# -- usage ----------------------------------------------------------------------------------------------------------

def test_include_usage_needs_the_usage_chunk(text_base):
    def edit(pairs):
        del pairs[usage_position(pairs)]
    found = only(new_failures(text_base, edited(text_base, edit)), "chat_stream_usage", "no chunk carries usage")
    assert missing_fields(found) == ["usage"]


def test_usage_chunk_has_empty_choices(text_base):
    """LiteLLM 1.82.6: the usage chunk carries choices: [{"index": 0, "delta": {}}]."""
    def edit(pairs):
        pairs[usage_position(pairs)][1]["choices"] = [{"index": 0, "delta": {}}]
    only(new_failures(text_base, edited(text_base, edit)), "chat_stream_usage", r"expected `choices: \[\]`")


def test_usage_chunk_comes_once_and_last(text_base):
    def twice(pairs):
        position = usage_position(pairs)
        pairs.insert(position, copy.deepcopy(pairs[position]))
    only(new_failures(text_base, edited(text_base, twice)), "chat_stream_usage", "2 chunks carry usage")

    def late_output(pairs):
        position = usage_position(pairs)
        finish = next(i for i, (_, p) in enumerate(pairs) if isinstance(p, dict) and any(
            c.get("finish_reason") for c in p.get("choices") or []))
        pairs.insert(position, pairs.pop(finish))  # the finish chunk now follows the usage chunk
    only(new_failures(text_base, edited(text_base, late_output)), "chat_stream_usage", "after the usage chunk")


def test_no_usage_unless_asked(plain_base):
    def edit(pairs):
        chunks(pairs)[-1]["usage"] = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    only(new_failures(plain_base, edited(plain_base, edit)), "chat_stream_usage", "did not ask for it")


def test_the_same_stream_judged_against_what_was_asked(text_base):
    """The include_usage rules read the request: the usage chunk is wrong when it was not asked for."""
    request = {k: v for k, v in text_base["request_body"].items() if k != "stream_options"}
    assert not failing(exchange(text_base, text_base["response_body"]), "compat")
    only(failing(exchange(text_base, text_base["response_body"], request), "compat"), "chat_stream_usage",
         "did not ask for it")


# -- errors ---------------------------------------------------------------------------------------------------------

def test_error_payload_in_a_chat_stream(text_base):
    def edit(pairs):
        error = {"message": "Upstream overloaded", "type": "server_error", "code": "overloaded"}
        pairs.insert(3, [None, {"error": error}])
    only(new_failures(text_base, edited(text_base, edit)), "stream_error",
         "code 'overloaded', message 'Upstream overloaded'")
