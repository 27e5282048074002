"""``conformance audit`` end to end on cassettes built by code from ../shared/corpus.

Genuine OpenAI interactions (api.openai.com, not flagged synthetic) must come out
pass or stale, essentially never fail; mutants of real interactions must fail
with the check that owns the rule they break. Cassettes are written to temporary
directories only, in every body encoding the loader accepts.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Callable

import jsonschema
import pytest

from conformance.api.endpoints import ENDPOINTS

AUDITED = {(e.method, e.template) for e in ENDPOINTS if e.audited}
from conformance.audit.main import main
from support.cassettes import STYLES, from_corpus_record, write_cassette
from conformance.transport.sse import parse_sse
from corpus import CORPUS_MISSING, corpus_available, load_corpus

pytestmark = [pytest.mark.corpus, pytest.mark.skipif(not corpus_available(), reason=CORPUS_MISSING)]

REPORT_SCHEMA = Path(__file__).resolve().parents[1] / "conformance" / "specs" / "audit-report.schema.json"
CHUNK = 150  # interactions per generated cassette
MAX_FAIL_RATE = 0.005  # "essentially never": at most 1 genuine interaction in 200


def _audit(directory: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    report = directory.parent / f"{directory.name}.report.json"
    status = main([str(directory), "--json", str(report), *extra])
    return status, json.loads(report.read_text())


@pytest.fixture(scope="module")
def genuine(tmp_path_factory) -> tuple[int, dict[str, Any], dict[tuple[str, int], dict[str, Any]]]:
    """Every genuine official interaction, in cassettes grouped by project, audited once."""
    directory = tmp_path_factory.mktemp("genuine") / "cassettes"
    by_repo: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in load_corpus():  # official api.openai.com, not flagged as synthetic
        by_repo[record["source_repo"]].append(record)
    written: dict[tuple[str, int], dict[str, Any]] = {}
    count = 0
    for repo, records in sorted(by_repo.items()):
        for start in range(0, len(records), CHUNK):
            chunk = records[start:start + CHUNK]
            suffix = ".yaml.gz" if count % 3 == 2 else ".yaml"
            path = directory / repo.replace("/", "__") / f"part{start // CHUNK:03d}{suffix}"
            styled = [from_corpus_record(r, STYLES[(count + i) % len(STYLES)]) for i, r in enumerate(chunk)]
            write_cassette(path, styled)
            written.update({(str(path), i): r for i, r in enumerate(chunk)})
            count += 1
    status, report = _audit(directory, "--jobs", "2")
    return status, report, written


def test_genuine_openai_interactions_are_pass_or_stale(genuine, capsys):
    status, report, written = genuine
    summary = report["summary"]
    failing = [e for e in report["interactions"] if e["verdict"] == "fail"]
    excluded = len(load_corpus(official=True, genuine=False)) - len(load_corpus())
    with capsys.disabled():
        print(f"\n[audit] genuine OpenAI interactions: {summary['checked']} judged, {summary['verdicts']}, "
              f"fail rate {summary['fail_rate']:.2%} (threshold {MAX_FAIL_RATE:.1%}); "
              f"{excluded} synthetic-flagged interactions not counted")
    shown = "\n".join(f"{e['cassette']}#{e['index']}: {[f['check'] + ': ' + f['message'][:200] for f in e['failures']]}"
                      for e in failing[:5])
    assert summary["fail_rate"] <= MAX_FAIL_RATE, f"genuine interactions fail:\n{shown}"
    assert status == (1 if failing else 0)
    # only the genuine records were written and audited: the flagged ones are left out of the rate
    assert summary["interactions"] == len(written) == len(load_corpus()) and not summary["input_errors"]
    assert excluded > 0


def test_report_matches_its_schema_and_the_cassettes(genuine):
    _, report, written = genuine
    jsonschema.Draft202012Validator(json.loads(REPORT_SCHEMA.read_text())).validate(report)
    for entry in report["interactions"]:
        record = written[(entry["cassette"], entry["index"])]  # index = position in the cassette
        assert (entry["method"], entry["url"], entry["status"]) == (record["method"], record["url"], record["status"])
        judged = (entry["method"], entry["endpoint"]) in AUDITED
        assert (entry["verdict"] != "skip") == judged, entry
        if record["api"] in ("chat", "responses") and judged:
            assert entry["api"] == record["api"]


def test_stale_findings_name_what_is_missing(genuine):
    _, report, _ = genuine
    stale = [f for e in report["interactions"] for f in e["failures"] if f["verdict"] == "stale"]
    assert stale, "the corpus spans years: some recordings must lack later fields"
    assert all(f.get("missing") and all(name in f["message"] for name in f["missing"]) for f in stale)
    assert report["summary"]["stale_missing"]


# -- mutants ----------------------------------------------------------------------------------------------------


def _date(record: dict[str, Any]) -> str:
    try:
        return parsedate_to_datetime(record.get("response_date") or "").date().isoformat()
    except (TypeError, ValueError):
        return ""


def _pick(api: str, stream: bool, want: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """The most recent genuine 200 create answer of ``api`` matching ``want`` (a deep copy, to mutate)."""
    endpoint = "chat/completions" if api == "chat" else "responses"
    found = [r for r in load_corpus(api=api, stream=stream) if r["status"] == 200 and r["method"] == "POST"
             and r["endpoint"] == endpoint and (want is None or want(r))]
    return copy.deepcopy(max(found, key=_date))


def _events(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [e.json for e in parse_sse(record["response_body"]) if isinstance(e.json, dict)]


def _responses_sse(events: list[dict[str, Any]]) -> str:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)


def _tool_call(record: dict[str, Any]) -> bool:
    return bool(record["response_body"]["choices"][0]["message"].get("tool_calls"))


def _function_call(record: dict[str, Any]) -> bool:
    return any(item.get("type") == "function_call" for item in record["response_body"]["output"])


def drop_id(r):
    del r["response_body"]["id"]


def drop_output(r):
    del r["response_body"]["output"]


def chat_object(r):
    r["response_body"]["object"] = "chat.completions"


def responses_object(r):
    r["response_body"]["object"] = "responses"


def chat_arguments_object(r):
    function = r["response_body"]["choices"][0]["message"]["tool_calls"][0]["function"]
    function["arguments"] = json.loads(function["arguments"])


def responses_arguments_object(r):
    for item in r["response_body"]["output"]:
        if item.get("type") == "function_call":
            item["arguments"] = json.loads(item["arguments"])


def terminal_first(r):
    events = _events(r)
    r["response_body"] = _responses_sse([events[-1], *events[:-1]])


def drop_sequence_numbers(r):
    events = _events(r)
    for event in events:
        event.pop("sequence_number", None)
    r["response_body"] = _responses_sse(events)


def drop_sequence_numbers_old(r):
    drop_sequence_numbers(r)
    r["response_date"] = "Tue, 01 Apr 2025 10:00:00 GMT"  # recorded before OpenAI sent sequence_number


def drop_done(r):
    r["response_body"] = r["response_body"].replace("data: [DONE]", "")


def chat_param_on_responses(r):
    r["request_body"]["response_format"] = {"type": "json_object"}


def detail_envelope(r):
    r["status"], r["response_body"] = 400, {"detail": "bad request"}


def null_body(r):
    r["response_body"] = None


def recent_stream(r):
    return _date(r) >= "2025-09"


# (name, base interaction, mutation, the check that must report it, the interaction's verdict)
MUTANTS = [
    ("chat-dropped-id", ("chat", False, None), drop_id, "schema", "fail"),
    ("responses-dropped-output", ("responses", False, None), drop_output, "schema", "fail"),
    ("chat-wrong-object", ("chat", False, None), chat_object, "object_value", "fail"),
    ("responses-wrong-object", ("responses", False, None), responses_object, "object_value", "fail"),
    ("chat-arguments-object", ("chat", False, _tool_call), chat_arguments_object, "arguments_string", "fail"),
    ("responses-arguments-object", ("responses", False, _function_call), responses_arguments_object,
     "arguments_string", "fail"),
    ("responses-stream-terminal-first", ("responses", True, recent_stream), terminal_first, "stream_envelope", "fail"),
    ("responses-stream-no-sequence-number", ("responses", True, recent_stream), drop_sequence_numbers,
     "stream_sequence", "fail"),
    ("responses-stream-no-sequence-number-2025-04", ("responses", True, recent_stream), drop_sequence_numbers_old,
     "stream_sequence", "stale"),
    ("chat-stream-no-done", ("chat", True, None), drop_done, "stream_framing", "fail"),
    ("chat-parameter-on-responses", ("responses", False, None), chat_param_on_responses, "request_params", "fail"),
    ("error-detail-envelope", ("chat", False, None), detail_envelope, "error_envelope", "fail"),
    ("null-body", ("responses", False, None), null_body, "cassette_body", "fail"),
]


def failed_terminal(r):
    """A genuine stream whose terminal event becomes a well-formed `response.failed`: a shape the API has."""
    events = _events(r)
    terminal = events[-1]
    terminal["type"] = "response.failed"
    terminal["response"].update(status="failed", error={"code": "server_error", "message": "The model failed."})
    r["response_body"] = _responses_sse(events)


def test_a_recorded_failed_response_is_not_a_shape_failure(tmp_path):
    record = _pick("responses", True, recent_stream)
    failed_terminal(record)
    write_cassette(tmp_path / "c" / "failed.yaml", [from_corpus_record(record, STYLES[0])])
    _, report = _audit(tmp_path / "c")
    (entry,) = report["interactions"]
    assert entry["verdict"] in ("pass", "stale"), entry["failures"]
    assert "stream_error" not in {f["check"] for f in entry["failures"]}


@pytest.fixture(scope="module")
def mutants(tmp_path_factory) -> dict[str, dict[str, Any]]:
    """Every mutant in one cassette (mixed body styles), audited once: name -> report entry."""
    directory = tmp_path_factory.mktemp("mutants") / "cassettes"
    interactions = []
    for position, (_, (api, stream, want), mutate, _, _) in enumerate(MUTANTS):
        record = _pick(api, stream, want)
        mutate(record)
        interactions.append(from_corpus_record(record, STYLES[position % len(STYLES)]))
    write_cassette(directory / "mutants.yaml", interactions)
    status, report = _audit(directory)
    assert status == 1
    return {name: entry for (name, *_), entry in zip(MUTANTS, report["interactions"])}


@pytest.mark.parametrize("name, check, verdict", [(m[0], m[3], m[4]) for m in MUTANTS], ids=[m[0] for m in MUTANTS])
def test_mutants_of_real_interactions_are_caught_by_the_right_check(mutants, name, check, verdict):
    entry = mutants[name]
    assert entry["verdict"] == verdict, entry["failures"]
    assert check in {f["check"] for f in entry["failures"] if f["verdict"] == verdict}, entry["failures"]


def test_unmutated_bases_are_not_failures(tmp_path):
    """The mutants fail because of the mutation: their bases, audited the same way, do not."""
    bases = {(api, stream, want) for _, (api, stream, want), *_ in MUTANTS}
    write_cassette(tmp_path / "c" / "bases.yaml",
                   [from_corpus_record(_pick(api, stream, want)) for api, stream, want in bases])
    status, report = _audit(tmp_path / "c")
    assert status == 0, [e["failures"] for e in report["interactions"] if e["verdict"] == "fail"]
