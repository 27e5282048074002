"""results.json: a versioned format with a schema, written as results arrive, readable back into CaseResults."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from conformance.api.contracts import specs_path
from conformance.checks.findings import Failure, Verdict
from conformance.reports.results_file import (FORMAT, ResultsError, ResultsWriter, load_results, normalise,
                                              root_cause, standalone_run, tokens)
from conformance.run.evidence import CountingSender, expects_rejection
from conformance.run.metadata import run_metadata
from conformance.cases.targets import load_targets
from conformance.transport.exchange import Exchange
from conformance.verdicts.results import CaseResult, result_from_dict


def schema_errors(document: dict) -> list[str]:
    schema = json.loads(specs_path("results.schema.json").read_text())
    return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(document)]


def record(case: str, verdict: Verdict = Verdict.PASS, failures: list[Failure] | None = None) -> dict:
    result = CaseResult(target="aimock", capability="text", case=case, api="chat", stream=False, verdict=verdict,
                        failures=failures or [], cassette="/cassettes/aimock/text/x.chat.yaml",
                        steps=[{"name": "main", "method": "POST", "path": "/v1/chat/completions", "status": 200,
                                "usage": {"input": 3, "output": 5, "total": 8}, "interaction": 0,
                                "excerpt": {"request": "{}", "response": "{}"}}])
    return result.as_dict()


def test_a_run_is_written_as_results_arrive_and_finished_with_its_metadata(tmp_path: Path) -> None:
    targets = load_targets()
    run = run_metadata(targets=[targets["aimock"]], live=False, replay=True, record_mode="none",
                       cassettes=Path("/cassettes"))
    writer = ResultsWriter(tmp_path, run, every=0)
    writer.planned(3)
    writer.add(record("one"))
    midway = json.loads((tmp_path / "results.json").read_text())
    assert midway["format"] == FORMAT and len(midway["results"]) == 1 and midway["run"]["finished"] is None
    assert midway["run"]["progress"] == {"done": 1, "planned": 3}
    writer.add(record("two", Verdict.FAIL, [Failure("status", "500", Verdict.FAIL, "main", role="root")]))
    finished = writer.finish(interrupted=True, exit_status=2)
    document = json.loads((tmp_path / "results.json").read_text())
    assert schema_errors(document) == []
    assert finished["interrupted"] is True and document["run"]["progress"] == {"done": 2, "planned": 3}
    meta = document["run"]
    assert meta["mode"] == "replay" and meta["client"] == {"name": "raw", "sdk_version": None}
    assert meta["targets"][0]["name"] == "aimock" and meta["targets"][0]["scripted"] is True
    assert meta["python"] and meta["suite_version"] and meta["started"] and meta["finished"]
    kept = document["results"][1]
    assert kept["cassette"] == "aimock/text/x.chat.yaml" and "excerpt" not in kept["steps"][0]
    assert kept["root_cause"]["check"] == "status" and kept["tokens"] == {"input": 3, "output": 5, "total": 8}
    assert kept["client"] == "raw" and kept["run"] == meta["id"]
    assert result_from_dict(kept).verdict is Verdict.FAIL  # still readable as a CaseResult
    lines = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert "run" in lines[0] and [("result" in line) for line in lines[1:3]] == [True, True]
    assert lines[-1]["end"]["interrupted"] is True


def test_a_run_killed_outright_keeps_its_lines(tmp_path: Path) -> None:
    writer = ResultsWriter(tmp_path, standalone_run(), every=3600)
    writer.add(record("one"))
    writer.add(record("two"))
    # no finish(): the process died; results.json is older, results.jsonl has every line
    text = (tmp_path / "results.jsonl").read_text()
    lines = text.splitlines(keepends=True)
    # a damaged line among the others, and the last one cut off when the process was killed mid-write
    (tmp_path / "cut.jsonl").write_text("".join(lines[:2]) + '{"result": {"targ\n' + "".join(lines[2:])
                                        + '{"result": {"target": "ai')
    loaded = load_results(tmp_path / "cut.jsonl")
    assert [r["case"] for r in loaded.records] == ["one", "two"] and loaded.runs[0]["damaged_lines"] == 2
    assert loaded.runs[0]["interrupted"] is True and loaded.runs[0]["progress"]["done"] == 2
    stale = load_results(tmp_path / "results.json")  # rewritten at most once an `every`: here only at the start
    assert stale.records == [] and stale.runs[0]["finished"] is None


def test_root_cause_is_the_policy_root_else_the_finding_with_the_verdict() -> None:
    rooted = record("x", Verdict.FAIL, [Failure("schema", "bad", Verdict.FAIL, role="case"),
                                        Failure("status", "500", Verdict.FAIL, role="root")])
    assert root_cause(rooted)["check"] == "status"
    plain = record("x", Verdict.IGNORED, [Failure("schema", "shape", Verdict.FAIL, role="shape"),
                                          Failure("json_output", "not JSON", Verdict.IGNORED, role="case")])
    assert root_cause(plain)["check"] == "json_output"
    assert root_cause(record("x")) is None
    assert tokens({"steps": [{"usage": {"input": 1}}, {"usage": None}, {"usage": {"input": 2, "output": 4}}]}) == \
        {"input": 3, "output": 4}
    assert tokens({"steps": [{"usage": None}]}) is None


def test_first_format_files_are_read_and_bad_files_are_input_errors(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"format": "conformance.results.v1", "generated": "2026-01-01T00:00:00Z",
                               "results": [record("one")]}))
    loaded = load_results(old)
    assert loaded.records[0]["case"] == "one" and loaded.runs[0]["upgraded_from"] == "conformance.results.v1"
    bad = tmp_path / "bad.json"
    for text, says in (("{", "not JSON"), ('{"format": "other"}', "not a conformance results file"),
                       (json.dumps({"format": FORMAT, "run": {}, "results": []}), "results.schema.json")):
        bad.write_text(text)
        with pytest.raises(ResultsError, match=says):
            load_results(bad)
    with pytest.raises(ResultsError, match="cannot read"):
        load_results(tmp_path / "missing.json")


def test_live_records_keep_their_excerpts() -> None:
    live = dict(record("one"), cassette=None)
    assert normalise(live, standalone_run())["steps"][0]["excerpt"] == {"request": "{}", "response": "{}"}


def test_the_counting_sender_gives_each_answer_its_cassette_position() -> None:
    answers = iter([Exchange("POST", "http://x/v1/responses", status=200),
                    Exchange("POST", "http://x/v1/responses", status=None, transport_error="refused"),
                    Exchange("GET", "http://x/v1/responses/r", status=200)])
    send = CountingSender(lambda *_args: next(answers))
    first, failed, second = send(), send(), send()
    assert (send.position(first), send.position(failed), send.position(second)) == (0, None, 1)


def test_a_case_that_expects_a_rejection_is_a_rejection_probe() -> None:
    from conformance.cases.loading import builtin_suites, load_suites
    from conformance.checks import CHECKS

    cases = {case.id: case for case in load_suites(builtin_suites(), CHECKS)[0]}
    assert expects_rejection(cases["chat-has-no-server-state"], "chat")
    assert not expects_rejection(cases["audio-output"], "chat")
