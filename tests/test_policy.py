"""The written verdict policy (conformance/verdicts/policy.py), each rule against a real local HTTP server.

The servers are scripted in code (tests/support/server.py) to answer as misbehaving servers we met do:
open-responses-server's ``200 null``, a missing key's 401, a server without the Responses route, a server
that never answers, one that streams forever, one that trickles.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from conformance.cases.loading import load_file
from conformance.cases.targets import adhoc_target
from conformance.checks import CHECKS
from conformance.checks.findings import Verdict
from conformance.run.runner import run_case
from conformance.transport.http import Limits, make_client, sender
from conformance.verdicts.policy import counted
from support.server import answer, serve, silent, streaming

CASES = textwrap.dedent("""\
    capability: demo
    title: Demo
    cases:
      - id: hello
        description: A greeting.
        claim:
          chat: {status: supported, doc: "https://example.com"}
          responses: {status: supported, doc: "https://example.com"}
        expect:
          - text_nonempty
          - {check: text_contains, value: hi}
        chat:
          request: {body: {model: m, messages: [{role: user, content: Say hi.}]}}
        responses:
          request: {body: {model: m, input: Say hi.}}
      - id: bad-input
        description: A bad input is rejected with a 4xx envelope.
        claim:
          responses: {status: supported, doc: "https://example.com"}
        expect:
          - {check: status, code: 4xx}
          - error_envelope
        responses:
          request: {body: {model: m, input: 42}}
      - id: streamed
        description: A streamed greeting.
        stream: true
        claim:
          chat: {status: supported, doc: "https://example.com"}
        expect:
          - text_nonempty
        chat:
          request: {body: {model: m, messages: [{role: user, content: Say hi.}]}}
    """)
CHAT_HI = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
           "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi there"}, "finish_reason": "stop"}],
           "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}
# a genuine 401 as OpenAI answers it (api-differences §3.7)
BAD_KEY = {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error", "param": None,
                     "code": "invalid_api_key"}}


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = tmp_path_factory.mktemp("suites") / "demo.yaml"
    path.write_text(CASES)
    found, errors = load_file(path, CHECKS)
    assert not errors
    return {case.id: case for case in found}


def run(cases: dict, case: str, api: str, routes: dict, limits: Limits = Limits(), stream: bool = False):
    with serve(routes) as (base_url, _), make_client(limits) as client:
        return run_case(cases[case], api, adhoc_target(base_url), sender(client, limits), stream=stream)


def test_a_200_null_answer_is_one_root_cause_with_its_consequences_grouped(cases):
    result = run(cases, "hello", "responses", {("POST", "/responses"): answer(200, None)})
    assert result.verdict is Verdict.FAIL
    root, *rest = result.failures
    assert root.role == "root" and root.check == "schema" and "without a JSON object body" in root.message
    assert rest and all(f.role == "follows" and f.cause == "schema" for f in rest)
    assert counted(result.failures) == [root]


def test_a_401_is_an_error_of_the_setup_naming_the_key(cases):
    result = run(cases, "hello", "chat", {("POST", "/chat/completions"): answer(401, BAD_KEY)})
    assert result.verdict is Verdict.ERROR
    assert result.failures[0].check == "status" and "--api-key-env" in result.failures[0].message


@pytest.mark.parametrize("case", ["hello", "bad-input"])
def test_a_404_because_the_api_is_absent_is_unsupported_for_every_cell(cases, case):
    # no /responses route at all: the server answers its framework's bare 404 (llama-cpp-python does)
    result = run(cases, case, "responses", {})
    assert result.verdict is Verdict.UNSUPPORTED
    assert result.failures[0].role == "root" and "no such route" in result.failures[0].message
    assert [f.check for f in counted(result.failures)] == ["status"]  # the envelope of that 404 follows from it


def test_a_404_for_an_unknown_model_is_not_an_absent_route(cases):
    unknown = {"error": {"message": "The model `m` does not exist", "type": "invalid_request_error", "param": None,
                         "code": "model_not_found"}}
    result = run(cases, "hello", "chat", {("POST", "/chat/completions"): answer(404, unknown)})
    assert result.verdict is Verdict.UNSUPPORTED and "rejected with 404" in result.failures[0].message


def test_no_answer_within_the_read_timeout_is_the_servers_failure(cases):
    started = time.monotonic()
    result = run(cases, "hello", "chat", {("POST", "/chat/completions"): silent(5)}, Limits(read=0.5, total=3))
    assert time.monotonic() - started < 3
    assert result.verdict is Verdict.FAIL and "read timeout" in result.failures[0].message


def test_a_connection_never_made_is_an_error(cases):
    with make_client() as client:
        result = run_case(cases["hello"], "chat", adhoc_target("http://127.0.0.1:9/v1"), sender(client))
    assert result.verdict is Verdict.ERROR and "no answer" in result.failures[0].message


@pytest.mark.parametrize("every", [0.01, 0.4], ids=["endless", "trickling"])
def test_an_endless_or_trickling_stream_ends_at_the_deadline_with_a_failure(cases, every):
    limits = Limits(read=5, total=1.5)
    started = time.monotonic()
    result = run(cases, "streamed", "chat", {("POST", "/chat/completions"): streaming(b"data: {}\n\n", every)},
                 limits, stream=True)
    elapsed = time.monotonic() - started
    assert elapsed < limits.total + 1.0, elapsed
    assert result.verdict is Verdict.FAIL
    assert result.failures[0].role == "root" and "within 1.5 s" in result.failures[0].message


def test_a_stream_too_large_is_cut_with_a_failure(cases):
    result = run(cases, "streamed", "chat", {("POST", "/chat/completions"): streaming(b"data: {}\n\n" * 100, 0)},
                 Limits(total=5, max_bytes=4096), stream=True)
    assert result.verdict is Verdict.FAIL and "exceeded 4,096 bytes" in result.failures[0].message


def test_a_stream_answered_to_a_plain_request_is_the_root_cause(cases):
    sse = "data: " + '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[]}' + "\n\n"
    result = run(cases, "hello", "chat", {("POST", "/chat/completions"): answer(200, sse, "text/event-stream")})
    assert result.failures[0].check == "stream_content_type" and result.failures[0].role == "root"
    assert all(f.role == "follows" for f in result.failures[1:])


def test_shape_findings_sit_beside_the_case_verdict(cases):
    odd = dict(CHAT_HI, usage={"input_tokens": 3, "output_tokens": 2, "total_tokens": 5})  # the other API's names
    result = run(cases, "hello", "chat", {("POST", "/chat/completions"): answer(200, odd)})
    assert result.verdict is Verdict.PASS and result.shape is Verdict.FAIL
    assert {f.check for f in result.failures if f.role == "shape"} >= {"usage_fields"}


def test_an_instruction_not_followed_is_ignored_like_any_absent_behaviour(cases):
    result = run(cases, "hello", "chat", {("POST", "/chat/completions"): answer(200, dict(
        CHAT_HI, choices=[{"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}]))})
    assert result.verdict is Verdict.IGNORED and result.failures[0].check == "text_contains"


def test_the_policy_is_written_in_the_readme():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for rule in ("root cause", "shape", "401", "404", "no answer within"):
        assert rule in readme, rule
