"""The error-envelope check (conformance/checks/errors.py): every genuine OpenAI error body in the
corpus passes in every profile; envelopes seen on other servers, built here by mutating real error
bodies, fail with the right message."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from support.findings import missing_fields, only_missing
from conformance.checks import CheckContext, run_check
from conformance.transport.exchange import Exchange
from conformance.checks.findings import Verdict
from corpus import CORPUS_MISSING, corpus_available, exchange_from_record, load_corpus

pytestmark = [pytest.mark.corpus, pytest.mark.skipif(not corpus_available(), reason=CORPUS_MISSING)]

PROFILES = ("openai", "compat", "open-responses")


def real_errors() -> list[dict[str, Any]]:
    """Genuine OpenAI 4xx/5xx answers with a JSON body (every endpoint, both APIs and others)."""
    return [r for r in load_corpus() if r["status"] >= 400 and isinstance(r["response_body"], dict)]


def run(exchange: Exchange, profile: str = "openai", **params: Any):
    return run_check("error_envelope", CheckContext(api=exchange.api or "chat", exchanges={"main": exchange},
                                                    profile=profile), params)


def with_body(record: dict[str, Any], body: Any, content_type: str = "application/json") -> Exchange:
    """The record's request answered with ``body`` (a dict, or raw text) instead."""
    exchange = exchange_from_record(record)
    exchange.text = body if isinstance(body, str) else json.dumps(body)
    exchange.headers = {"content-type": content_type}
    return exchange


def edited(record: dict[str, Any], **changes: Any) -> Exchange:
    """The record's error with ``error`` keys changed (a value of ... deletes the key)."""
    body = copy.deepcopy(record["response_body"])
    for key, value in changes.items():
        if value is ...:
            body["error"].pop(key)
        else:
            body["error"][key] = value
    return with_body(record, body)


def assert_fail(failures, *words: str, missing: list[str] | None = None) -> None:
    assert len(failures) == 1 and failures[0].check == "error_envelope", failures
    assert failures[0].verdict is Verdict.FAIL
    for word in words:
        assert word in failures[0].message, failures[0].message
    if missing is not None:
        assert missing_fields(failures[0]) == missing


@pytest.fixture(scope="module")
def sample() -> dict[str, Any]:
    """A real error whose ``param`` names a request parameter."""
    return next(r for r in real_errors() if isinstance(r["response_body"]["error"].get("param"), str))


@pytest.mark.parametrize("profile", PROFILES)
def test_every_real_error_passes(profile):
    records = real_errors()
    assert len(records) > 50
    for record in records:
        assert run(exchange_from_record(record), profile) == [], record["cassette_path"]


def test_real_errors_name_their_param_and_code():
    named = [r for r in real_errors() if isinstance(r["response_body"]["error"].get("param"), str)]
    assert named
    for record in named:
        error = record["response_body"]["error"]
        top = error["param"].split(".")[0].split("[")[0]  # "messages[1].content" is about "messages"
        assert run(exchange_from_record(record), param=top, code=error["code"]) == [], record["cassette_path"]
        assert run(exchange_from_record(record), param=["not_this_one", error["param"]]) == []


def test_a_param_named_only_in_the_message_counts_as_a_whole_token(sample):
    error = sample["response_body"]["error"]
    top = error["param"].split(".")[0].split("[")[0]
    quoted = edited(sample, param=None, message=f"Unsupported parameter: '{top}' is not supported.")
    assert run(quoted, param=top) == []
    inside = edited(sample, param=None, message=f"Bad value in x{top}y and {top}_extra.")
    assert_fail(run(inside, param=top), "does not name parameter")


def test_a_wrong_param_or_code_fails_in_openai_only(sample):
    exchange = exchange_from_record(sample)
    assert_fail(run(exchange, param="a_parameter_never_named"), "does not name parameter")
    assert_fail(run(exchange, code="some_other_code"), "expected 'some_other_code'")
    for profile in ("compat", "open-responses"):
        assert run(exchange, profile, param="a_parameter_never_named", code="some_other_code") == []


@pytest.mark.parametrize("profile", PROFILES)
def test_an_integer_code_fails(sample, profile):
    # llama-server: {"error": {"code": 400, "message": ..., "type": ...}} (no param either)
    assert_fail(run(edited(sample, code=400), profile), "error.code is integer")
    failures = run(edited(sample, code=400, param=...), profile)
    assert_fail(failures, "error.param is missing", "error.code is integer", missing=["param"])
    assert only_missing(failures[0]) is False


@pytest.mark.parametrize("profile", PROFILES)
def test_missing_keys_fail_with_missing_evidence(sample, profile):
    failures = run(edited(sample, param=..., code=...), profile)  # aimock: only message and type
    assert_fail(failures, "error.param is missing", "error.code is missing", missing=["param", "code"])
    assert only_missing(failures[0]) is True
    assert_fail(run(edited(sample, message=None), profile), "error.message is null")
    assert_fail(run(edited(sample, type=...), profile), missing=["type"])


@pytest.mark.parametrize("profile", PROFILES)
def test_foreign_envelopes_fail_naming_what_was_seen(sample, profile):
    cases = [
        ({"detail": "Not Found"}, "application/json", "detail"),  # FastAPI
        ({"type": "https://stoplight.io/prism/errors#UNPROCESSABLE_ENTITY", "title": "Invalid request",
          "status": 422, "detail": "", "validation": []}, "application/problem+json", "problem+json"),  # Prism
        ({"message": "bad", "type": "invalid_request_error", "code": None}, "application/json", "flat"),
        ({"error": "model not found"}, "application/json", "error-is-str"),
        ("Internal Server Error", "text/plain", "non-JSON"),
        ("", "text/plain", "empty"),
    ]
    for body, content_type, kind in cases:
        failures = run(with_body(sample, body, content_type), profile)
        assert_fail(failures, "not the OpenAI error envelope")
        assert failures[0].evidence["envelope"] == kind


def test_content_type_is_required_in_openai_only(sample):
    html = with_body(sample, sample["response_body"], "text/html")
    assert_fail(run(html), "not application/json")
    assert run(html, "compat") == [] and run(html, "open-responses") == []


def test_success_answers_are_not_judged(sample):
    ok = with_body(sample, {"id": "x", "object": "response"})
    ok.status = 200
    assert run(ok) == []
    assert_fail(run(with_body(sample, {"detail": "boom"}, "application/json")), "detail")  # same body, 4xx: judged
