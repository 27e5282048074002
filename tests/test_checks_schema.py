"""The implicit `schema` check: passes real OpenAI bodies, fails code-made mutants with the right evidence."""

from __future__ import annotations

import copy
import json

import pytest

from support.findings import missing_fields, only_missing
from conformance.checks import CheckContext, run_check
from conformance.api.history import first_seen_any_api
from conformance.api import contracts
from conformance.api.validation import validate_object

LATER_FIELDS = first_seen_any_api()
from conformance.transport.exchange import Exchange
from corpus import exchange_from_record, genuine_records, with_body

pytestmark = pytest.mark.corpus


def judge(exchange: Exchange, profile: str = "openai"):
    """The schema findings for one exchange."""
    return run_check("schema", CheckContext(api=exchange.api or "chat", exchanges={"main": exchange}, profile=profile))




def pick(records, endpoint, method, when=lambda body: True, stream=False):
    """The first genuine 2xx record of an endpoint whose body satisfies ``when`` (a deep copy)."""
    for record in records:
        if (record["endpoint"] == endpoint and record["method"] == method and record["stream"] == stream
                and record["status"] == 200 and (stream or when(record["response_body"]))):
            return copy.deepcopy(record)
    pytest.skip(f"no {method} {endpoint} record in the corpus")


def latest_response(records):
    """A non-stream create that passes the openai contract (it carries every field OpenAI sends today)."""
    return pick(records, "responses", "POST",
                lambda b: "cache_write_tokens" in ((b.get("usage") or {}).get("input_tokens_details") or {})
                and "moderation" in b)


# --- real traffic --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", ["openai", "compat"])
def test_real_traffic(records, profile):
    """compat: no finding at all; openai: only absent fields that OpenAI added after the recording."""
    judged = findings = 0
    for record in records:
        exchange = exchange_from_record(record)
        if exchange.api is None:
            continue
        judged += 1
        for failure in judge(exchange, profile):
            findings += 1
            assert profile == "openai", (record["cassette_path"], failure.message)
            assert failure.check == "schema"
            assert only_missing(failure) is True, failure.message
            assert set(missing_fields(failure)) <= set(LATER_FIELDS), failure.message
            assert set(failure.evidence["later"]) == set(missing_fields(failure))
    assert judged > 2000
    if profile == "openai":
        assert findings > 0


def test_latest_create_passes_openai(records):
    assert judge(exchange_from_record(latest_response(records))) == []


# --- what it judges ------------------------------------------------------------------------------------------

def test_error_bodies_and_streams_are_not_judged(records):
    record = pick(records, "responses", "POST", stream=True)
    stream = exchange_from_record(record)
    assert stream.is_sse and judge(stream) == []
    # a non-OpenAI envelope on a 4xx belongs to the error-envelope check
    error = Exchange("POST", "http://x/v1/chat/completions", status=400,
                     headers={"content-type": "application/json"}, text=json.dumps({"detail": "bad"}))
    assert judge(error) == []
    other = Exchange("GET", "http://x/v1/models", status=200, headers={"content-type": "application/json"},
                     text="{}")
    assert judge(other) == []


def test_2xx_without_json_object_fails(records):
    record = pick(records, "chat/completions", "POST")
    failures = judge(with_body(record, None)) + judge(exchange_from_record({**record, "response_body": [1, 2]}))
    assert [f.check for f in failures] == ["schema", "schema"]
    assert "without a JSON object" in failures[0].message


# --- mutants -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", ["openai", "compat"])
def test_dropped_required_field(records, profile):
    record = pick(records, "chat/completions", "POST")
    del record["response_body"]["id"]
    del record["response_body"]["choices"][0]["message"]["role"]
    [failure] = judge(with_body(record, record["response_body"]), profile)
    assert failure.check == "schema"
    # under openai the recording may also lack fields added after it was made: those are marked `later`
    assert [f for f in missing_fields(failure) if f not in failure.evidence["later"]] == ["id", "role"]
    assert only_missing(failure) is True
    assert "/choices/0/message: missing required field 'role'" in failure.message


@pytest.mark.parametrize("profile", ["openai", "compat"])
def test_wrong_types_are_not_only_missing(records, profile):
    record = latest_response(records)
    body = record["response_body"]
    body["created_at"] = "yesterday"
    del body["usage"]["total_tokens"]
    [failure] = judge(with_body(record, body), profile)
    assert only_missing(failure) is False
    assert missing_fields(failure) == ["total_tokens"]
    assert failure.message.index("/created_at") < failure.message.index("total_tokens")  # wrong values first


