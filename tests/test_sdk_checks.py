"""Each SDK check fails on a deviant answer (built by code from a real recording) and holds on real answers
(the committed cassettes, and genuine OpenAI traffic from ../shared/corpus), with whichever openai major is
installed. The answers reach the SDK through a mock transport: no network."""

from __future__ import annotations

import json

import pytest

from support.sdk import answer_through_sdk, deviant, recorded, sdk_findings, sse_events

from conformance.checks.findings import Verdict
from conformance.checks.sdk import SDK_CHECKS, documented_class
from conformance.transport.sse import parse_sse
from corpus import exchange_from_record, genuine_records


def failing(exchange, name):
    """The findings of check ``name`` that argue against the answer (notes aside)."""
    return [f for f in sdk_findings(exchange, name) if f.verdict is not Verdict.PASS]


def real(*where, **how):
    return answer_through_sdk(recorded(*where, **how))


# sdk_accepts: the SDK's types accept the answer at run time


def test_accepts_fails_when_the_sdk_raises_on_a_2xx_answer():
    chat = recorded("aimock", "text", "plain-prompt", "chat")
    found = failing(answer_through_sdk(deviant(chat, text='{"id": "chatcmpl-1", "choices": [')), "sdk_accepts")
    assert len(found) == 1 and "JSONDecodeError" in found[0].message


def test_accepts_holds_on_real_answers():
    for where in (("aimock", "text", "plain-prompt", "chat"), ("llama-server", "text", "plain-prompt", "responses")):
        assert not failing(real(*where), "sdk_accepts")


# sdk_error: error answers raise the documented class with their status


def test_error_fails_when_the_sdk_raises_another_class(monkeypatch):
    import openai

    def undocumented(self, message, *, body, response):
        return openai.APIStatusError(message, response=response, body=body)

    monkeypatch.setattr(openai.OpenAI, "_make_status_error", undocumented)  # an SDK that lost its error classes
    exchange = real("llama-server", "errors", "wrong-type", "chat")
    found = failing(exchange, "sdk_error")
    assert exchange.status >= 400 and len(found) == 1
    assert f"{documented_class(exchange.status)} with status_code {exchange.status} expected" in found[0].message


@pytest.mark.parametrize("where", [("llama-server", "errors", "wrong-type", "chat"),
                                   ("llama-server", "errors", "wrong-type", "responses"),
                                   ("aimock", "errors", "missing-required-field", "chat"),  # refused: sent generically
                                   ("aimock", "errors", "missing-required-field", "responses")])  # a 500
def test_error_holds_on_real_error_answers(where):
    exchange = real(*where)
    assert exchange.status >= 400 and exchange.sdk.exception.cls == documented_class(exchange.status)
    assert not failing(exchange, "sdk_error")


def test_documented_classes():
    assert [documented_class(s) for s in (400, 401, 403, 404, 409, 422, 429, 500, 503, 418)] == [
        "BadRequestError", "AuthenticationError", "PermissionDeniedError", "NotFoundError", "ConflictError",
        "UnprocessableEntityError", "RateLimitError", "InternalServerError", "InternalServerError", "APIStatusError"]


# sdk_strict: information only


def test_strict_notes_what_the_models_reject_and_never_fails():
    chat = recorded("aimock", "text", "plain-prompt", "chat")
    body = json.loads(chat.text)
    del body["created"]
    found = sdk_findings(answer_through_sdk(deviant(chat, body=body)), "sdk_strict")
    assert len(found) == 1 and found[0].verdict is Verdict.PASS and "created" in found[0].message


def test_strict_is_quiet_on_a_valid_answer():
    assert not sdk_findings(real("aimock", "text", "plain-prompt", "chat"), "sdk_strict")


# sdk_output_text


def test_output_text_fails_when_reading_it_raises():
    resp = recorded("aimock", "text", "plain-prompt", "responses")
    body = json.loads(resp.text)
    for item in body["output"]:
        for part in item.get("content") or []:
            part["text"] = 42  # not a string
    found = failing(answer_through_sdk(deviant(resp, body=body)), "sdk_output_text")
    assert len(found) == 1 and "TypeError" in found[0].message


def test_output_text_equals_the_derived_text_on_real_answers():
    for stream in (False, True):
        exchange = real("aimock", "text", "plain-prompt", "responses", stream=stream)
        assert exchange.sdk.output_text, exchange.sdk
        assert not failing(exchange, "sdk_output_text")


# sdk_stream_helper


def test_stream_helper_fails_on_a_stream_without_its_terminal_event():
    stream = recorded("aimock", "text", "plain-prompt", "responses", stream=True)
    kept = [block for block in sse_events(stream.text) if "response.completed" not in block]
    found = failing(answer_through_sdk(deviant(stream, "\n\n".join(kept) + "\n\n")), "sdk_stream_helper")
    assert len(found) == 1 and "response.completed" in found[0].message


def test_stream_helper_completes_on_real_streams():
    for api in ("chat", "responses"):
        exchange = real("aimock", "text", "plain-prompt", api, stream=True)
        assert exchange.sdk.stream.helper and exchange.sdk.stream.final
        assert not failing(exchange, "sdk_stream_helper")


def test_a_length_finish_is_sdk_behaviour_not_a_fault():
    """llama-server stops at the case's token limit (finish_reason length); the chat helper's
    get_final_completion() raises LengthFinishReasonError on that: a note, the answer is correct."""
    exchange = real("llama-server", "streaming", "text-parity", "chat", stream=True)
    assert exchange.sdk.stream.helper_error.cls == "LengthFinishReasonError"
    found = sdk_findings(exchange, "sdk_stream_helper")
    assert len(found) == 1 and found[0].verdict is Verdict.PASS and "not a fault" in found[0].message
    assert not failing(exchange, "sdk_chat_accumulation")  # the snapshot still equals the chunks


