"""Output probes (conformance/checks/outputs.py): each passes on real OpenAI answers from the corpus
(refusals, built-in tool items, chat audio, citations) and reports the right verdict on deviant
answers built here by mutating real ones."""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any, Callable

import pytest

from support.findings import missing_fields, only_missing
from conformance.checks import CheckContext, run_check
from conformance.transport.exchange import Exchange
from conformance.observations.observation import result_object
from conformance.checks.findings import Verdict
from corpus import CORPUS_MISSING, assert_finding, corpus_available, exchange_from_record, load_corpus

pytestmark = [pytest.mark.corpus, pytest.mark.skipif(not corpus_available(), reason=CORPUS_MISSING)]

CREATE = {"chat": "chat/completions", "responses": "responses"}


# ---------------------------------------------------------------- helpers


def run(check_name: str, exchange: Exchange, api: str, /, **params: Any):
    """Run a check on one exchange."""
    return run_check(check_name, CheckContext(api=api, exchanges={"main": exchange}, profile="openai"), params)



@lru_cache(maxsize=None)
def answers(api: str) -> tuple[tuple[dict[str, Any], Exchange, dict[str, Any]], ...]:
    """(record, Exchange, result object) of genuine 200 create answers of ``api``, streams reassembled."""
    out = []
    for record in load_corpus(api=api):
        if record["method"] == "POST" and record["endpoint"] == CREATE[api] and record["status"] == 200:
            exchange = exchange_from_record(record)
            body = result_object(exchange)
            if isinstance(body, dict):
                out.append((record, exchange, body))
    return tuple(out)


def mutate(record: dict[str, Any], change: Callable[[dict[str, Any]], Any]) -> Exchange:
    """An Exchange of a deep copy of a non-stream ``record`` whose body ``change`` edited in place."""
    assert not record["stream"]
    record = copy.deepcopy(record)
    change(record["response_body"])
    return exchange_from_record(record)


def message(body: dict[str, Any]) -> dict[str, Any]:
    return body["choices"][0]["message"]


def parts(body: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The content parts of ``kind`` in a Responses body's message items."""
    return [part for item in body.get("output") or [] if item.get("type") == "message"
            for part in item.get("content") or [] if isinstance(part, dict) and part.get("type") == kind]


def text_answers(api: str) -> list[dict[str, Any]]:
    """Non-stream answers with text and nothing else of interest here (no refusal, no annotation)."""
    out = []
    for record, _, body in answers(api):
        if record["stream"]:
            continue
        if api == "chat":
            msg = message(body)
            if isinstance(msg.get("content"), str) and msg["content"].strip() and not msg.get("refusal") \
                    and not msg.get("annotations") and not msg.get("audio"):
                out.append(record)
        elif parts(body, "output_text") and not parts(body, "refusal") \
                and not any(p.get("annotations") for p in parts(body, "output_text")):
            out.append(record)
    return out


# ---------------------------------------------------------------- refusal


def refusals(api: str) -> list[tuple[dict[str, Any], Exchange]]:
    """Real refusals: chat ``message.refusal`` strings, Responses ``refusal`` parts."""
    if api == "chat":
        return [(r, e) for r, e, b in answers(api) if isinstance(message(b).get("refusal"), str)]
    return [(r, e) for r, e, b in answers(api) if parts(b, "refusal")]


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_refusal_passes_on_real_refusals(api):
    found = refusals(api)
    assert found, "the corpus has refusals"
    assert any(r["stream"] for r, _ in found) and any(not r["stream"] for r, _ in found)
    for record, exchange in found:
        assert run("refusal", exchange, api) == [], record["cassette_path"]


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_refusal_compliance_is_ignored(api):
    # A model that complies is not an API failure: the refusal shape was simply not exercised.
    for record in text_answers(api)[:20]:
        failures = run("refusal", exchange_from_record(record), api)
        assert_finding(failures, "refusal", Verdict.IGNORED)
        assert "not exercised" in failures[0].message


def test_refusal_fails_when_a_chat_refusal_is_malformed():
    record = next(r for r, _ in refusals("chat") if not r["stream"])
    not_text = mutate(record, lambda b: message(b).update(refusal={"reason": "unsafe"}))
    assert_finding(run("refusal", not_text, "chat"), "refusal", Verdict.FAIL)
    both = mutate(record, lambda b: message(b).update(content="Here are the steps: ..."))
    failures = run("refusal", both, "chat")
    assert_finding(failures, "refusal", Verdict.FAIL)
    assert "content" in failures[0].message
    for blank in (None, ""):  # null, or a blank string in its place: no refusal, the model complied
        assert_finding(run("refusal", mutate(record, lambda b: message(b).update(refusal=blank)), "chat"),
                       "refusal", Verdict.IGNORED)


def test_refusal_fails_when_a_responses_refusal_part_is_malformed():
    record = next(r for r, _ in refusals("responses") if not r["stream"])

    def edit(change: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], None]:
        return lambda body: change(parts(body, "refusal")[0])

    no_text = mutate(record, edit(lambda part: part.pop("refusal")))
    assert_finding(run("refusal", no_text, "responses"), "refusal", Verdict.FAIL, missing=["refusal"])
    for wrong in (42, "", None):
        failures = run("refusal", mutate(record, edit(lambda part: part.update(refusal=wrong))), "responses")
        assert_finding(failures, "refusal", Verdict.FAIL)
        assert only_missing(failures[0]) is False
    with_text = mutate(record, edit(lambda part: part.update(text="Sure, step one...")))
    assert_finding(run("refusal", with_text, "responses"), "refusal", Verdict.FAIL)

    def beside_text(body):
        item = next(i for i in body["output"] if i.get("type") == "message")
        item["content"].append({"type": "output_text", "text": "Sure, step one...", "annotations": []})

    failures = run("refusal", mutate(record, beside_text), "responses")
    assert_finding(failures, "refusal", Verdict.FAIL)
    assert "output_text" in failures[0].message

    def as_text(body):  # the refusal turned into ordinary text (a bridge that drops the part type)
        part = parts(body, "refusal")[0]
        part.clear()
        part.update(type="output_text", text="I can't help with that.", annotations=[])

    assert_finding(run("refusal", mutate(record, as_text), "responses"), "refusal", Verdict.IGNORED)


