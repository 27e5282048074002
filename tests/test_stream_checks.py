"""Stream checks around the grammars: content type, parity, the audit entry point, reassembly, the fast schema path.

Streams and their non-stream counterparts come from real recorded traffic (the corpus, read at
run time); deviant ones are made from them by code.
"""

from __future__ import annotations

import copy
import json

import pytest

from conformance.api import contracts
from conformance.checks import CHECKS, CheckContext, implicit_checks, run_check
from conformance.transport.exchange import Exchange
from conformance.observations.observation import observe
from conformance.observations.reassembly import final_response, reassemble_chat
from conformance.transport.sse import parse_sse
from conformance.api import fastschema
from conformance.checks.stream import check_stream
from conformance.observations.streams import analyse
from conformance.observations.streams.responses import EVENTS
from support.sse import frames, render
from corpus import CORPUS_MISSING, corpus_available, exchange_from_record, load_corpus

pytestmark = pytest.mark.skipif(not corpus_available(), reason=CORPUS_MISSING)
STREAM_CHECKS = ["stream_content_type", "stream_framing", "stream_event_schema", "stream_sequence", "stream_envelope",
                 "stream_nesting", "stream_reassembly", "stream_error", "chat_stream_chunks", "chat_stream_tool_calls",
                 "chat_stream_usage"]


@pytest.fixture(scope="module")
def responses_streams() -> list[dict]:
    return sorted((r for r in load_corpus(api="responses", stream=True) if r["status"] == 200 and r["method"] == "POST"
                   and '"sequence_number"' in r["response_body"]), key=lambda r: (r["cassette_path"], r["index"]))


@pytest.fixture(scope="module")
def chat_streams() -> list[dict]:
    return sorted((r for r in load_corpus(api="chat", stream=True) if r["status"] == 200),
                  key=lambda r: (r["cassette_path"], r["index"]))


def _first(records: list[dict], marker: str) -> dict:
    found = next((r for r in records if marker in r["response_body"]), None)
    if found is None:
        pytest.skip(f"no corpus stream with {marker}")
    return found


def run(name: str, exchanges: dict[str, Exchange], api: str, profile: str = "compat", **params) -> list:
    # deterministic: stream_parity compares text only for a target that answers the same request the same way
    ctx = CheckContext(api=api, exchanges=exchanges, profile=profile, deterministic=True)
    return run_check(name, ctx, params)


# -- registration and the audit entry point --------------------------------------------------------------------

def test_stream_checks_are_registered_implicit():
    for name in STREAM_CHECKS:
        assert name in implicit_checks(), name
        assert CHECKS[name].needs_success and CHECKS[name].doc
    assert "stream_parity" in CHECKS and not CHECKS["stream_parity"].implicit


def test_check_stream_judges_one_recorded_exchange(responses_streams):
    record = responses_streams[0]
    assert check_stream(exchange_from_record(record), "compat") == []
    broken = exchange_from_record(record)
    broken.text = broken.text.replace('"sequence_number":', '"seq":')
    (failure,) = check_stream(broken, "compat")
    assert failure.check == "stream_sequence" and failure.verdict.value == "fail"


def test_a_stream_is_walked_once_per_profile(responses_streams):
    ex = exchange_from_record(responses_streams[0])
    assert analyse(ex, "compat") is analyse(ex, "compat")
    assert analyse(ex, "openai") is not analyse(ex, "compat")


def test_non_stream_exchanges_are_left_alone(chat_streams):
    body = reassemble_chat(parse_sse(chat_streams[0]["response_body"]))
    plain = Exchange("POST", "https://api.openai.com/v1/chat/completions", {"model": "m", "messages": []}, 200,
                     {"content-type": "application/json"}, json.dumps(body))
    for name in STREAM_CHECKS:
        assert run(name, {"main": plain}, "chat") == [], name


# -- content type --------------------------------------------------------------------------------------------------

def test_a_json_answer_to_a_stream_request_fails(chat_streams):
    """Prism: stream: true is ignored and JSON comes back (SDKs then see zero chunks and no error)."""
    record = chat_streams[0]
    body = reassemble_chat(parse_sse(record["response_body"]))
    ex = Exchange("POST", "https://h/v1/chat/completions", record["request_body"], 200,
                  {"content-type": "application/json"}, json.dumps(body))
    (failure,) = run("stream_content_type", {"main": ex}, "chat")
    assert "asked for a stream" in failure.message and "application/json" in failure.message
    assert [f.check for f in check_stream(ex, "compat")] == ["stream_content_type"]  # no cascade


