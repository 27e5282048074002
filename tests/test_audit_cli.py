"""The ``conformance audit`` command: arguments, exit statuses, JSON report, terminal summary.

Inputs are minimal interactions built here (no recorded data): a skipped endpoint,
a Responses answer whose ``object`` is wrong, a deviant error envelope.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest

from conformance.audit.main import main
from conformance.reports.audit import Progress
from support.cassettes import interaction, write_cassette
from conformance.cli import main as cli_main

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "conformance" / "specs" / "audit-report.schema.json").read_text())
BASE = "https://api.example.test/v1"
MODELS = interaction("GET", f"{BASE}/models", None, 200, "application/json", {"object": "list", "data": []})
ENVELOPE = {"error": {"message": "bad", "type": "invalid_request_error", "param": None, "code": None}}
GOOD_ERROR = interaction("POST", f"{BASE}/responses", {"model": "m", "input": "x"}, 400, "application/json", ENVELOPE)
BAD_ERROR = interaction("POST", f"{BASE}/chat/completions", {"model": "m", "messages": []}, 400, "application/json",
                        {"detail": "bad"})


def run(tmp_path, interactions, *extra, name="c.yaml"):
    """Write one cassette, audit it with --json; return (status, report)."""
    path = write_cassette(tmp_path / "in" / name, interactions)
    out = tmp_path / "report.json"
    status = main([str(path.parent), "--json", str(out), *extra])
    return status, json.loads(out.read_text()) if out.exists() else None


def test_exit_0_when_nothing_fails_and_other_endpoints_are_skipped(tmp_path):
    status, report = run(tmp_path, [MODELS, GOOD_ERROR])
    assert status == 0
    skipped, judged = report["interactions"]
    assert (skipped["verdict"], skipped["index"], skipped["api"]) == ("skip", 0, None)
    assert (judged["verdict"], judged["index"], judged["api"], judged["endpoint"]) == (
        "pass", 1, "responses", "responses")
    assert report["summary"]["verdicts"] == {"pass": 1, "stale": 0, "fail": 0, "skip": 1, "error": 0}
    jsonschema.Draft202012Validator(SCHEMA).validate(report)


def test_exit_1_when_an_interaction_fails(tmp_path, capsys):
    status, report = run(tmp_path, [GOOD_ERROR, BAD_ERROR])
    assert status == 1
    failing = report["interactions"][1]
    assert failing["verdict"] == "fail" and failing["failures"][0]["check"] == "error_envelope"
    assert report["summary"]["checks"]["error_envelope"] == {"fail": 1, "stale": 0}
    printed = capsys.readouterr().out
    assert "fail 1" in printed and "error_envelope" in printed and "worst examples" in printed
    jsonschema.Draft202012Validator(SCHEMA).validate(report)


def test_a_wrong_object_value_fails_on_any_host(tmp_path):
    body = {"id": "resp_1", "object": "chat.completion", "status": "completed", "output": []}
    retrieved = interaction("GET", f"{BASE}/responses/resp_1", None, 200, "application/json", body)
    status, report = run(tmp_path, [retrieved])
    assert status == 1
    assert "object_value" in {f["check"] for f in report["interactions"][0]["failures"]}


@pytest.mark.parametrize("argv", [[], ["--profile", "strict", "x"], ["--no-such-option", "x"]])
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "--profile" in capsys.readouterr().out


def test_missing_path_is_an_input_error_but_the_rest_is_audited(tmp_path):
    status, report = run(tmp_path, [GOOD_ERROR])
    out = tmp_path / "again.json"
    assert main([str(tmp_path / "in"), str(tmp_path / "missing.yaml"), "--json", str(out)]) == 2
    again = json.loads(out.read_text())
    assert again["summary"]["interactions"] == 1
    assert again["summary"]["input_errors"] == [{"path": str(tmp_path / "missing.yaml"),
                                                 "message": "no such file or directory"}]


def test_non_cassette_yaml_is_ignored_in_a_directory_but_an_error_when_named(tmp_path):
    status, _ = run(tmp_path, [GOOD_ERROR])
    config = tmp_path / "in" / "settings.yaml"
    config.write_text("retries: 3\n")
    assert main([str(tmp_path / "in")]) == 0
    assert main([str(config)]) == 2
    (tmp_path / "in" / "broken.yaml").write_text("interactions: [\n")
    assert main([str(tmp_path / "in")]) == 2  # unreadable YAML is an input error wherever it is


def test_unusable_openapi_document_exits_2(tmp_path):
    bad = tmp_path / "spec.yaml"
    bad.write_text("openapi: 3.1.0\npaths: {}\n")
    assert main([str(tmp_path), "--openapi", str(bad)]) == 2
    assert main([str(tmp_path), "--openapi", str(tmp_path / "absent.yaml")]) == 2


def test_json_to_stdout_keeps_the_summary_on_stderr(tmp_path, capsys):
    path = write_cassette(tmp_path / "c.yaml", [GOOD_ERROR])
    assert main([str(path), "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["summary"]["checked"] == 1
    assert "conformance audit:" in captured.err


def test_the_conformance_command_dispatches_audit(tmp_path):
    path = write_cassette(tmp_path / "c.yaml", [GOOD_ERROR])
    assert cli_main(["audit", str(path)]) == 0


def test_progress_only_for_terminals_or_large_inputs():
    quiet = io.StringIO()
    small = Progress(10, large=200, stream=quiet)
    for _ in range(10):
        small.update(1, 3)
    assert quiet.getvalue() == ""
    log = io.StringIO()
    big = Progress(400, large=200, stream=log)
    for _ in range(400):
        big.update(1, 2)
    assert log.getvalue().count("\n") == 4 and "400/400 cassettes, 800 interactions" in log.getvalue()


def test_parallel_and_in_process_runs_report_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr("conformance.audit.main.PARALLEL_BYTES", 0)  # small input, pool anyway
    for n in range(12):
        write_cassette(tmp_path / "in" / f"c{n:02d}.yaml", [MODELS, GOOD_ERROR, BAD_ERROR][: 1 + n % 3])
    reports = []
    for jobs in ("1", "2"):
        out = tmp_path / f"r{jobs}.json"
        assert main([str(tmp_path / "in"), "--jobs", jobs, "--json", str(out)]) == 1
        reports.append(json.loads(out.read_text()))
    assert reports[0]["interactions"] == reports[1]["interactions"]
    assert [(Path(e["cassette"]).name, e["index"]) for e in reports[1]["interactions"]][:4] == [
        ("c00.yaml", 0), ("c01.yaml", 0), ("c01.yaml", 1), ("c02.yaml", 0)]


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("command", [["checks"], ["audit", "IN", "--json", "REPORT"], ["audit", "IN", "--json", "-"]])
def test_a_reader_that_stops_reading_ends_the_command_quietly(tmp_path, command, buffered):
    """``conformance checks | head``: the output pipe is closed before the command writes; it stops with the
    status a shell reports after SIGPIPE, without a traceback, whether stdout is block-buffered (the default when
    it is a pipe: written at exit) or not (the audit's report file is still written)."""
    import os
    import subprocess
    import sys

    folder = write_cassette(tmp_path / "in" / "c.yaml", [MODELS, GOOD_ERROR]).parent
    report = tmp_path / "report.json"
    argv = [{"IN": str(folder), "REPORT": str(report)}.get(arg, arg) for arg in command]
    env = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line
    try:
        done = subprocess.run([sys.executable, "-m", "conformance", *argv], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120, env=env)
    finally:
        os.close(write_end)
    assert done.returncode == 141, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert "Exception ignored" not in done.stderr and "cannot write" not in done.stderr
    if "REPORT" in command:
        assert json.loads(report.read_text())["summary"]["verdicts"]["pass"] == 1


def test_a_broken_pipe_of_the_command_s_own_is_an_internal_error(tmp_path, monkeypatch, capsys):
    """A BrokenPipeError while stdout and stderr are fine (a worker's pipe, say) is a crash: exit 3 with its
    traceback (the audit), the exception itself (the other commands); never the quiet 141 of a reader gone."""
    def broken(*args, **kwargs):
        raise BrokenPipeError("a pipe of the command's own")

    monkeypatch.setattr("conformance.audit.main._audit_files", broken)
    folder = write_cassette(tmp_path / "in" / "c.yaml", [MODELS]).parent
    assert main([str(folder)]) == 3
    assert "internal error" in capsys.readouterr().err
    monkeypatch.setattr("conformance.cli.checks", broken)
    with pytest.raises(BrokenPipeError):
        cli_main(["checks"])