# ---------------------------------------------------------------- output_item


def tool_items() -> list[tuple[dict[str, Any], Exchange, str]]:
    """(record, Exchange, item type) of real answers holding a built-in tool call item."""
    kinds = ("web_search_call", "code_interpreter_call", "file_search_call")
    out = []
    for record, exchange, body in answers("responses"):
        for kind in {item.get("type") for item in body.get("output") or []} & set(kinds):
            out.append((record, exchange, kind))
    return out


def test_output_item_passes_on_real_builtin_tool_items():
    found = tool_items()
    assert {"web_search_call", "code_interpreter_call"} <= {kind for _, _, kind in found}
    for record, exchange, kind in found:
        assert run("output_item", exchange, "responses", type=kind) == [], record["cassette_path"]


def test_output_item_ignored_when_the_tool_did_not_run():
    record, _, kind = next(f for f in tool_items() if not f[0]["stream"])
    dropped = mutate(record, lambda b: b.update(output=[i for i in b["output"] if i.get("type") != kind]))
    failures = run("output_item", dropped, "responses", type=kind)
    assert_finding(failures, "output_item", Verdict.IGNORED)
    assert kind in failures[0].message
    assert_finding(run("output_item", exchange_from_record(text_answers("responses")[0]), "responses",
                       type="web_search_call"), "output_item", Verdict.IGNORED)
    assert run("output_item", exchange_from_record(text_answers("chat")[0]), "chat", type=kind) == []  # Responses only


# ---------------------------------------------------------------- chat_audio


def audio_answers() -> list[tuple[dict[str, Any], Exchange]]:
    return [(r, e) for r, e, b in answers("chat") if isinstance(message(b).get("audio"), dict)]


def test_chat_audio_passes_on_real_audio():
    found = audio_answers()
    assert found and any(r["stream"] for r, _ in found) and any(not r["stream"] for r, _ in found)
    for record, exchange in found:
        assert run("chat_audio", exchange, "chat") == [], record["cassette_path"]


def test_chat_audio_verdicts_on_deviant_audio():
    record = next(r for r, _ in audio_answers() if not r["stream"])
    text_only = mutate(record, lambda b: message(b).pop("audio"))
    assert_finding(run("chat_audio", text_only, "chat"), "chat_audio", Verdict.IGNORED)
    no_transcript = mutate(record, lambda b: message(b)["audio"].pop("transcript"))
    failures = run("chat_audio", no_transcript, "chat")
    assert_finding(failures, "chat_audio", Verdict.FAIL, missing=["transcript"])
    not_base64 = mutate(record, lambda b: message(b)["audio"].update(data="this is not base64!"))
    assert_finding(run("chat_audio", not_base64, "chat"), "chat_audio", Verdict.FAIL)
    assert run("chat_audio", exchange_from_record(text_answers("responses")[0]), "responses") == []  # chat only


# ---------------------------------------------------------------- annotations