def test_a_mislabelled_stream_fails_content_type_but_is_still_judged(chat_streams):
    record = chat_streams[0]
    ex = Exchange("POST", "https://h/v1/chat/completions", record["request_body"], 200,
                  {"content-type": "application/json"}, record["response_body"])
    assert [f.check for f in check_stream(ex, "compat")] == ["stream_content_type"]
    ex = Exchange("POST", "https://h/v1/chat/completions", record["request_body"], 200,
                  {"content-type": "application/json"}, record["response_body"].replace("data: [DONE]", ""))
    assert {f.check for f in check_stream(ex, "compat")} == {"stream_content_type", "stream_framing"}


def test_a_stream_to_a_plain_request_fails(chat_streams):
    record = chat_streams[0]
    request = {k: v for k, v in record["request_body"].items() if k not in ("stream", "stream_options")}
    ex = Exchange("POST", "https://h/v1/chat/completions", request, 200, {"content-type": "text/event-stream"},
                  record["response_body"])
    (failure,) = run("stream_content_type", {"main": ex}, "chat")
    assert "did not ask for a stream" in failure.message


def test_an_error_answer_to_a_stream_request_is_not_judged_here():
    """A failed stream request gets an ordinary JSON error (the status check reports it)."""
    ex = Exchange("POST", "https://h/v1/responses", {"model": "m", "stream": True}, 400,
                  {"content-type": "application/json"}, json.dumps({"error": {"message": "bad", "type": "x",
                                                                             "param": None, "code": None}}))
    assert check_stream(ex, "openai") == []


# -- parity ----------------------------------------------------------------------------------------------------------

def _plain_of(stream: Exchange, body: dict) -> Exchange:
    return Exchange("POST", stream.url, {k: v for k, v in stream.request_body.items() if k != "stream"}, 200,
                    {"content-type": "application/json"}, json.dumps(body), step="plain.main")


def _responses_pair(record: dict) -> tuple[Exchange, dict]:
    stream = exchange_from_record(record)
    return stream, copy.deepcopy(final_response(stream.events))


def parity(stream: Exchange, body: dict, api: str, aspects: list[str] | None = None) -> list:
    params = {"aspects": aspects} if aspects else {}
    return run("stream_parity", {"main": stream, "plain.main": _plain_of(stream, body)}, api, step="main", **params)


def test_parity_passes_when_the_stream_reassembles_to_the_plain_answer(responses_streams, chat_streams):
    stream, body = _responses_pair(responses_streams[0])
    assert parity(stream, body, "responses", ["finish", "tool_names", "argument_keys", "json_keys", "text"]) == []
    chat = exchange_from_record(chat_streams[0])
    assert parity(chat, reassemble_chat(chat.events), "chat", ["finish", "text"]) == []


def test_parity_text_and_finish(responses_streams):
    record = _first(responses_streams, '"response.output_text.delta"')
    stream, body = _responses_pair(record)
    message = next(item for item in body["output"] if item["type"] == "message")
    message["content"][0]["text"] += " (edited)"
    assert parity(stream, body, "responses") == []  # text is compared only when asked (deterministic targets)
    (failure,) = parity(stream, body, "responses", ["text"])
    assert "text: they differ from character" in failure.message
    stream, body = _responses_pair(record)
    body.update(status="incomplete", incomplete_details={"reason": "max_output_tokens"})
    (failure,) = parity(stream, body, "responses", ["finish"])
    assert 'finish: streamed "stop", non-streamed "length"' in failure.message


def test_parity_tool_names_and_argument_keys(responses_streams):
    record = _first(responses_streams, '"response.function_call_arguments.delta"')
    stream, body = _responses_pair(record)
    call = next(item for item in body["output"] if item["type"] == "function_call")
    call["name"] += "_other"
    (failure,) = parity(stream, body, "responses", ["tool_names"])
    assert "tool_names" in failure.message
    stream, body = _responses_pair(record)
    call = next(item for item in body["output"] if item["type"] == "function_call")
    call["arguments"] = json.dumps({"unexpected": 1})
    (failure,) = parity(stream, body, "responses", ["argument_keys"])
    assert "argument_keys" in failure.message and "unexpected" in failure.message


def test_parity_json_keys(responses_streams):
    def json_text(record):
        body = final_response(parse_sse(record["response_body"]))
        text = observe(exchange_from_record(record)).text
        try:
            return body if isinstance(json.loads(text or ""), dict) else None
        except ValueError:
            return None
    record = next((r for r in responses_streams if json_text(r)), None)
    if record is None:
        pytest.skip("no JSON-output stream in the corpus")
    stream, body = _responses_pair(record)
    message = next(item for item in body["output"] if item["type"] == "message")
    value = json.loads(message["content"][0]["text"])
    message["content"][0]["text"] = json.dumps({"renamed_" + k: v for k, v in value.items()})
    (failure,) = parity(stream, body, "responses", ["json_keys"])
    assert 'json_keys: streamed ["output"], non-streamed ["renamed_output"]' in failure.message


