"""Guardrails for case and target authors: every mistake is a load error naming the file, the line and,
for a misspelt name, the nearest valid one. Each test starts from a file that loads cleanly and changes one thing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cases.loading import load_file
from conformance.cases.model import CaseFileError
from conformance.cases.targets import TargetError, load_targets
from conformance.checks import CHECKS

CASES = """\
capability: demo
title: Demo
cases:
  - id: chained
    description: A stored answer can be fetched.
    requires: [store, retrieve]
    claim:
      chat: {status: supported, doc: "https://example.test/doc"}
      responses: {status: supported, doc: "https://example.test/doc"}
    expect:
      - check: json_output
        schema: {type: object}
    chat:
      request:
        body: {model: "${model}", messages: [{role: user, content: hi}]}
      expect:
        - {check: stream_parity, aspects: [finish]}
    responses:
      steps:
        - name: create
          body: {model: "${model}", input: hi, store: true}
        - name: fetch
          method: GET
          path: "/responses/${create.id}"
      expect:
        - {check: retrievable, of: create}
        - {check: status, step: fetch, code: 200}
        - {check: cross_api, aspects: [json_keys]}
"""

TARGETS = """\
targets:
  mine:
    base_url: http://127.0.0.1:9/v1
    lacks:
      - vision
    never_run: [retrieve]
