"""The documented-shape checks: pass on real OpenAI traffic, fail on code-made mutants with the right check name."""

from __future__ import annotations

import copy
import json

import pytest

from support.findings import missing_fields, only_missing as absence_only
from conformance.checks import CHECKS, CheckContext, implicit_checks, run_check
from conformance.transport.exchange import Exchange
from corpus import exchange_from_record, genuine_records, with_body

pytestmark = pytest.mark.corpus

SHAPE_CHECKS = ["object_value", "id_prefix", "output_container", "usage_fields", "arguments_string",
                "output_text_derived"]


def judge(name: str, exchange: Exchange, profile: str = "openai"):
    """One check's findings on one exchange."""
    ctx = CheckContext(api=exchange.api or "chat", exchanges={"main": exchange}, profile=profile)
    return run_check(name, ctx)




def pick(records, endpoint, method="POST", when=lambda body: True, stream=False):
    """A deep copy of the first genuine 200 record of an endpoint whose body satisfies ``when``."""
    for record in records:
        if (record["endpoint"] == endpoint and record["method"] == method and record["stream"] == stream
                and record["status"] == 200 and when(record["response_body"])):
            return copy.deepcopy(record)
    pytest.skip(f"no {method} {endpoint} record in the corpus")


def has_chat_tool_call(body):
    return any(c["message"].get("tool_calls") for c in body["choices"])


def has_function_call(body):
    return any(i["type"] == "function_call" and i["status"] == "completed" for i in body["output"])


def has_message(body):
    return body["status"] == "completed" and any(i["type"] == "message" for i in body["output"])


def test_checks_are_registered_implicit():
    assert set(SHAPE_CHECKS) <= set(implicit_checks())
    assert all(CHECKS[name].needs_success for name in SHAPE_CHECKS)
    assert CHECKS["schema"].implicit and not CHECKS["schema"].needs_success


# --- real traffic --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_findings(records):
    """Every shape finding on the official, genuine corpus, per (profile, check), and how many answers ran."""
    found: dict[tuple[str, str], list] = {}
    judged = 0
    for record in records:
        exchange = exchange_from_record(record)
        if exchange.api is None:
            continue
        judged += 1
        for profile in ("openai", "compat"):
            ctx = CheckContext(api=exchange.api, exchanges={"main": exchange}, profile=profile)
            for name in SHAPE_CHECKS:
                for failure in run_check(name, ctx):
                    found.setdefault((profile, name), []).append((record["cassette_path"], failure.message))
    return found, judged


@pytest.mark.parametrize("name", SHAPE_CHECKS)
@pytest.mark.parametrize("profile", ["openai", "compat"])
def test_real_traffic_passes(real_findings, profile, name):
    found, judged = real_findings
    assert judged > 2000
    assert found.get((profile, name), []) == []


# --- object_value --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint, method, wrong", [
    ("chat/completions", "POST", "chat.completion.chunk"),
    ("responses", "POST", "chat.completion"),
    ("chat/completions/{id}", "DELETE", "response.deleted"),
    ("responses/{id}", "DELETE", "chat.completion.deleted"),
    ("responses/{id}/input_items", "GET", "page"),
    ("chat/completions", "GET", "chat.completion"),
])
def test_object_value_wrong(records, endpoint, method, wrong):
    record = pick(records, endpoint, method)
    record["response_body"]["object"] = wrong
    for profile in ("openai", "compat"):
        [failure] = judge("object_value", with_body(record, record["response_body"]), profile)
        assert failure.check == "object_value"
        assert repr(wrong) in failure.message
        assert absence_only(failure) is False


def test_object_value_missing(records):
    record = pick(records, "responses", "POST")
    del record["response_body"]["object"]
    [failure] = judge("object_value", with_body(record, record["response_body"]))
    assert failure.evidence == {"expected": "response"}
    assert missing_fields(failure) == ["object"] and absence_only(failure)


def test_object_value_skips_streams_and_errors(records):
    stream = exchange_from_record(pick(records, "chat/completions", stream=True))
    assert judge("object_value", stream) == []
    error = Exchange("POST", "http://x/v1/responses", status=400, headers={"content-type": "application/json"},
                     text=json.dumps({"object": "nope"}))
    assert judge("object_value", error) == []


# --- id_prefix -----------------------------------------------------------------------------------------------

def _rename(value: str, old: str, new: str) -> str:
    assert value.startswith(old)
    return new + value[len(old):]


