"""The SDK lane end to end: committed cassettes replayed through the installed openai SDK (whichever major),
request drift reported with its diff, and an SDK exception on a deviant answer reported as a finding."""

from __future__ import annotations

import json

import pytest

from support.sdk import answer_through_sdk, deviant, recorded, replay_case, sdk_findings, sse_events

from conformance.checks.findings import Verdict
from conformance.transport import sdk
from conformance.transport.sdk_outcome import diff_bodies


def test_a_committed_cassette_replays_through_the_sdk_with_no_drift():
    result = replay_case("aimock", "text", "plain-prompt", "chat")
    assert result.verdict is Verdict.PASS, result.failures
    assert not [f for f in result.failures if f.check == "sdk_request"]


def test_a_stream_replays_through_the_helper():
    result = replay_case("aimock", "text", "plain-prompt", "responses", stream=True)
    assert result.steps and all(step["status"] == 200 for step in result.steps)
    assert not [f for f in result.failures if f.check.startswith("sdk_") and f.verdict is not Verdict.PASS]


def test_parse_replays_the_recording_made_without_stream_false():
    # chat.completions.parse() adds `stream: false`; the matcher treats it as absent, so the raw recording matches
    result = replay_case("aimock", "structured-outputs", "json-schema-strict", "chat")
    assert result.verdict is Verdict.PASS, [f.message for f in result.failures]


def test_request_drift_is_the_verdict_with_a_diff():
    """An SDK that serialises the body differently (by code: a wrapped ``_prepare_options``) misses the cassette,
    and the cell says request drift and shows the two bodies' difference, not a vague cassette miss."""

    def drift(body):
        body.pop("temperature", None)
        body["max_completion_tokens"] = str(body.get("max_completion_tokens"))
        return {**body, "stream_options": {"include_usage": True}}

    result = replay_case("aimock", "text", "plain-prompt", "chat", mutate=drift)
    root = result.failures[0]
    assert result.verdict is Verdict.FAIL
    assert root.check == "sdk_request" and root.role == "root", result.failures
    assert root.message.startswith("request drift")
    assert "dropped temperature" in root.message
    assert 'added stream_options: {"include_usage": true}' in root.message
    assert 'changed max_completion_tokens: ' in root.message and '-> "' in root.message
    assert root.evidence["diff"] and "CannotOverwrite" not in root.message
    # the status check's "no answer" (the cassette miss) follows from the drift and names it too
    status = [f for f in result.failures if f.check == "status"]
    assert status and status[0].role == "follows" and "RequestDrift" in status[0].message


def test_an_sdk_exception_on_a_deviant_answer_is_a_finding():
    """A chat stream whose second chunk is not JSON (built by code from a real recording) makes the SDK raise
    while reading it: a finding on the target, named by sdk_accepts."""
    real = recorded("aimock", "text", "plain-prompt", "chat", stream=True)
    blocks = sse_events(real.text)
    blocks[1] = "data: {not json"
    exchange = answer_through_sdk(deviant(real, "\n\n".join(blocks) + "\n\n"))
    assert exchange.sdk.exception is not None and exchange.sdk.exception.cls == "JSONDecodeError"
    found = sdk_findings(exchange, "sdk_accepts")
    assert [(f.check, f.verdict) for f in found] == [("sdk_accepts", Verdict.FAIL)]
    assert "JSONDecodeError" in found[0].message


def test_the_real_stream_gives_no_such_finding():
    exchange = answer_through_sdk(recorded("aimock", "text", "plain-prompt", "chat", stream=True))
    assert not [f for f in sdk_findings(exchange) if f.verdict is not Verdict.PASS]


def test_llama_servers_responses_stream_crashes_the_helper():
    """llama-server's Responses stream lacks output_index/content_index and a full response.created: the
    Responses stream helper crashes on it in every major (a different exception in each)."""
    exchange = answer_through_sdk(recorded("llama-server", "text", "plain-prompt", "responses", stream=True))
    found = sdk_findings(exchange, "sdk_stream_helper")
    assert [(f.check, f.verdict) for f in found] == [("sdk_stream_helper", Verdict.FAIL)], found
    assert "crashes on this stream" in found[0].message


def test_diff_bodies_names_every_difference():
    assert diff_bodies({"a": 1, "b": [1, {"c": 2}]}, {"a": "1", "b": [1, {"c": 2, "d": None}], "e": True}) == [
        'changed a: 1 -> "1"', "added b[1].d: null", "added e: true"]
    assert diff_bodies({"x": 1}, {"x": 1}) == []


def test_the_client_never_retries_and_names_its_version():
    client = sdk.make_client("http://127.0.0.1:9/v1", None)
    assert client.max_retries == 0
    assert sdk.SDK_VERSION == pytest.importorskip("openai").__version__


def test_a_refused_connection_is_a_transport_error_as_in_the_raw_lane():
    from conformance.cases.model import Step

    client = sdk.make_client("http://127.0.0.1:9/v1", None)
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    exchange = sdk.send_step(client, "http://127.0.0.1:9/v1/chat/completions", Step("main", body=body), body)
    assert exchange.status is None and exchange.transport_error.startswith("ConnectError")
    assert exchange.sdk.exception.is_a("APIConnectionError")


def test_unknown_keys_go_through_extra_body_and_reach_the_wire_unchanged():
    exchange = answer_through_sdk(deviant(recorded("aimock", "text", "plain-prompt", "chat"),
                                          body=json.loads(recorded("aimock", "text", "plain-prompt", "chat").text)))
    assert exchange.sdk.via == "typed"
    real = recorded("aimock", "cross-api-parameters", "text-object-to-chat", "chat")
    replayed = answer_through_sdk(real)
    assert "text" in replayed.sdk.extra_body
    assert replayed.sdk.sent_body == real.request_body


def test_every_committed_cassette_replays_through_the_sdk(tmp_path_factory):
    """``conformance run --client sdk`` against ``conformance run``: the same recordings answer every request the
    SDK sends (no cassette miss, no request drift), so each cell has the raw lane's verdict and findings, plus
    what the SDK checks find."""
    from support.replay import replay_once

    from conformance.checks.sdk import SDK_CHECKS
    from conformance.reports.results_file import load_results

    raw = {(r["target"], r["capability"], r["case"], r["api"], r["stream"]): r
           for r in load_results(replay_once(tmp_path_factory, "all") / "results.json").records}
    through_sdk = load_results(replay_once(tmp_path_factory, "sdk", "--client", "sdk") / "results.json").records
    assert through_sdk and {r["client"] for r in through_sdk} == {"sdk"}
    assert len(through_sdk) == len(raw)
    for record in through_sdk:
        before = raw[(record["target"], record["capability"], record["case"], record["api"], record["stream"])]
        if "not-recorded" in (record["verdict"], before["verdict"]):
            continue  # a cassette recorded between the two runs
        others = lambda r: sorted((f["check"], f.get("step")) for f in r["failures"]  # noqa: E731
                                  if f["check"] not in SDK_CHECKS and f["check"] != "status")
        assert not [f for f in record["failures"] if f["check"] == "sdk_request" and f["verdict"] != "pass"], \
            record["case"]  # (a note says the typed method refused a request and it went out generically)
        assert record["verdict"] == before["verdict"] and others(record) == others(before), \
            (record["target"], record["case"], record["api"], record["stream"], record["failures"][:3])
