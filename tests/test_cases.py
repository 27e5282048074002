"""The case loader: good files load, bad files are reported with file, line and reason."""

from __future__ import annotations

import textwrap
from pathlib import Path

from conformance.checks import CHECKS
from conformance.cases.loading import builtin_suites, load_file, load_suites

SUITES = builtin_suites()

GOOD = """\
capability: demo
title: Demo
cases:
  - id: hello
    description: A prompt gets an answer.
    claim:
      chat: {status: supported, doc: "https://example.test/doc"}
      responses: {status: supported, doc: "https://example.test/doc"}
    expect: [text_nonempty]
    chat:
      request: {body: {model: "${model}", messages: [{role: user, content: hi}]}}
    responses:
      steps:
        - {name: create, body: {model: "${model}", input: hi}}
        - {name: fetch, method: GET, path: "/responses/${create.id}"}
      expect:
        - {check: retrievable, of: create}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_committed_suites_all_load() -> None:
    cases, errors = load_suites(SUITES, CHECKS)
    assert errors == []
    assert len(cases) >= 30
    capabilities = {case.capability for case in cases}
    assert {"text", "vision", "structured-outputs", "function-calling", "storage", "reasoning",
            "conversation-state", "cross-api-parameters", "errors", "builtin-tools", "audio", "streaming"} <= capabilities


def test_good_file_loads_with_defaults(tmp_path: Path) -> None:
    cases, errors = load_file(write(tmp_path, "demo.yaml", GOOD), CHECKS)
    assert errors == []
    (case,) = cases
    assert case.apis == ["chat", "responses"]
    assert case.steps["chat"][0].path == "/chat/completions" and case.steps["chat"][0].method == "POST"
    assert [s.name for s in case.steps["responses"]] == ["create", "fetch"]
    assert [e.check for e in case.expect["responses"]] == ["text_nonempty", "retrievable"]
    assert case.source.endswith("demo.yaml:4")


def test_schema_error_names_file_line_and_reason(tmp_path: Path) -> None:
    bad = GOOD.replace("      chat: {status: supported", "      chat: {status: maybe")
    _, errors = load_file(write(tmp_path, "demo.yaml", bad), CHECKS)
    assert errors and errors[0].line == 7
    assert "maybe" in errors[0].reason and "demo.yaml:7" in str(errors[0])


def test_unknown_check_is_reported(tmp_path: Path) -> None:
    _, errors = load_file(write(tmp_path, "demo.yaml", GOOD.replace("[text_nonempty]", "[no_such_check]")), CHECKS)
    assert len(errors) == 1 and "unknown check 'no_such_check'" in errors[0].reason and errors[0].line == 9


def test_capability_must_match_file_name(tmp_path: Path) -> None:
    _, errors = load_file(write(tmp_path, "other.yaml", GOOD), CHECKS)
    assert "must equal the file name" in errors[0].reason


def test_invalid_yaml_is_reported_with_line(tmp_path: Path) -> None:
    _, errors = load_file(write(tmp_path, "demo.yaml", GOOD.replace("title: Demo", "title: [unclosed")), CHECKS)
    assert errors[0].line is not None and "invalid YAML" in errors[0].reason


def test_a_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    write(tmp_path, "demo.yaml", GOOD)
    write(tmp_path, "broken.yaml", "capability: broken\ntitle: x\ncases: []\n")
    cases, errors = load_suites(tmp_path, CHECKS)
    assert [c.id for c in cases] == ["hello"]
    assert len(errors) == 1 and errors[0].path.endswith("broken.yaml")


def test_duplicate_ids_and_missing_claims(tmp_path: Path) -> None:
    text = GOOD.replace("      responses: {status: supported, doc: \"https://example.test/doc\"}\n", "")
    text += text.split("cases:\n", 1)[1]
    _, errors = load_file(write(tmp_path, "demo.yaml", text), CHECKS)
    reasons = " | ".join(e.reason for e in errors)
    assert "duplicate case id 'hello'" in reasons and "no claim" in reasons


def test_a_yml_file_is_a_case_file_too(tmp_path: Path) -> None:
    (tmp_path / "demo.yml").write_text(GOOD)
    (tmp_path / "notes.txt").write_text("not a case file")
    cases, errors = load_suites(tmp_path, CHECKS)
    assert not errors and [c.id for c in cases] == ["hello"]