@pytest.mark.parametrize("mutate, fragment", [
    (lambda b: b.update(id=_rename(b["id"], "chatcmpl-", "chatcmpl_")), "'chatcmpl-'"),
    (lambda b: [c.update(id="tool-1") for ch in b["choices"] for c in ch["message"].get("tool_calls") or []],
     "tool_calls[0].id"),
])
def test_id_prefix_chat(records, mutate, fragment):
    record = pick(records, "chat/completions", when=has_chat_tool_call)
    mutate(record["response_body"])
    exchange = with_body(record, record["response_body"])
    [failure] = judge("id_prefix", exchange, "openai")
    assert failure.check == "id_prefix" and fragment in failure.message
    assert judge("id_prefix", exchange, "compat") == []  # prefixes are informational outside openai


@pytest.mark.parametrize("mutate, fragment", [
    (lambda b: b.update(id=_rename(b["id"], "resp_", "resp-")), "'resp_'"),
    (lambda b: [i.update(id=_rename(i["id"], "fc_", "fc-")) for i in b["output"] if i["type"] == "function_call"],
     "(function_call) id"),
    (lambda b: [i.update(call_id="toolu_1") for i in b["output"] if i["type"] == "function_call"],
     "(function_call) call_id"),
])
def test_id_prefix_responses(records, mutate, fragment):
    record = pick(records, "responses", when=has_function_call)
    mutate(record["response_body"])
    exchange = with_body(record, record["response_body"])
    [failure] = judge("id_prefix", exchange, "openai")
    assert fragment in failure.message
    assert judge("id_prefix", exchange, "compat") == []
    assert judge("id_prefix", exchange, "open-responses") == []


def test_id_prefix_message_item_and_lists(records):
    record = pick(records, "responses", when=has_message)
    for item in record["response_body"]["output"]:
        if item["type"] == "message":
            item["id"] = _rename(item["id"], "msg_", "msg-")
    [failure] = judge("id_prefix", with_body(record, record["response_body"]))
    assert "(message) id" in failure.message
    listing = pick(records, "chat/completions", "GET", when=lambda b: b["data"])
    listing["response_body"]["data"][0]["id"] = "cmpl-1"
    [failure] = judge("id_prefix", with_body(listing, listing["response_body"]))
    assert "data[0].id 'cmpl-1'" in failure.message


def test_id_prefix_on_streams(records):
    # the ids of a stream come from its chunks: a hyphen-less chat id is caught through the reassembled object
    record = pick(records, "chat/completions", stream=True)
    exchange = exchange_from_record(record)
    assert judge("id_prefix", exchange) == []
    record["response_body"] = record["response_body"].replace('"chatcmpl-', '"cmpl-')
    [failure] = judge("id_prefix", exchange_from_record(record))
    assert "lacks 'chatcmpl-'" in failure.message


# --- output_container ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint, mutate, fragment, only_missing", [
    ("chat/completions", lambda b: b.update(output=[]), "has `output`", False),
    ("chat/completions", lambda b: b.pop("choices"), "no `choices`", True),
    ("chat/completions", lambda b: b.update(choices={"0": {}}), "not a list", False),
    ("responses", lambda b: b.update(choices=[]), "has `choices`", False),
    ("responses", lambda b: b.pop("output"), "no `output`", True),
    ("responses", lambda b: b["output"].append({"text": "hi"}), "without a string `type`", False),
])
def test_output_container(records, endpoint, mutate, fragment, only_missing):
    record = pick(records, endpoint)
    mutate(record["response_body"])
    for profile in ("openai", "compat"):
        [failure] = judge("output_container", with_body(record, record["response_body"]), profile)
        assert failure.check == "output_container" and fragment in failure.message
        assert absence_only(failure) is only_missing


# --- usage_fields --------------------------------------------------------------------------------------------

def test_usage_other_api_names(records):
    response = pick(records, "responses", when=has_message)
    response["response_body"]["usage"] = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    chat = pick(records, "chat/completions")
    chat["response_body"]["usage"] = {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}
    for record, names in ((response, "prompt_tokens"), (chat, "input_tokens")):
        for profile in ("openai", "compat"):
            [failure] = judge("usage_fields", with_body(record, record["response_body"]), profile)
            assert failure.check == "usage_fields"
            assert "other API's names" in failure.message and names in failure.message
            assert absence_only(failure) is False


