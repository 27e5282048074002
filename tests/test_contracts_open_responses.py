"""The open-responses contracts: the Open Responses spec's objects, not OpenAI's.

The reference object below is built here to satisfy the OR spec's required fields (its values are made up);
the spec itself is read at run time from ``../shared/spec/open-responses/openapi.json`` to cross-check every
required list, and the recorded corpus to report how OpenAI's own Responses bodies fare under this profile.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from datetime import datetime, timezone
from functools import lru_cache

import jsonschema
import pytest

from conformance.api import contracts
from conformance.api.endpoints import ENDPOINTS
from conformance.api.history import first_seen_any_api
from conformance.api.validation import validate_object

LATER_FIELDS = first_seen_any_api()
CONTRACTS_BY_ENDPOINT = {(e.api, e.template, e.method): e.contract for e in ENDPOINTS if e.contract}
from conformance.observations.reassembly import final_response
from conformance.transport.sse import parse_sse
from conformance.api import fastschema
from corpus import CORPUS_MISSING, SHARED, corpus_available, exchange_from_record, load_corpus

PROFILE = "open-responses"
OR_DIR = contracts.contracts_root() / PROFILE
OWN = ("response", "response.create", "usage.responses", "output_item", "error")  # OR defines these objects
OR_SPEC = SHARED / "spec" / "open-responses" / "openapi.json"


# --- a reference object, built to satisfy the OR spec ------------------------------------------------------

def _parts() -> list:
    """One content part of each OR type (a message may carry any of them)."""
    logprob = {"token": "Hi", "logprob": -0.1, "bytes": [72, 105],
               "top_logprobs": [{"token": "Hi", "logprob": -0.1, "bytes": [72, 105]}]}
    citation = {"type": "url_citation", "url": "https://example.test/", "start_index": 0, "end_index": 2,
                "title": "t"}
    return [
        {"type": "output_text", "text": "Hi", "annotations": [citation], "logprobs": [logprob]},
        {"type": "refusal", "refusal": "no"},
        {"type": "input_text", "text": "q"},
        {"type": "text", "text": "t"},
        {"type": "summary_text", "text": "s"},
        {"type": "reasoning_text", "text": "r"},
        {"type": "input_image", "image_url": None, "detail": "auto"},
        {"type": "input_file"},
        {"type": "input_video", "video_url": "https://example.test/v.mp4"},
    ]


def or_response() -> dict:
    """A completed response carrying every OR-required field, one item of each OR type, a function tool,
    a json_schema format and usage, and none of OpenAI's additions (billing, moderation, user, ...)."""
    return {
        "id": "r1", "object": "response", "created_at": 1700000000, "completed_at": 1700000001,
        "status": "completed", "incomplete_details": None, "model": "m", "previous_response_id": None,
        "instructions": None,
        "output": [
            {"type": "message", "id": "i1", "status": "completed", "role": "assistant", "content": _parts()},
            {"type": "function_call", "id": "i2", "call_id": "c1", "name": "f", "arguments": "{}",
             "status": "completed"},
            {"type": "function_call_output", "id": "i3", "call_id": "c1", "output": "42", "status": "completed"},
            {"type": "reasoning", "id": "i4", "summary": [{"type": "summary_text", "text": "s"}]},
            {"type": "compaction", "id": "i5", "encrypted_content": "x"},
        ],
        "error": None,
        "tools": [{"type": "function", "name": "f", "description": None, "parameters": {"type": "object"},
                   "strict": True}],
        "tool_choice": {"type": "allowed_tools", "tools": [{"type": "function", "name": "f"}], "mode": "auto"},
        "truncation": "disabled", "parallel_tool_calls": True,
        "text": {"format": {"type": "json_schema", "name": "s", "description": None,
                            "schema": {"type": "object"}, "strict": True}, "verbosity": "medium"},
        "top_p": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0, "top_logprobs": 0, "temperature": 1.0,
        "reasoning": {"effort": None, "summary": None},
        "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5,
                  "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}},
        "max_output_tokens": None, "max_tool_calls": None, "store": True, "background": False,
        "service_tier": "default", "metadata": {}, "safety_identifier": None, "prompt_cache_key": None,
    }


def or_failed_response() -> dict:
    """The reference response with the objects a completed one leaves null: error and incomplete_details."""
    return {**or_response(), "status": "failed", "completed_at": None,
            "error": {"code": "server_error", "message": "m"}, "incomplete_details": {"reason": "r"}}


