"""The cross-API check (conformance/checks/cross_api.py). Real pairs come from projects that record
the same test through both APIs (cassettes that differ only by ``_completions`` / ``_responses``);
deviant companions are built by mutating one side."""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from functools import lru_cache
from typing import Any

import pytest

from conformance.checks import CheckContext, run_check
from conformance.observations.observation import json_texts
from conformance.transport.exchange import Exchange
from conformance.observations.observation import observe
from conformance.checks.findings import Verdict
from corpus import CORPUS_MISSING, corpus_available, exchange_from_record, load_corpus

pytestmark = [pytest.mark.corpus, pytest.mark.skipif(not corpus_available(), reason=CORPUS_MISSING)]

OTHER_API = {"chat": "responses", "responses": "chat"}


@lru_cache(maxsize=1)
def pairs() -> tuple[tuple[dict[str, Any], dict[str, Any]], ...]:
    """(chat, responses) answers to the same test, matched by cassette path and position."""
    sides: dict[tuple[str, str, str], dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for record in load_corpus():
        match = re.match(r"^(.*)_(completions|responses)(/.*)$", record["cassette_path"])
        if match and record["method"] == "POST" and record["status"] == 200 and record["endpoint"] in (
                "chat/completions", "responses"):
            sides[(record["source_repo"], match.group(1), match.group(3))][record["api"]].append(record)
    out = []
    for found in sides.values():
        chat, responses = found.get("chat", []), found.get("responses", [])
        if chat and len(chat) == len(responses):
            out += zip(sorted(chat, key=lambda r: r["index"]), sorted(responses, key=lambda r: r["index"]))
    return tuple(out)


def run(mine: Exchange, other: Exchange, api: str, aspects: Any, step: str = "main", deterministic: bool = True):
    """Judge ``step`` as the runner does: it always names the judged step (the companion runs last)."""
    exchanges = {step: mine, "other." + step: other}
    ctx = CheckContext(api=api, exchanges=exchanges, deterministic=deterministic)
    return run_check("cross_api", ctx, {"aspects": aspects, "step": step})


def both_ways(chat: dict[str, Any], responses: dict[str, Any], aspects: Any) -> list:
    """Findings judging from each side (the check must be symmetric)."""
    return (run(exchange_from_record(chat), exchange_from_record(responses, "other.main"), "chat", aspects)
            + run(exchange_from_record(responses), exchange_from_record(chat, "other.main"), "responses", aspects))


def obs(record: dict[str, Any]):
    return observe(exchange_from_record(record))


def assert_mismatch(failures, *words: str, verdict: Verdict = Verdict.FAIL) -> None:
    assert len(failures) == 1 and failures[0].check == "cross_api", failures
    assert failures[0].verdict is verdict, failures[0]
    for word in words:
        assert word in failures[0].message, failures[0].message


def tool_pairs() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(c, r) for c, r in pairs() if obs(c).tool_calls and obs(r).tool_calls]


def json_pairs() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Pairs where both sides answered one JSON text under a strict json_schema request (json_object
    mode leaves the keys to the model: one real pair answers different keys)."""
    out = []
    for chat, responses in pairs():
        chat_format = chat["request_body"].get("response_format") or {}
        responses_format = (responses["request_body"].get("text") or {}).get("format") or {}
        asked = (chat_format.get("json_schema") or {}).get("strict") and responses_format.get("strict")
        if asked and not obs(chat).tool_calls and not obs(responses).tool_calls \
                and len(json_texts(obs(responses))) == 1 and obs(chat).text and "}\n{" not in obs(chat).text:
            out.append((chat, responses))
    return out


def test_real_pairs_agree_on_tools_and_finish():
    found = tool_pairs()
    assert len(found) > 10
    for chat, responses in found:
        assert both_ways(chat, responses, ["tool_names", "argument_keys", "finish"]) == [], chat["cassette_path"]


def test_real_pairs_agree_on_json_keys():
    found = json_pairs()
    assert found
    for chat, responses in found:
        assert both_ways(chat, responses, "json_keys") == [], chat["cassette_path"]


def test_text_compares_whitespace_normalised():
    chat = next(c for c, _ in json_pairs())
    responses = next(r for _, r in json_pairs())
    text = obs(chat).text
    same = copy.deepcopy(responses)
    part = next(p for i in same["response_body"]["output"] if i.get("type") == "message" for p in i["content"])
    part["text"] = "  " + text.replace(" ", "\n ") + "\n"
    assert both_ways(chat, same, "text") == []
    part["text"] = text + " (and more)"
    assert_mismatch(run(exchange_from_record(chat), exchange_from_record(same, "other.main"), "chat", "text"),
                    "text:", "chat", "responses")


def with_call(record: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of a tool answer whose first call has ``changes`` (name/arguments) applied."""
    record = copy.deepcopy(record)
    body = record["response_body"]
    if record["api"] == "chat":
        body["choices"][0]["message"]["tool_calls"][0]["function"].update(changes)
    else:
        next(i for i in body["output"] if i.get("type") == "function_call").update(changes)
    return record