def test_parity_needs_its_companion_step(responses_streams):
    stream, _ = _responses_pair(responses_streams[0])
    (failure,) = run("stream_parity", {"main": stream}, "responses", step="main")
    assert failure.verdict.value == "error" and "plain.main" in failure.message
    plain, _ = _responses_pair(responses_streams[0])
    plain.request_body = {"model": "m"}  # the non-stream run of a `stream: both` case
    assert run("stream_parity", {"main": plain}, "responses", step="main") == []


# -- reassembly ------------------------------------------------------------------------------------------------------

def test_final_response_is_rebuilt_without_a_terminal_event(responses_streams):
    record = _first(responses_streams, '"response.output_item.done"')
    events = parse_sse(record["response_body"])
    whole = final_response(events)
    cut = parse_sse(render([p for p in frames(events) if p[1].get("type") not in (
        "response.completed", "response.incomplete")]))
    assert final_response(cut)["output"] == whole["output"]


def test_chat_reassembly_keeps_ids_and_names_once(chat_streams):
    record = _first(chat_streams, '"tool_calls"')
    events = parse_sse(record["response_body"])
    body = reassemble_chat(events)
    calls = body["choices"][0]["message"]["tool_calls"]
    assert all(isinstance(json.loads(c["function"]["arguments"]), dict) for c in calls)
    pairs = frames(events)
    for _, payload in pairs:  # a server that repeats id and name in every fragment
        for choice in (payload.get("choices") or []) if isinstance(payload, dict) else []:
            for fragment in (choice.get("delta") or {}).get("tool_calls") or []:
                original = calls[fragment["index"]]
                fragment.update(id=original["id"])
                fragment.setdefault("function", {})["name"] = original["function"]["name"]
    assert reassemble_chat(parse_sse(render(pairs)))["choices"][0]["message"]["tool_calls"] == calls
    assert body["usage"] is None or isinstance(body["usage"], dict)


def test_chat_reassembly_of_audio(chat_streams):
    audio = next((r for r in chat_streams if "audio" in ((r["request_body"] or {}).get("modalities") or [])), None)
    if audio is None:
        pytest.skip("no audio stream in the corpus")
    message = reassemble_chat(parse_sse(audio["response_body"]))["choices"][0]["message"]
    assert message["role"] == "assistant" and message["audio"]["id"] and message["audio"]["transcript"]


# -- the fast schema path agrees with jsonschema -------------------------------------------------------------------

def _variants(payload: dict):
    """The payload, then copies with one key dropped or given a value of another type (one level down too)."""
    yield payload
    for key in list(payload):
        dropped = {k: v for k, v in payload.items() if k != key}
        yield dropped
        for value in (None, "x", -1, 1.5, True, [], {}):
            yield {**payload, key: value}
        if isinstance(payload[key], dict):
            for inner in list(payload[key])[:12]:
                for value in (None, 7, "x"):
                    yield {**payload, key: {**payload[key], inner: value}}


def test_fast_schema_path_agrees_with_jsonschema(responses_streams, chat_streams):
    samples: dict[str, list] = {}
    for record in responses_streams[:40] + chat_streams[:10]:
        for event in parse_sse(record["response_body"]):
            if not isinstance(event.json, dict):
                continue
            rule = EVENTS.get(event.json.get("type"))
            name = "chat.completion.chunk" if record["api"] == "chat" else f"events/{rule.schema if rule else 'event'}"
            if len(samples.setdefault(name, [])) < 3:
                samples[name].append(event.json)
    checked = 0
    for profile in ("openai", "compat", "open-responses"):
        for name, payloads in samples.items():
            fast = fastschema.checker(profile, name)
            assert fast is not None, (profile, name)
            for payload in payloads:
                for variant in _variants(payload):
                    assert fast(variant) == (not contracts.errors(profile, name, variant, limit=1)), (profile, name,
                                                                                                     variant)
                    checked += 1
    assert checked > 1000


def test_fast_schema_path_agrees_on_terminal_responses(responses_streams):
    for profile in ("openai", "compat"):
        fast = fastschema.checker(profile, "response")
        assert fast is not None
        for record in responses_streams[:30]:
            body = final_response(parse_sse(record["response_body"]))
            for variant in list(_variants(body))[:60]:
                assert fast(variant) == (not contracts.errors(profile, "response", variant, limit=1))


def test_fast_schema_path_declines_keywords_it_does_not_know():
    from pathlib import Path
    with pytest.raises(fastschema._Unsupported):
        fastschema._Compiler().compile({"patternProperties": {"^x": {"type": "string"}}}, Path("x.json"))