OR_ERROR = {"error": {"type": "invalid_request", "code": None, "message": "bad", "param": None}}
REFERENCES = {"response": ("response", or_response), "failed": ("response", or_failed_response),
              "error": ("error", lambda: copy.deepcopy(OR_ERROR))}

# Where each OR schema sits in the reference objects: (OR schema name, reference, JSON path of the object).
LOCATIONS = [
    ("ResponseResource", "response", ()),
    ("IncompleteDetails", "failed", ("incomplete_details",)),
    ("Error", "failed", ("error",)),
    ("FunctionTool", "response", ("tools", 0)),
    ("AllowedToolChoice", "response", ("tool_choice",)),
    ("TextField", "response", ("text",)),
    ("JsonSchemaResponseFormat", "response", ("text", "format")),
    ("Reasoning", "response", ("reasoning",)),
    ("Usage", "response", ("usage",)),
    ("InputTokensDetails", "response", ("usage", "input_tokens_details")),
    ("OutputTokensDetails", "response", ("usage", "output_tokens_details")),
    ("Message", "response", ("output", 0)),
    ("OutputTextContent", "response", ("output", 0, "content", 0)),
    ("UrlCitationBody", "response", ("output", 0, "content", 0, "annotations", 0)),
    ("LogProb", "response", ("output", 0, "content", 0, "logprobs", 0)),
    ("TopLogProb", "response", ("output", 0, "content", 0, "logprobs", 0, "top_logprobs", 0)),
    ("RefusalContent", "response", ("output", 0, "content", 1)),
    ("InputTextContent", "response", ("output", 0, "content", 2)),
    ("TextContent", "response", ("output", 0, "content", 3)),
    ("SummaryTextContent", "response", ("output", 0, "content", 4)),
    ("ReasoningTextContent", "response", ("output", 0, "content", 5)),
    ("InputImageContent", "response", ("output", 0, "content", 6)),
    ("InputFileContent", "response", ("output", 0, "content", 7)),
    ("InputVideoContent", "response", ("output", 0, "content", 8)),
    ("FunctionCall", "response", ("output", 1)),
    ("FunctionCallOutput", "response", ("output", 2)),
    ("ReasoningBody", "response", ("output", 3)),
    ("CompactionBody", "response", ("output", 4)),
    ("ErrorPayload", "error", ("error",)),
]


def _reference(kind: str) -> dict:
    return REFERENCES[kind][1]()


def _at(obj, path):
    for key in path:
        obj = obj[key]
    return obj


@lru_cache(maxsize=1)
def _or_schemas() -> dict:
    return json.loads(OR_SPEC.read_text())["components"]["schemas"]


@pytest.fixture(scope="module")
def or_schemas():
    if not OR_SPEC.exists():
        pytest.skip(f"Open Responses spec not found at {OR_SPEC} (third-party file, not in the repository)")
    return _or_schemas()


# --- the files ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", OWN)
def test_contract_is_a_valid_2020_12_schema_with_its_own_refs(name):
    path = OR_DIR / f"{name}.json"
    schema = json.loads(path.read_text())
    assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema" and schema.get("title")
    jsonschema.Draft202012Validator.check_schema(schema)
    assert contracts.schema_path(PROFILE, name) == path
    for ref in re.findall(r'"\$ref": "([^"#]+)', path.read_text()):
        assert (OR_DIR / ref).exists(), f"{name}: {ref} must be an open-responses file, not a fallback"
    assert fastschema.checker(PROFILE, name) is not None, "the stream checks' fast path can compile it"


def test_fallback_for_what_open_responses_does_not_specify():
    # Chat Completions and the stored-object endpoints are outside OR: judged as a client needs them (compat)
    own = {p.stem for p in OR_DIR.glob("*.json")}
    assert own == set(OWN)
    for name in set(CONTRACTS_BY_ENDPOINT.values()) - own:
        assert contracts.schema_path(PROFILE, name) == contracts.contracts_root() / "compat" / f"{name}.json", name
    chat = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "hi"}}]}
    assert validate_object(PROFILE, "chat.completion", chat) == []
    openai_missing = {p.get("missing") for p in validate_object("openai", "chat.completion", chat)}
    assert {"usage", "system_fingerprint"} <= openai_missing


# --- the reference object and each required field --------------------------------------------------------

def test_reference_object_satisfies_the_contracts():
    assert validate_object(PROFILE, "response.create", or_response()) == []
    assert validate_object(PROFILE, "response", or_response()) == []
    assert validate_object(PROFILE, "error", OR_ERROR) == []
    assert validate_object(PROFILE, "response", or_failed_response()) == []