"""


def line(text: str, marker: str) -> int:
    """The 1-based line of the only line containing ``marker``."""
    (found,) = [n for n, text_line in enumerate(text.splitlines(), 1) if marker in text_line]
    return found


def load_changed(tmp_path: Path, old: str, new: str) -> tuple[str, list[CaseFileError]]:
    """Load CASES with ``old`` replaced by ``new`` (which must occur once); the text and its errors."""
    assert CASES.count(old) == 1, old
    text = CASES.replace(old, new)
    path = tmp_path / "demo.yaml"
    path.write_text(text)
    cases, errors = load_file(path, CHECKS)
    assert cases == [] and errors
    return text, errors


def only_error(errors: list[CaseFileError]) -> CaseFileError:
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def test_the_unchanged_files_load(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(CASES)
    cases, errors = load_file(path, CHECKS)
    assert errors == [] and [c.id for c in cases] == ["chained"]
    (tmp_path / "targets.yaml").write_text(TARGETS)
    assert load_targets(tmp_path / "targets.yaml")["mine"].never_run == ["retrieve"]


# ---------------------------------------------------------------- targets files


def test_misspelt_never_run_feature_names_file_line_and_nearest(tmp_path: Path) -> None:
    text = TARGETS.replace("never_run: [retrieve]", "never_run: [retreive]")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(TargetError) as raised:
        load_targets(path)
    message = str(raised.value)
    assert message.startswith(f"{path}:{line(text, 'retreive')}: ")
    assert "unknown feature 'retreive'" in message and "did you mean retrieve" in message


def test_misspelt_lacks_feature_points_at_its_own_line(tmp_path: Path) -> None:
    text = TARGETS.replace("      - vision\n", "      - vision\n      - visoin\n")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(TargetError, match=rf":{line(text, 'visoin')}: .*lacks: unknown feature 'visoin'; did you mean vision"):
        load_targets(path)


def test_never_run_must_be_a_list(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(TARGETS.replace("never_run: [retrieve]", "never_run: retrieve"))
    with pytest.raises(TargetError, match=r"bad.yaml:6: .*never_run must be a list"):
        load_targets(path)


def test_bad_targets_file_is_a_one_line_usage_error(tmp_path: Path) -> None:
    text = TARGETS.replace("never_run: [retrieve]", "never_run: [retreive]")
    (tmp_path / "bad.yaml").write_text(text)
    run = subprocess.run([sys.executable, "-c", "import sys; from conformance.cli import main; sys.exit(main())",
                          "run", "--targets", "bad.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stdout + run.stderr  # a usage error
    assert "Traceback" not in run.stdout + run.stderr
    errors = [text_line for text_line in run.stderr.splitlines() if text_line.strip()]
    assert errors == [f"ERROR: bad.yaml:{line(text, 'retreive')}: target 'mine': never_run: "
                      "unknown feature 'retreive'; did you mean retrieve?"]


# ---------------------------------------------------------------- case files


def test_unknown_check_parameter_names_file_line_and_nearest(tmp_path: Path) -> None:
    text, errors = load_changed(tmp_path, "        schema: {type: object}", "        shcema: {type: object}")
    error = only_error(errors)
    assert error.line == line(text, "shcema") and error.path.endswith("demo.yaml")
    assert "check 'json_output': unknown parameter 'shcema'; did you mean schema?" in error.reason
    assert str(error).startswith(f"{error.path}:{error.line}: ")


def test_parameter_of_a_check_that_takes_none(tmp_path: Path) -> None:
    text, errors = load_changed(tmp_path, "        - {check: retrievable, of: create}",
                                "        - {check: retrievable, of: create}\n        - {check: text_nonempty, value: hi}")
    error = only_error(errors)
    assert error.line == line(text, "text_nonempty")
    assert "check 'text_nonempty': unknown parameter 'value'; it takes none" in error.reason


def test_missing_required_parameter(tmp_path: Path) -> None:
    text, errors = load_changed(tmp_path, "{check: cross_api, aspects: [json_keys]}", "cross_api")
    error = only_error(errors)
    assert error.line == line(text, "- cross_api") and "'aspects'" in error.reason


def test_unknown_feature_in_requires(tmp_path: Path) -> None:
    text, errors = load_changed(tmp_path, "requires: [store, retrieve]", "requires: [store, retreive]")
    error = only_error(errors)
    assert error.line == line(text, "requires:")
    assert "unknown feature 'retreive'; did you mean retrieve?" in error.reason


def test_misspelt_check_name(tmp_path: Path) -> None:
    text, errors = load_changed(tmp_path, "{check: retrievable, of: create}", "{check: retreivable, of: create}")
    error = only_error(errors)
    assert error.line == line(text, "retreivable")
    assert "unknown check 'retreivable'; did you mean retrievable" in error.reason


def test_step_naming_no_step(tmp_path: Path) -> None:
    text, errors = load_changed(tmp_path, "{check: status, step: fetch, code: 200}",
                                "{check: status, step: fecth, code: 200}")
    error = only_error(errors)
    assert error.line == line(text, "fecth")
    assert "step: unknown step 'fecth'; did you mean fetch?" in error.reason


def test_of_naming_no_step(tmp_path: Path) -> None:
    text, errors = load_changed(tmp_path, "{check: retrievable, of: create}", "{check: retrievable, of: created}")
    error = only_error(errors)
    assert error.line == line(text, "created") and "of: unknown step 'created'; did you mean create" in error.reason


def test_common_expectation_must_name_a_step_of_every_api(tmp_path: Path) -> None:
    # chat runs one request (step `main`): a common check judging `fetch` would silently never run there
    text, errors = load_changed(tmp_path, "        schema: {type: object}", "        step: fetch")
    error = only_error(errors)
    assert error.line == line(text, "        step: fetch")
    assert "step: unknown step of chat 'fetch'" in error.reason


def test_placeholder_referring_to_a_later_step(tmp_path: Path) -> None:
    text, errors = load_changed(tmp_path, "input: hi, store: true}", "input: \"${fetch.id}\", store: true}")
    error = only_error(errors)
    assert error.line == line(text, "- name: create")
    assert "refers to ${fetch...}, which is not an earlier step" in error.reason


def test_placeholder_naming_a_missing_asset(tmp_path: Path) -> None:
    text, errors = load_changed(tmp_path, "input: hi, store: true}", "input: \"${asset:no-such.png}\", store: true}")
    error = only_error(errors)
    assert error.line == line(text, "- name: create") and "${asset:no-such.png}: no such file" in error.reason


@pytest.mark.parametrize("check", ["stream_parity", "cross_api"])
def test_aspect_not_in_the_table(tmp_path: Path, check: str) -> None:
    old = {"stream_parity": "aspects: [finish]}", "cross_api": "aspects: [json_keys]}"}[check]
    text, errors = load_changed(tmp_path, old, "aspects: [finish, colour]}")
    error = only_error(errors)
    assert error.line == line(text, "colour")
    assert f"check {check!r}: unknown aspect(s) colour; known: finish" in error.reason


def test_placeholder_naming_an_unknown_model_role(tmp_path: Path) -> None:
    text, errors = load_changed(tmp_path, 'body: {model: "${model}", messages', 'body: {model: "${model.vison}", messages')
    error = only_error(errors)
    assert error.line == line(text, "model.vison")
    assert "${model.vison}: unknown model role 'vison'; did you mean vision?" in error.reason
