"""Docs stay in step with the code: docs/checks.md is rendered from the check registry; docs/cases.md names
only fields, features, aspects and checks that exist (and every feature), and its examples load as it says."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

from conformance.api.contracts import specs_path
from conformance.api.vocabulary import FEATURES
from conformance.cases.loading import load_file
from conformance.checks import CHECKS
from conformance.observations.aspects import ASPECTS
from conformance.parsing import load_yaml

ROOT = Path(__file__).resolve().parents[1]


def test_checks_reference_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("gen_checks_doc", ROOT / "scripts" / "gen_checks_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "checks.md").read_text() == module.render(), \
        "docs/checks.md is stale: run python scripts/gen_checks_doc.py"


CASES_DOC = ROOT / "docs" / "cases.md"


def first_column(text: str, header: str) -> list[str]:
    """The backticked names in the first column of every Markdown table whose first header cell is ``header``."""
    names: list[str] = []
    in_table = False
    for row in text.splitlines():
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")] if row.startswith("|") else None
        if cells is None:
            in_table = False
        elif not in_table:
            in_table = cells[0] == header
        elif not set(cells[0]) <= set("-: "):
            names += re.findall(r"`([^`]+)`", cells[0])
    return names


def fenced_block(text: str, marker: str) -> str:
    """The fenced code block right after ``<!-- marker -->``."""
    found = re.search(rf"<!-- {re.escape(marker)} -->\n```[a-z]*\n(.*?)\n```", text, re.S)
    assert found, f"docs/cases.md has no block marked {marker}"
    return found.group(1) + "\n"


def schema_fields(node: Any) -> set[str]:
    """Every property name the case schema defines, at any depth."""
    fields: set[str] = set()
    if isinstance(node, dict):
        fields |= set(node.get("properties") or {})
        for value in node.values():
            fields |= schema_fields(value)
    elif isinstance(node, list):
        for value in node:
            fields |= schema_fields(value)
    return fields


def test_cases_guide_documents_exactly_the_schema_fields() -> None:
    documented = first_column(CASES_DOC.read_text(), "field")
    schema = schema_fields(json.loads(specs_path("case.schema.json").read_text()))
    assert sorted(set(documented) - schema) == [], "docs/cases.md names fields the case schema does not have"
    assert sorted(schema - set(documented)) == [], "docs/cases.md leaves out fields of the case schema"


def test_cases_guide_lists_exactly_the_feature_vocabulary() -> None:
    documented = first_column(CASES_DOC.read_text(), "feature")
    assert len(documented) == len(set(documented))
    assert sorted(set(documented) - set(FEATURES)) == [], "docs/cases.md names features not in the vocabulary"
    assert sorted(set(FEATURES) - set(documented)) == [], "docs/cases.md misses features of the vocabulary"


def test_cases_guide_lists_exactly_the_aspects() -> None:
    assert sorted(first_column(CASES_DOC.read_text(), "aspect")) == sorted(ASPECTS)


def test_cases_guide_names_only_registered_checks() -> None:
    text = CASES_DOC.read_text()
    linked = re.findall(r"\]\(checks\.md#([^)]+)\)", text)
    called = re.findall(r"`([a-z_]+)\(", text)  # signatures as checks.md writes them: `json_output(schema=None)`
    yaml_blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    in_yaml = [name for block in yaml_blocks for name in re.findall(r"check:\s*([a-z0-9_]+)", block)]
    in_yaml += [name for block in yaml_blocks for name in re.findall(r"^\s*- ([a-z0-9_]+)\s*$", block, re.M)]
    assert linked and called and in_yaml
    named = set(linked) | set(called) | set(in_yaml)
    assert sorted(named - set(CHECKS)) == [], "docs/cases.md names checks that are not registered"


def test_cases_guide_worked_example_loads(tmp_path: Path) -> None:
    text = fenced_block(CASES_DOC.read_text(), "worked-example")
    path = tmp_path / f"{load_yaml(text)['capability']}.yaml"
    path.write_text(text)
    cases, errors = load_file(path, CHECKS)
    assert [str(e) for e in errors] == []
    assert len(cases) == 2 and {api for case in cases for api in case.apis} == {"chat", "responses"}


def test_cases_guide_broken_example_gives_the_errors_it_shows(tmp_path: Path) -> None:
    text = CASES_DOC.read_text()
    (tmp_path / "suites").mkdir()
    path = tmp_path / "suites" / "broken-demo.yaml"
    path.write_text(fenced_block(text, "broken-example"))
    cases, errors = load_file(path, CHECKS)
    shown = fenced_block(text, "broken-example-errors").splitlines()
    assert cases == [] and [str(e).replace(f"{tmp_path}/", "") for e in errors] == shown