def cited(api: str, kind: str = "url_citation") -> list[tuple[dict[str, Any], Exchange]]:
    """Real answers whose text carries an annotation of ``kind``."""
    out = []
    for record, exchange, body in answers(api):
        if api == "chat":
            found = [a for a in message(body).get("annotations") or [] if a.get("type") == kind]
        else:
            found = [a for p in parts(body, "output_text") for a in p.get("annotations") or [] if a.get("type") == kind]
        if found:
            out.append((record, exchange))
    return out


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_annotations_pass_on_real_url_citations(api):
    found = cited(api)
    assert found, "the corpus has url_citation annotations (chat nested, Responses flat)"
    for record, exchange in found:
        assert run("annotations", exchange, api) == [], record["cassette_path"]
        assert run("annotations", exchange, api, type="url_citation") == []


@pytest.mark.parametrize("kind", ["file_citation", "container_file_citation"])
def test_annotations_pass_on_real_file_citations(kind):
    found = cited("responses", kind)
    assert found
    for record, exchange in found:
        assert run("annotations", exchange, "responses", type=kind) == [], record["cassette_path"]


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_annotations_ignored_without_sources(api):
    for record in text_answers(api)[:20]:
        failures = run("annotations", exchange_from_record(record), api)
        assert_finding(failures, "annotations", Verdict.IGNORED)
    record = next(r for r, _ in cited(api) if not r["stream"])

    def strip(body):
        if api == "chat":
            message(body)["annotations"] = []
        else:
            for part in parts(body, "output_text"):
                part["annotations"] = []

    assert_finding(run("annotations", mutate(record, strip), api), "annotations", Verdict.IGNORED)


def first_citation(api: str, body: dict[str, Any]) -> dict[str, Any]:
    """The first url_citation annotation of a body, as it sits on the wire."""
    if api == "chat":
        return next(a for a in message(body)["annotations"] if a["type"] == "url_citation")
    return next(a for p in parts(body, "output_text") for a in p.get("annotations") or []
                if a["type"] == "url_citation")


def test_annotations_fail_on_malformed_chat_citations():
    record = next(r for r, _ in cited("chat") if not r["stream"])

    def flat(body):  # the Responses shape on chat (a bridge that forgot to nest)
        annotation = first_citation("chat", body)
        annotation.update(annotation.pop("url_citation"))

    failures = run("annotations", mutate(record, flat), "chat")
    assert_finding(failures, "annotations", Verdict.FAIL, missing=["url_citation"])
    assert "flat" in failures[0].message
    no_url = mutate(record, lambda b: first_citation("chat", b)["url_citation"].pop("url"))
    failures = run("annotations", no_url, "chat")
    assert_finding(failures, "annotations", Verdict.FAIL, missing=["url"])
    assert only_missing(failures[0]) is True
    not_object = mutate(record, lambda b: first_citation("chat", b).update(url_citation="https://example.com"))
    assert_finding(run("annotations", not_object, "chat"), "annotations", Verdict.FAIL)
    not_list = mutate(record, lambda b: message(b).update(annotations={"type": "url_citation"}))
    assert_finding(run("annotations", not_list, "chat"), "annotations", Verdict.FAIL)


def test_annotations_fail_on_malformed_responses_citations():
    record = next(r for r, _ in cited("responses") if not r["stream"])
    url_number = mutate(record, lambda b: first_citation("responses", b).update(url=123))
    failures = run("annotations", url_number, "responses")
    assert_finding(failures, "annotations", Verdict.FAIL)
    assert only_missing(failures[0]) is False

    def nested(body):  # the chat shape on Responses
        annotation = first_citation("responses", body)
        fields = {k: annotation.pop(k) for k in ("url", "title", "start_index", "end_index")}
        annotation["url_citation"] = fields

    failures = run("annotations", mutate(record, nested), "responses")
    assert_finding(failures, "annotations", Verdict.FAIL, missing=["end_index", "start_index", "title", "url"])
    past_end = mutate(record, lambda b: first_citation("responses", b).update(start_index=0, end_index=10 ** 6))
    failures = run("annotations", past_end, "responses")
    assert_finding(failures, "annotations", Verdict.FAIL)
    assert "outside" in failures[0].message
    backwards = mutate(record, lambda b: first_citation("responses", b).update(start_index=5, end_index=2))
    assert_finding(run("annotations", backwards, "responses"), "annotations", Verdict.FAIL)
    untyped = mutate(record, lambda b: first_citation("responses", b).pop("type"))
    assert_finding(run("annotations", untyped, "responses"), "annotations", Verdict.FAIL)