def test_reference_object_has_every_field_the_or_spec_requires(or_schemas):
    assert len(or_schemas["ResponseResource"]["required"]) == 31
    for schema, kind, path in LOCATIONS:
        present = set(_at(_reference(kind), path))
        required = set(or_schemas[schema].get("required", []))
        assert required <= present, (schema, required - present)


def test_contract_requires_exactly_what_the_or_spec_requires(or_schemas):
    ours = json.loads((OR_DIR / "response.json").read_text())["required"]
    assert sorted(ours) == sorted(or_schemas["ResponseResource"]["required"])
    usage = json.loads((OR_DIR / "usage.responses.json").read_text())["required"]
    assert sorted(usage) == sorted(or_schemas["Usage"]["required"])


def test_dropping_each_or_required_field_fails_naming_it(or_schemas):
    checked = 0
    for schema, kind, path in LOCATIONS:
        for field in or_schemas[schema].get("required", []):
            body = _reference(kind)
            del _at(body, path)[field]
            problems = validate_object(PROFILE, REFERENCES[kind][0], body)
            pointer = "/" + "/".join(str(p) for p in path)
            assert [(p["path"], p.get("missing")) for p in problems] == [(pointer, field)], (schema, field, problems)
            checked += 1
    assert checked > 60


def test_wrong_types_where_open_responses_is_stricter_than_openai():
    # OR makes the sampling settings non-nullable, enumerates reasoning effort and truncation, and types
    # instructions as a string and created_at as an integer: each fails with its path, and only there
    for field, value in [("temperature", None), ("top_p", None), ("service_tier", None), ("background", None),
                         ("truncation", None), ("instructions", [{"type": "message"}]), ("created_at", 1.5)]:
        body = {**or_response(), field: value}
        assert [p["path"] for p in validate_object(PROFILE, "response", body)] == [f"/{field}"], field
    body = or_response()
    body["reasoning"]["effort"] = "minimal"
    assert [p["path"] for p in validate_object(PROFILE, "response", body)] == ["/reasoning/effort"]
    body = or_response()
    body["output"][1]["arguments"] = {"a": 1}  # a function call's arguments are a JSON string
    assert [p["path"] for p in validate_object(PROFILE, "response", body)] == ["/output/1/arguments"]
    body = or_response()
    body["tool_choice"] = "any"
    assert [p["path"] for p in validate_object(PROFILE, "response", body)] == ["/tool_choice"]


def test_items_tools_and_parts_of_other_types_need_only_a_type():
    # OR lets implementations add their own items and hosted tools; an item still needs its id
    body = or_response()
    body["output"].append({"type": "web_search_call", "id": "w1", "status": "completed"})
    body["tools"].append({"type": "web_search"})
    body["tool_choice"] = {"type": "web_search_preview"}
    body["output"][0]["content"].append({"type": "output_image"})
    body["output"][0]["content"][0]["annotations"].append({"type": "file_citation"})
    assert validate_object(PROFILE, "response", body) == []
    del body["output"][-1]["id"]
    assert [p.get("missing") for p in validate_object(PROFILE, "response", body)] == ["id"]


def test_error_contract_rejects_the_deviant_envelopes():
    llama = {"error": {"code": 400, "message": "m", "type": "invalid_request_error"}}  # int code, no param
    problems = validate_object(PROFILE, "error", llama)
    assert {p.get("missing") for p in problems} >= {"param"} and any(p["path"] == "/error/code" for p in problems)
    assert validate_object(PROFILE, "error", {"detail": "Not Found"})[0]["missing"] == "error"


# --- OpenAI's additions are not Open Responses' ----------------------------------------------------------

def test_openai_only_fields_are_not_required():
    body = or_response()
    openai_missing = {p.get("missing") for p in validate_object("openai", "response.create", body)}
    # what OpenAI sends and OR does not define: the openai contract demands it, open-responses does not
    assert {"billing", "moderation", "prompt_cache_retention", "user", "cache_write_tokens"} <= openai_missing
    assert validate_object(PROFILE, "response.create", body) == []
    required = json.loads((OR_DIR / "response.json").read_text())["required"]
    assert not {"billing", "moderation", "prompt_cache_retention", "user", "conversation"} & set(required)


