"""Probes of what a server keeps (conformance/checks/state.py): each passes on real OpenAI traffic from the corpus
(a create and the later GET of the same object, from one recording) and reports the policy's verdict on
deviant answers built here from real ones."""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from functools import lru_cache
from typing import Any

import pytest

from conformance.checks import CheckContext, run_check
from conformance.checks.findings import Verdict
from conformance.checks.state import metadata_filter
from corpus import CORPUS_MISSING, assert_finding, corpus_available, exchange_from_record, load_corpus

pytestmark = [pytest.mark.corpus, pytest.mark.skipif(not corpus_available(), reason=CORPUS_MISSING)]


@lru_cache(maxsize=1)
def recordings() -> dict[tuple[str, str], list[dict[str, Any]]]:
    by: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in load_corpus():
        by[(record["source_repo"], record["cassette_path"])].append(record)
    return by


def pairs(endpoint: str, create: str, id_of) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(create, fetch) records of one recording where the 200 fetch of ``endpoint`` is about the created object."""
    found = []
    for group in recordings().values():
        created = {r["response_body"].get("id"): r for r in group if r["method"] == "POST"
                   and r["endpoint"] == create and r["status"] == 200 and isinstance(r["response_body"], dict)}
        for record in group:
            if record["endpoint"] == endpoint and record["method"] == "GET" and record["status"] == 200:
                for object_id in id_of(record):
                    if object_id in created:
                        found.append((created[object_id], record))
                        break
    return found


def path_id(marker: str):
    return lambda record: [record["url"].split(marker, 1)[1].split("/")[0].split("?")[0]]


def judge(check: str, api: str, create: dict[str, Any], fetched: dict[str, Any], **params: Any):
    exchanges = {"create": exchange_from_record(create, "create"), "fetch": exchange_from_record(fetched, "fetch")}
    return run_check(check, CheckContext(api=api, exchanges=exchanges, profile="openai"), {"of": "create", **params})


def deviant(record: dict[str, Any], change) -> dict[str, Any]:
    record = copy.deepcopy(record)
    change(record)
    return record


INPUT_ITEMS = pairs("responses/{id}/input_items", "responses", path_id("/responses/"))
MESSAGES = pairs("chat/completions/{id}/messages", "chat/completions", path_id("/chat/completions/"))
LISTS = pairs("chat/completions", "chat/completions",
              lambda record: [item.get("id") for item in record["response_body"]["data"]] if metadata_filter(record["url"]) else [])


def test_there_are_real_pairs_to_judge():
    assert len(INPUT_ITEMS) >= 40 and len(MESSAGES) >= 15 and len(LISTS) >= 3


@pytest.mark.parametrize("create, fetched", INPUT_ITEMS)
def test_input_items_listed_passes_on_real_input_items(create, fetched):
    assert judge("input_items_listed", "responses", create, fetched) == []


def test_input_items_listed_verdicts_on_deviant_answers():
    create, fetched = next((c, f) for c, f in INPUT_ITEMS if not f["response_body"].get("has_more")
                           and "after=" not in f["url"] and f["response_body"]["data"])
    emptied = deviant(fetched, lambda r: r["response_body"].update(data=[]))
    assert_finding(judge("input_items_listed", "responses", create, emptied), "input_items_listed", Verdict.IGNORED)
    not_a_list = deviant(fetched, lambda r: r["response_body"].pop("data"))
    assert_finding(judge("input_items_listed", "responses", create, not_a_list), "input_items_listed", Verdict.FAIL)
    object_id = create["response_body"]["id"]
    for status, verdict in ((404, Verdict.IGNORED), (400, Verdict.UNSUPPORTED), (500, Verdict.FAIL)):
        error = deviant(fetched, lambda r: r.update(status=status, response_body={"error": {
            "message": f"Response with id '{object_id}' not found.", "type": "invalid_request_error",
            "param": None, "code": None}}))
        assert_finding(judge("input_items_listed", "responses", create, error), "input_items_listed", verdict)


@pytest.mark.parametrize("create, fetched", MESSAGES)
def test_stored_messages_passes_on_real_stored_messages(create, fetched):
    assert judge("stored_messages", "chat", create, fetched) == []


def test_stored_messages_ignored_when_the_messages_differ():
    create, fetched = MESSAGES[0]

    def rewrite(record):
        for item in record["response_body"]["data"]:
            item["content"] = "something else"
    assert_finding(judge("stored_messages", "chat", create, deviant(fetched, rewrite)), "stored_messages",
                   Verdict.IGNORED)


@pytest.mark.parametrize("create, fetched", LISTS)
def test_stored_list_passes_on_real_filtered_lists(create, fetched):
    assert judge("stored_list", "chat", create, fetched) == []


def test_stored_list_ignored_when_the_filter_is_dropped_or_the_object_missing():
    create, fetched = LISTS[0]
    stray = {**fetched["response_body"]["data"][0], "id": "chatcmpl-other", "metadata": {}}
    unfiltered = deviant(fetched, lambda r: r["response_body"]["data"].append(stray))
    (failure,) = judge("stored_list", "chat", create, unfiltered)
    assert failure.verdict is Verdict.IGNORED and "do not match the filter" in failure.message
    object_id = create["response_body"]["id"]
    absent = deviant(fetched, lambda r: r["response_body"].update(
        data=[item for item in r["response_body"]["data"] if item["id"] != object_id]))
    (failure,) = judge("stored_list", "chat", create, absent)
    assert failure.verdict is Verdict.IGNORED and "not in the list" in failure.message


def test_metadata_filter_reads_the_query():
    assert metadata_filter("https://h/v1/chat/completions?metadata[run]=r1&limit=20") == {"run": "r1"}
    assert metadata_filter("https://h/v1/chat/completions?limit=2") == {}


def cited_answers() -> list[tuple[dict[str, Any], str]]:
    """Real non-stream Responses answers with a file citation, and the file id they cite."""
    found = []
    for record in load_corpus(api="responses", stream=False):
        text = json.dumps(record["response_body"]) if record["status"] == 200 else ""
        if record["endpoint"] == "responses" and "file_citation" in text:
            ids = [a["file_id"] for item in record["response_body"]["output"] for part in item.get("content") or []
                   for a in part.get("annotations") or [] if a.get("type") == "file_citation"]
            if ids:
                found.append((record, ids[0]))
    return found


@pytest.mark.parametrize("record, file_id", cited_answers())
def test_cites_file_passes_on_real_citations_and_is_ignored_for_another_file(record, file_id):
    """The upload step's answer is built here from the cited id (the corpus has no upload); the judged answer
    is real."""
    def judged(uploaded: str):
        upload = exchange_from_record({"method": "POST", "url": "https://api.openai.com/v1/files", "status": 200,
                                       "response_body": {"id": uploaded, "object": "file"},
                                       "response_content_type": "application/json"}, "upload")
        exchanges = {"upload": upload, "ask": exchange_from_record(record, "ask")}
        return run_check("cites_file", CheckContext(api="responses", exchanges=exchanges, profile="openai"),
                         {"of": "upload"})
    assert judged(file_id) == []
    assert_finding(judged("file-not-the-cited-one"), "cites_file", Verdict.IGNORED)