# sdk_chat_accumulation


def test_chat_accumulation_fails_when_fragments_repeat_the_call_id():
    stream = recorded("aimock", "function-calling", "forced-tool-choice", "chat", stream=True)
    blocks = []
    for block in sse_events(stream.text):
        events = parse_sse(block + "\n\n")
        data = events[0].json if events and isinstance(events[0].json, dict) else {}
        calls = ((data.get("choices") or [{}])[0].get("delta") or {}).get("tool_calls")
        for call in calls or []:
            call["id"] = "call_repeated"  # every fragment carries the id: the SDK concatenates them
        blocks.append(f"data: {json.dumps(data)}" if calls else block)
    found = failing(answer_through_sdk(deviant(stream, "\n\n".join(blocks) + "\n\n")), "sdk_chat_accumulation")
    assert len(found) == 1 and "tool_calls[0].id" in found[0].message


def test_chat_accumulation_equals_the_chunks_on_real_streams():
    for case in (("text", "plain-prompt"), ("function-calling", "forced-tool-choice")):
        assert not failing(real("aimock", *case, "chat", stream=True), "sdk_chat_accumulation")


# sdk_parse


def test_parse_fails_when_the_answer_does_not_fit_the_schema():
    chat = recorded("aimock", "structured-outputs", "json-schema-strict", "chat")
    body = json.loads(chat.text)
    content = json.loads(body["choices"][0]["message"]["content"])
    body["choices"][0]["message"]["content"] = json.dumps({**content, "answer_code": "WRONG"})  # not the enum
    exchange = answer_through_sdk(deviant(chat, body=body))
    assert exchange.sdk.method.endswith(".parse")
    found = failing(exchange, "sdk_parse")
    assert len(found) == 1 and "cannot parse" in found[0].message


@pytest.mark.parametrize("api", ["chat", "responses"])
@pytest.mark.parametrize("stream", [False, True])
def test_parse_returns_the_schemas_object_on_real_answers(api, stream):
    exchange = real("aimock", "structured-outputs", "json-schema-strict", api, stream=stream)
    assert exchange.sdk.parse_model == "Capital"
    assert exchange.sdk.parsed and exchange.sdk.parsed["answer_code"] == "ZX-42"
    assert not failing(exchange, "sdk_parse")


# every check on genuine OpenAI traffic


def known_sdk_gap(record, findings) -> bool:
    """What the SDK cannot handle in genuine OpenAI traffic, documented in README ("Gating an SDK release"):
    OpenAI's audio chat streams carry a chunk without ``choices``, on which the chat helper's accumulator
    (``for choice in chunk.choices``) crashes in every major; a recording cut short has no terminal event."""
    audio = "audio" in str((record.get("request_body") or {}).get("model", "")) or '"audio":{' in \
        str(record.get("response_body"))
    return all((f.check == "sdk_stream_helper" and audio) or "response.completed" in f.message for f in findings)


@pytest.mark.corpus
def test_genuine_openai_answers_give_no_sdk_failure():
    """A sample (every 12th) of the genuine api.openai.com answers: every SDK check holds (notes aside)."""
    records = [r for r in genuine_records() if r.get("api") in ("chat", "responses") and r.get("status")][::12]
    bad = []
    for record in records:
        exchange = answer_through_sdk(exchange_from_record(record))
        found = [f for f in sdk_findings(exchange) if f.verdict is not Verdict.PASS]
        if found and not known_sdk_gap(record, found):
            bad.append((record["source_repo"], record["index"], [f.message[:160] for f in found]))
    assert len(records) > 100 and not bad, bad[:5]


@pytest.mark.corpus
def test_the_chat_helper_crashes_on_openais_audio_stream():
    """The gap ``known_sdk_gap`` sets aside is real: a genuine gpt-audio stream crashes the chat helper."""
    records = [r for r in genuine_records() if r.get("stream") and r.get("api") == "chat"
               and '"audio":{' in str(r.get("response_body"))]
    assert records
    exchange = answer_through_sdk(exchange_from_record(records[0]))
    found = failing(exchange, "sdk_stream_helper")
    assert len(found) == 1 and known_sdk_gap(records[0], found)


def test_every_sdk_check_is_registered_and_implicit():
    from conformance.checks import CHECKS

    assert all(CHECKS[name].implicit for name in SDK_CHECKS)
    assert {name for name, check in CHECKS.items() if check.needs_sdk} == set(SDK_CHECKS)


def test_a_check_needing_the_sdk_is_not_run_on_raw_http_nor_by_the_audit(monkeypatch):
    """``needs_sdk``: on an answer the SDK did not see there is nothing to judge (no finding, the function is
    not called); the audit leaves these checks to ``--sdk``, which runs them on the SDK's own outcome."""
    from conformance.audit.judge import checks_for
    from conformance.checks import CHECKS, CheckContext, run_check

    raw = recorded("aimock", "text", "plain-prompt", "chat")
    assert raw.sdk is None

    def crashes(ctx):
        raise AssertionError("called without an SDK outcome")

    monkeypatch.setattr(CHECKS["sdk_accepts"], "fn", crashes)
    assert run_check("sdk_accepts", CheckContext("chat", {"main": raw}, "openai")) == []
    with_sdk = answer_through_sdk(raw)
    assert with_sdk.sdk is not None
    with pytest.raises(AssertionError, match="without an SDK outcome"):
        run_check("sdk_accepts", CheckContext("chat", {"main": with_sdk}, "openai"))
    for success in (True, False):
        assert not set(checks_for(success)) & set(SDK_CHECKS)
