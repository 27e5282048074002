"""The ``request_params`` check (conformance/checks/request_shape.py): a create request of the other API's
shape that was accepted with 2xx. Real requests from the corpus pass; mutated ones fail."""

from __future__ import annotations

import copy

import pytest

from conformance.checks import CheckContext, run_check
from conformance.checks.findings import Verdict
from corpus import CORPUS_MISSING, corpus_available, exchange_from_record, load_corpus

pytestmark = [pytest.mark.corpus, pytest.mark.skipif(not corpus_available(), reason=CORPUS_MISSING)]


def findings(record):
    exchange = exchange_from_record(record)
    return run_check("request_params", CheckContext(api=exchange.api, exchanges={"main": exchange}, profile="openai"))


def create(api):
    """A genuine 2xx create interaction of ``api`` (a copy, to mutate)."""
    endpoint = "chat/completions" if api == "chat" else "responses"
    return copy.deepcopy(next(r for r in load_corpus(api=api) if r["status"] == 200 and r["method"] == "POST"
                              and r["endpoint"] == endpoint and isinstance(r["request_body"], dict)))


def test_real_requests_pass():
    """Every chat and Responses request in the corpus (any host, flagged or not) that got a 2xx."""
    records = [r for r in load_corpus(official=False, genuine=False) if r["api"] in ("chat", "responses")]
    flagged = [(r["cassette_path"], f[0].message) for r in records for f in [findings(r)] if f]
    assert len(records) > 2000 and flagged == []


@pytest.mark.parametrize("api, mutate, expected", [
    ("responses", lambda b: b.update(messages=[{"role": "user", "content": "hi"}]), "'messages'"),
    ("responses", lambda b: b.update(response_format={"type": "json_object"}, max_tokens=5),
     "'response_format', 'max_tokens'"),
    ("chat", lambda b: b.update(max_output_tokens=5), "'max_output_tokens'"),
    ("chat", lambda b: b.update(text={"format": {"type": "text"}}), "'text'"),
    ("responses", lambda b: b.update(tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}]),
     "tools[0] is a chat-shaped function tool"),
    ("chat", lambda b: b.update(tools=[{"type": "function", "name": "f", "parameters": {}}]),
     "tools[0] is a Responses-shaped function tool"),
    ("responses", lambda b: b.update(input=[{"role": "tool", "tool_call_id": "call_1", "content": "4"}]),
     "input[0] has role 'tool'"),
])
def test_a_request_of_the_other_api_accepted_with_200_is_ignored(api, mutate, expected):
    record = create(api)
    mutate(record["request_body"])
    (failure,) = findings(record)
    assert failure.check == "request_params" and failure.verdict == Verdict.IGNORED
    assert expected in failure.message


def test_the_same_request_rejected_with_400_is_fine():
    record = create("responses")
    record["request_body"]["messages"] = []
    record["status"], record["response_body"] = 400, {"error": {"message": "Unsupported parameter: 'messages'",
                                                                "type": "invalid_request_error",
                                                                "param": "messages", "code": "unsupported_parameter"}}
    assert findings(record) == []
