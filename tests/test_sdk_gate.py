"""The SDK release gate: ``conformance audit --sdk`` on recorded traffic (JSON Lines records and cassettes),
``conformance sdk-matrix`` over the runs of several SDK versions, and the SDK lane's own expectations."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import jsonschema
import pytest

from support.sdk import CASSETTES, openai  # noqa: F401  (skips this module without the openai package)

from conformance.audit.main import main as audit
from conformance.checks.findings import Failure, Verdict
from conformance.reports import sdk_matrix
from conformance.transport.recordings import load_cassette
from conformance.verdicts import expectations
from conformance.verdicts.results import CaseResult
from corpus import genuine_records

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "conformance" / "specs" / "audit-report.schema.json").read_text())


def _audit(tmp_path: Path, *paths: str) -> tuple[int, dict]:
    report = tmp_path / "report.json"
    status = audit([*paths, "--sdk", "--json", str(report), "--jobs", "1"])
    document = json.loads(report.read_text())
    jsonschema.validate(document, SCHEMA)
    return status, document


def test_audit_sdk_on_committed_cassettes_says_what_the_sdk_made_of_each_answer(tmp_path, capsys):
    status, document = _audit(tmp_path, str(CASSETTES / "aimock" / "text"), str(CASSETTES / "llama-server" / "text"))
    summary = document["summary"]["sdk"]
    assert summary["version"] == openai.__version__
    judged = [e for e in document["interactions"] if e["verdict"] != "skip"]
    assert summary["answers"] == len(judged) == sum(1 for e in judged if "sdk" in e)
    assert summary["parses"] == summary["answers"]  # every recorded answer of these servers parses
    # llama-server's Responses stream crashes the helper: counted, and shown
    assert summary["stream_helper"]["fail"] >= 1 and summary["checks"]["sdk_stream_helper"]["fail"] >= 1
    out = capsys.readouterr().out
    short = ".".join(openai.__version__.split(".")[:2])
    assert f"openai {short} parses {summary['parses']} of {summary['answers']} recorded answers" in out
    # the suite's own verdicts are untouched by --sdk
    plain = tmp_path / "plain.json"
    audit([str(CASSETTES / "aimock" / "text"), str(CASSETTES / "llama-server" / "text"), "--json", str(plain)])
    assert [e["verdict"] for e in json.loads(plain.read_text())["interactions"]] == \
        [e["verdict"] for e in document["interactions"]]


def test_audit_reads_json_lines_records(tmp_path):
    """The corpus's own format (one interaction per line), plain or gzipped; a deviant answer (built by code)
    the SDK cannot parse is counted out of N."""
    records = [r for r in genuine_records() if r["api"] == "chat" and not r["stream"] and r["status"] == 200][:6]
    broken = copy.deepcopy(records[0])
    broken["response_body"] = '{"id": "chatcmpl-x", "choices": ['  # cut off mid-body
    lines = "".join(json.dumps(r) + "\n" for r in [*records, broken])
    (tmp_path / "plain.jsonl").write_text(lines)
    (tmp_path / "packed.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
    assert len(load_cassette(tmp_path / "packed.jsonl.gz")) == len(records) + 1
    status, document = _audit(tmp_path, str(tmp_path / "plain.jsonl"))
    summary = document["summary"]["sdk"]
    assert (summary["parses"], summary["answers"]) == (len(records), len(records) + 1)
    assert summary["exceptions"] == {"JSONDecodeError": 1}
    last = document["interactions"][-1]["sdk"]
    assert last["parses"] is False and last["findings"][0]["check"] == "sdk_accepts"


def test_audit_sdk_without_the_sdk_is_a_usage_error(monkeypatch, capsys):
    from conformance.audit import sdk as sdk_audit

    monkeypatch.setattr(sdk_audit, "sdk_version", lambda: None)
    assert audit([str(CASSETTES / "aimock" / "text"), "--sdk"]) == 2
    assert "needs the openai package" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- sdk-matrix


def _record(version: str, checks: list[str], verdict: str = "pass") -> dict:
    failures = [{"check": c, "message": f"{c} found something", "verdict": "fail", "role": "shape"} for c in checks]
    return {"target": "llama-server", "capability": "text", "case": "plain-prompt", "api": "responses",
            "stream": True, "verdict": verdict, "shape": "fail" if checks else "pass", "failures": failures,
            "client": "sdk", "sdk_version": version}


def _run(directory: Path, env: str, version: str, checks: list[str], answer: dict | None = None) -> None:
    """A run folder as the tox env writes it: results.json (v1 form, upgraded on reading) and audit.json."""
    folder = directory / env
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({
        "format": "conformance.results.v1", "client": {"name": "sdk", "sdk_version": version},
        "results": [_record(version, checks)]}))
    entry = {"version": version, "method": "responses.stream", "parses": True, "strict_valid": True,
             "output_text": "ok", "stream_helper": "ok", "exception": None, "findings": [], **(answer or {})}
    (folder / "audit.json").write_text(json.dumps({
        "summary": {"sdk": {"version": version, "answers": 1, "parses": int(entry["parses"]), "strict_checked": 1,
                            "strict_valid": 1, "output_text": {"ok": 1, "fail": 0},
                            "stream_helper": {"ok": 1, "note": 0, "fail": 0}, "checks": {}, "exceptions": {}}},
        "interactions": [{"cassette": "corpus.jsonl.gz", "index": 7, "sdk": entry}]}))


def test_sdk_matrix_passes_when_newer_versions_handle_what_older_ones_did(tmp_path, capsys):
    _run(tmp_path, "sdk-openai1", "1.109.1", ["sdk_stream_helper"])
    _run(tmp_path, "sdk-openai2", "2.54.0", ["sdk_stream_helper"])
    _run(tmp_path, "sdk-openai3", "3.57.0", [])
    _run(tmp_path, "sdk-latest", "3.57.0", [])
    assert sdk_matrix.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "openai 3.57.0 (sdk-latest, sdk-openai3" in out and "no regression between SDK versions" in out
    assert "llama-server text/plain-prompt.responses.stream" in out  # the row, with the SDK-version axis
    document = json.loads((tmp_path / "sdk-matrix.json").read_text())
    assert [v["version"] for v in document["versions"]] == ["1.109.1", "2.54.0", "3.57.0"]


def test_sdk_matrix_fails_on_a_case_the_newer_sdk_no_longer_handles(tmp_path, capsys):
    _run(tmp_path, "sdk-openai2", "2.54.0", [])
    _run(tmp_path, "sdk-openai3", "3.57.0", ["sdk_stream_helper"])  # the newer helper crashes (built by code)
    assert sdk_matrix.main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "REGRESSIONS (1)" in out and "2.54.0 -> 3.57.0" in out and "sdk_stream_helper found something" in out


def test_sdk_matrix_fails_on_a_recorded_answer_the_newer_sdk_no_longer_parses(tmp_path, capsys):
    _run(tmp_path, "sdk-openai2", "2.54.0", [])
    _run(tmp_path, "sdk-openai3", "3.57.0", [], {"parses": False, "exception": "ValidationError: x",
                                                 "findings": [{"check": "sdk_accepts", "message": "raised",
                                                               "verdict": "fail"}]})
    assert sdk_matrix.main([str(tmp_path)]) == 1
    assert "corpus.jsonl.gz #7: parses -> not parses" in capsys.readouterr().out


def test_sdk_matrix_without_runs_is_an_input_error(tmp_path):
    assert sdk_matrix.main([str(tmp_path)]) == 2


def test_versions_order_numerically():
    assert sorted(["3.10.0", "3.9.1", "10.0.0", "3.10.0rc1"], key=sdk_matrix.version_key) == \
        ["3.9.1", "3.10.0rc1", "3.10.0", "10.0.0"]


# ------------------------------------------------------------------------------------------- expectations


def _result(checks: list[str], shape: str = "fail") -> CaseResult:
    failures = [Failure(c, f"{c}: x", Verdict.FAIL, "main", role="shape") for c in checks]
    return CaseResult("t", "text", "plain-prompt", "responses", True, Verdict.PASS, failures,
                      shape=Verdict(shape) if checks else Verdict.PASS)


def test_sdk_expectations_add_the_sdks_known_gaps_to_the_raw_lanes(tmp_path):
    (tmp_path / "t.yaml").write_text("known:\n  text/plain-prompt.responses.stream:\n    verdict: pass\n"
                                     "    shape: fail\n    checks: [stream_sequence]\n")
    expectations.write(tmp_path, "t", [_result(["stream_sequence", "sdk_stream_helper"])], client="sdk")
    written = (tmp_path / "t.sdk.yaml").read_text()
    assert "add_checks:\n    - sdk_stream_helper" in written and "stream_sequence" not in written.split("known:")[1]
    raw, sdk = expectations.load(tmp_path, "t"), expectations.load(tmp_path, "t", client="sdk")
    key = "text/plain-prompt.responses.stream"
    assert raw.known[key].checks == {"stream_sequence"}
    assert sdk.known[key].checks == {"stream_sequence", "sdk_stream_helper"}
    # the raw lane's expectation changes later: the SDK lane follows it without touching its own file
    (tmp_path / "t.yaml").write_text("known:\n  text/plain-prompt.responses.stream:\n    verdict: pass\n"
                                     "    shape: fail\n    checks: [stream_sequence, stream_event_schema]\n")
    assert expectations.load(tmp_path, "t", client="sdk").known[key].checks == \
        {"stream_sequence", "stream_event_schema", "sdk_stream_helper"}


@pytest.mark.parametrize("target", sorted(p.stem.removesuffix(".sdk") for p in
                                          (Path(__file__).resolve().parents[1] / "expectations").glob("*.sdk.yaml")))
def test_committed_sdk_expectations_name_only_sdk_checks(target):
    """The SDK lane's known gaps are the SDK's: every check they add is an SDK check."""
    from conformance.checks.sdk import SDK_CHECKS

    directory = Path(__file__).resolve().parents[1] / "expectations"
    raw, sdk = expectations.load(directory, target), expectations.load(directory, target, client="sdk")
    for key, known in sdk.known.items():
        assert known.checks - raw.known.get(key, expectations.Known()).checks <= set(SDK_CHECKS), key