@pytest.mark.parametrize("profile", ["openai", "compat"])
def test_arguments_object_fails_the_contract(records, profile):
    record = pick(records, "responses", "POST", lambda b: any(i["type"] == "function_call" for i in b["output"]))
    body = record["response_body"]
    call = next(i for i in body["output"] if i["type"] == "function_call")
    call["arguments"] = json.loads(call["arguments"])
    [failure] = judge(with_body(record, body), profile)
    assert any(e["path"].endswith("/arguments") for e in failure.evidence["errors"])


BOTH, OPENAI = ("openai", "compat"), ("openai",)


@pytest.mark.parametrize("mutate, path, profiles", [
    (lambda b: b.update(status="done"), "/status", OPENAI),  # compat: the SDKs don't check the enum
    (lambda b: b["output"].append({"id": "x", "type": 5}), "/output/", BOTH),
    (lambda b: b["output"][0]["content"][0].update(text=None), "/text", BOTH),
    (lambda b: b.update(usage=None), "/usage", OPENAI),  # compat: usage is optional for the SDKs
    (lambda b: b["usage"].update(input_tokens=-1), "/usage/input_tokens", BOTH),
])
def test_response_mutants(records, mutate, path, profiles):
    record = pick(records, "responses", "POST",
                  lambda b: b["status"] == "completed" and b["output"] and b["output"][0]["type"] == "message")
    body = record["response_body"]
    mutate(body)
    for profile in profiles:
        [failure] = judge(with_body(record, body), profile)
        assert any(path in e["path"] for e in failure.evidence["errors"]), failure.message
        assert only_missing(failure) is False


def test_later_fields_are_reported_as_later(records):
    record = latest_response(records)
    body = record["response_body"]
    for field in ("moderation", "completed_at", "billing"):
        del body[field]
    [failure] = judge(with_body(record, body))
    assert only_missing(failure) is True
    assert failure.evidence["later"] == {f: LATER_FIELDS[f] for f in ("moderation", "completed_at", "billing")}
    assert judge(with_body(record, body), "compat") == []  # compat does not need them


def test_billing_only_on_non_stream_creates(records):
    record = latest_response(records)
    body = record["response_body"]
    del body["billing"]
    assert validate_object("openai", "response", body) == []  # as inside stream events
    assert [p["missing"] for p in validate_object("openai", "response.create", body)] == ["billing"]


def test_unknown_item_type_fails_openai_only(records):
    record = latest_response(records)
    body = record["response_body"]
    body["output"].append({"id": "zz_1", "type": "brand_new_item"})
    [failure] = judge(with_body(record, body))
    assert "/output/" in failure.message
    assert judge(with_body(record, body), "compat") == []


@pytest.mark.parametrize("endpoint, method, mutate, expected", [
    ("chat/completions/{id}", "DELETE", lambda b: b.update(deleted="yes"), "/deleted"),
    ("responses/{id}", "DELETE", lambda b: b.pop("deleted"), "deleted"),
    ("chat/completions", "GET", lambda b: b.update(has_more=None), "/has_more"),
    ("chat/completions", "GET", lambda b: b["data"][0].pop("choices"), "choices"),
    ("chat/completions/{id}/messages", "GET", lambda b: b.pop("data"), "data"),
    ("responses/{id}/input_items", "GET", lambda b: b["data"][0].pop("type"), "type"),
    ("chat/completions/{id}", "GET", lambda b: b.update(created="now"), "/created"),
])
def test_other_endpoint_mutants(records, endpoint, method, mutate, expected):
    record = pick(records, endpoint, method, lambda b: not isinstance(b, dict) or b.get("data") != [])
    body = record["response_body"]
    mutate(body)
    for profile in ("openai", "compat"):
        [failure] = judge(with_body(record, body), profile)
        assert failure.check == "schema"
        assert expected in failure.message


def test_validate_object_for_stream_engineers():
    problems = validate_object("openai", "response", {"id": 1})
    assert {"path": "/id", "message": "1 is not of type 'string'"} in problems
    assert all(set(p) <= {"path", "message", "missing", "role"} for p in problems)
    # the contract's x-evidence gives each absent field its role (an informational one is never a failure)
    assert {"path": "/", "message": "missing required field 'billing'", "missing": "billing",
            "role": "informational"} in validate_object("openai", "response.create", {"id": "resp_1"})
    assert {"path": "/", "message": "missing required field 'output'", "missing": "output",
            "role": "protocol"} in problems
    # the other profiles' contracts name no evidence: no role (the audit then takes any history entry)
    assert all("role" not in p for p in validate_object("compat", "response", {"id": 1}))
    with pytest.raises(contracts.ContractMissing):
        validate_object("openai", "no-such-contract", {})


@pytest.fixture(scope="module")
def records():
    return genuine_records()