@pytest.mark.parametrize("endpoint, mutate, fragment", [
    ("chat/completions", lambda u: u.update(total_tokens=u["total_tokens"] + 1), "total_tokens"),
    ("responses", lambda u: u.update(total_tokens=u["total_tokens"] + 1), "total_tokens"),
    ("responses", lambda u: u["output_tokens_details"].update(reasoning_tokens=u["output_tokens"] + 1),
     "reasoning_tokens"),
    ("chat/completions", lambda u: u["completion_tokens_details"].update(reasoning_tokens=u["completion_tokens"] + 1),
     "reasoning_tokens"),
    ("responses", lambda u: u.pop("output_tokens"), "missing ['output_tokens']"),
])
def test_usage_arithmetic(records, endpoint, mutate, fragment):
    record = pick(records, endpoint, when=lambda b: isinstance(b.get("usage"), dict)
                  and ("completion_tokens_details" in b["usage"] or endpoint == "responses"))
    mutate(record["response_body"]["usage"])
    [failure] = judge("usage_fields", with_body(record, record["response_body"]))
    assert failure.check == "usage_fields" and fragment in failure.message


def test_usage_fields_on_a_stream(records):
    record = pick(records, "responses", stream=True)
    record["response_body"] = record["response_body"].replace('"input_tokens":', '"prompt_tokens":')
    [failure] = judge("usage_fields", exchange_from_record(record))
    assert "other API's names ['prompt_tokens']" in failure.message


# --- arguments_string ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("to_wire, fragment", [
    (json.loads, "is an object, not a string"),
    (lambda a: a[:-1], "is not JSON"),
    (lambda a: "[" + a + "]", "JSON list, not an object"),
])
def test_arguments_chat(records, to_wire, fragment):
    record = pick(records, "chat/completions", when=lambda b: has_chat_tool_call(b)
                  and b["choices"][0]["finish_reason"] != "length")
    call = record["response_body"]["choices"][0]["message"]["tool_calls"][0]
    call["function"]["arguments"] = to_wire(call["function"]["arguments"])
    for profile in ("openai", "compat"):
        [failure] = judge("arguments_string", with_body(record, record["response_body"]), profile)
        assert failure.check == "arguments_string" and fragment in failure.message


def test_arguments_responses_object(records):
    record = pick(records, "responses", when=has_function_call)
    call = next(i for i in record["response_body"]["output"] if i["type"] == "function_call")
    call["arguments"] = json.loads(call["arguments"])
    [failure] = judge("arguments_string", with_body(record, record["response_body"]))
    assert "function_call" in failure.message and "an object" in failure.message
    # a call cut short may carry truncated arguments: not judged
    call["status"] = "incomplete"
    assert judge("arguments_string", with_body(record, record["response_body"])) == []


def test_arguments_in_a_responses_stream(records):
    record = pick(records, "responses", stream=True, when=lambda text: '"type":"function_call"' in text
                  and '"arguments":"' in text)
    lines = []
    for line in record["response_body"].split("\n"):
        if line.startswith("data: ") and '"type":"response.completed"' in line:
            event = json.loads(line[6:])
            for item in event["response"]["output"]:
                if item["type"] == "function_call":
                    item["arguments"] = json.loads(item["arguments"])
            line = "data: " + json.dumps(event)
        lines.append(line)
    record["response_body"] = "\n".join(lines)
    [failure] = judge("arguments_string", exchange_from_record(record))
    assert "an object" in failure.message


# --- output_text_derived -------------------------------------------------------------------------------------

def test_output_text_derived(records):
    record = pick(records, "responses", when=has_message)
    body = record["response_body"]
    derived = "".join(p["text"] for i in body["output"] if i["type"] == "message" for p in i["content"]
                      if p["type"] == "output_text")
    body["output_text"] = derived
    assert judge("output_text_derived", with_body(record, body)) == []  # right value: fine
    body["output_text"] = derived + " (edited)"
    [failure] = judge("output_text_derived", with_body(record, body), "compat")
    assert failure.check == "output_text_derived" and "differs" in failure.message
    body["output_text"] = ["not", "a", "string"]
    [failure] = judge("output_text_derived", with_body(record, body))
    assert "not a string" in failure.message


def test_output_text_absent_or_chat_is_not_judged(records):
    record = pick(records, "responses", when=has_message)
    assert "output_text" not in record["response_body"]  # OpenAI never sends it
    assert judge("output_text_derived", exchange_from_record(record)) == []
    chat = pick(records, "chat/completions")
    chat["response_body"]["output_text"] = "x"
    assert judge("output_text_derived", with_body(chat, chat["response_body"])) == []


@pytest.fixture(scope="module")
def records():
    return genuine_records()