def test_fast_path_agrees_with_jsonschema_on_variants():
    fast = fastschema.checker(PROFILE, "response")
    base = or_response()
    variants = [base]
    for key in base:
        variants.append({k: v for k, v in base.items() if k != key})
        variants.append({**base, key: None})
        variants.append({**base, key: "x"})
    for index, item in enumerate(base["output"]):
        for key in item:
            body = copy.deepcopy(base)
            body["output"][index][key] = 7
            variants.append(body)
    for body in variants:
        assert fast(body) == (not contracts.errors(PROFILE, "response", body, limit=1)), body


# --- OpenAI's recorded Responses bodies under open-responses ---------------------------------------------

@lru_cache(maxsize=1)
def _corpus_responses() -> tuple:
    """(label, contract, body, month) of every official, genuine 2xx Responses body (non-stream bodies,
    and the final response of each stream)."""
    out = []
    for record in load_corpus(api="responses"):
        exchange = exchange_from_record(record)
        if not exchange.ok:
            continue
        if exchange.is_sse:
            label, name, body = "stream terminal response", "response", final_response(parse_sse(exchange.text))
        else:
            name = CONTRACTS_BY_ENDPOINT.get((exchange.api, exchange.endpoint, exchange.method))
            label, body = name, exchange.json
        if name and isinstance(body, dict):
            created = body.get("created_at")
            month = (datetime.fromtimestamp(created, timezone.utc).strftime("%Y-%m")
                     if isinstance(created, (int, float)) else None)
            out.append((label, name, body, month))
    return tuple(out)


@pytest.fixture(scope="module")
def corpus_responses():
    if not corpus_available():
        pytest.skip(CORPUS_MISSING)
    return _corpus_responses()


# Fields OR requires that OpenAI recordings may lack: the fields OpenAI added over time, plus reasoning.summary
# (absent from the 2025-03 recordings, which carried `generate_summary`).
MAY_BE_ABSENT = set(LATER_FIELDS) | {"summary"}
# Values OpenAI sends that OR's types forbid: a prompt template's instructions (a list), effort "minimal".
OPENAI_VALUES_OR_FORBIDS = {"/instructions", "/reasoning/effort"}


def _finding(problem: dict) -> str:
    """A problem as a countable kind: "missing 'field'" or "wrong value at /path" (array indexes as N)."""
    if "missing" in problem:
        return f"missing {problem['missing']!r}"
    return "wrong value at " + re.sub(r"/\d+", "/N", problem["path"])


@pytest.mark.corpus
def test_report_openai_bodies_under_open_responses(corpus_responses):
    per, failing, recent = Counter(), Counter(), Counter()
    findings: dict[str, Counter] = {}  # "missing 'field'" / "wrong value at /path" -> {label: bodies}
    for label, name, body, month in corpus_responses:
        per[label] += 1
        problems = validate_object(PROFILE, name, body)
        failing[label] += bool(problems)
        if month and month >= "2026-03":
            recent[label, bool(problems)] += 1
        kinds = {_finding(problem) for problem in problems}
        for kind in kinds:
            findings.setdefault(kind, Counter())[label] += 1
    print(f"\nOpenAI Responses bodies under {PROFILE} (official, genuine):")
    for label in sorted(per):
        print(f"  {label}: {per[label]} bodies, {failing[label]} with findings "
              f"(dated since 2026-03: {recent[label, False]} pass, {recent[label, True]} with findings)")
    for kind, counts in sorted(findings.items()):
        print(f"  {kind}: " + ", ".join(f"{label} {count}" for label, count in sorted(counts.items())))
    assert per["response.create"] > 400 and per["stream terminal response"] > 100
    # OpenAI's bodies fail only for a field OpenAI added later, or for one of the two known OR-forbidden values
    absent = {kind.split("'")[1] for kind in findings if kind.startswith("missing")}
    assert absent <= MAY_BE_ABSENT, absent - MAY_BE_ABSENT
    assert {kind.split(" at ")[1] for kind in findings if kind.startswith("wrong")} <= OPENAI_VALUES_OR_FORBIDS
    assert sum(failing.values()) > 0  # old recordings lack fields OR requires: the contract does require them
    assert sum(recent[label, True] for label in per) == 0 and sum(recent[label, False] for label in per) > 0


@pytest.mark.corpus
def test_latest_openai_creates_pass_open_responses(corpus_responses):
    # creates recorded since cache_write_tokens appeared (2026-07) carry every field OR requires
    latest = [body for label, _, body, _ in corpus_responses if label == "response.create"
              and "cache_write_tokens" in ((body.get("usage") or {}).get("input_tokens_details") or {})]
    assert latest
    assert [validate_object(PROFILE, "response.create", body) for body in latest] == [[]] * len(latest)