def test_mismatched_tools_fail_naming_both_sides():
    chat, responses = next((c, r) for c, r in tool_pairs() if not c["stream"] and not r["stream"])
    renamed = with_call(responses, name="a_different_function")
    assert_mismatch(run(exchange_from_record(chat), exchange_from_record(renamed, "other.main"), "chat",
                        ["tool_names"]), "tool_names:", "a_different_function")
    extra = with_call(responses, arguments='{"an_extra_key": 1}')
    assert_mismatch(run(exchange_from_record(chat), exchange_from_record(extra, "other.main"), "chat",
                        "argument_keys"), "argument_keys:", "an_extra_key")
    as_object = with_call(responses, arguments={"city": "Paris"})  # llama.cpp #20198 on one side only
    assert_mismatch(run(exchange_from_record(chat), exchange_from_record(as_object, "other.main"), "chat",
                        "argument_keys"), "not a JSON object")


def test_finish_and_json_mismatches_fail():
    chat, responses = next((c, r) for c, r in json_pairs() if not c["stream"] and not r["stream"])
    cut = copy.deepcopy(responses)
    cut["response_body"].update(status="incomplete", incomplete_details={"reason": "max_output_tokens"})
    assert_mismatch(run(exchange_from_record(chat), exchange_from_record(cut, "other.main"), "chat", "finish"),
                    "finish:", "length")
    prose = copy.deepcopy(chat)
    prose["response_body"]["choices"][0]["message"]["content"] = "Here you go: " + obs(chat).text
    failures = run(exchange_from_record(responses), exchange_from_record(prose, "other.main"), "responses",
                   "json_keys")
    assert_mismatch(failures, "json_keys:", "not JSON")
    # Both sides prose: the aspect agrees (two answers without JSON); that no JSON came is json_output's finding.
    prose_too = copy.deepcopy(responses)
    for item in prose_too["response_body"]["output"]:
        for part in item.get("content") or []:
            part["text"] = "Here you go: " + part.get("text", "")
    assert run(exchange_from_record(prose), exchange_from_record(prose_too, "other.main"), "chat", "json_keys") == []


def test_companion_problems():
    chat, responses = pairs()[0]
    mine = exchange_from_record(chat)
    rejected = exchange_from_record(responses, "other.main")
    rejected.status, rejected.text = 400, '{"error": {"message": "no", "type": "invalid_request_error", ' \
                                          '"param": null, "code": null}}'
    assert_mismatch(run(mine, rejected, "chat", "finish"), "answered 400", verdict=Verdict.UNSUPPORTED)
    rejected.status = 502
    assert_mismatch(run(mine, rejected, "chat", "finish"), "answered 502")
    assert_mismatch(run(mine, exchange_from_record(responses, "other.main"), "chat", "colour"), "unknown",
                    verdict=Verdict.ERROR)
    alone = run_check("cross_api", CheckContext(api="chat", exchanges={"main": mine}), {"aspects": "finish"})
    assert_mismatch(alone, "no companion", verdict=Verdict.ERROR)
    same_api = exchange_from_record(chat, "other.main")
    assert_mismatch(run(mine, same_api, "chat", "finish"), "same API", verdict=Verdict.ERROR)


def test_the_companion_of_the_judged_step_is_preferred():
    chat, responses = next((c, r) for c, r in tool_pairs() if not c["stream"] and not r["stream"])
    renamed = exchange_from_record(with_call(responses, name="a_different_function"), "other.second")
    exchanges = {"first": exchange_from_record(chat, "first"),
                 "other.first": exchange_from_record(responses, "other.first"),
                 "second": exchange_from_record(chat, "second"), "other.second": renamed}
    ctx = CheckContext(api="chat", exchanges=exchanges)
    assert run_check("cross_api", ctx, {"aspects": "tool_names", "step": "first"}) == []
    assert_mismatch(run_check("cross_api", ctx, {"aspects": "tool_names", "step": "second"}), "a_different_function")
