"""Load capability cases from ``suites/*.yaml`` and validate them against ``specs/case.schema.json``.

A bad file is reported with its path, line and reason and yields no cases; the
other files still load. Parsing uses PyYAML's C loader; line numbers are looked
up (with a second, node-level parse) only when a file is invalid.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from conformance.checks import CHECKS

SPECS = Path(__file__).resolve().parent.parent / "specs"
CASE_SCHEMA = SPECS / "case.schema.json"
APIS = ("chat", "responses")
DEFAULT_PATHS = {"chat": "/chat/completions", "responses": "/responses"}


@dataclass
class Step:
    name: str
    method: str = "POST"
    path: str = ""
    body: dict[str, Any] | None = None
    raw: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    expect_status: Any = "2xx"
    poll: dict[str, Any] | None = None


@dataclass
class Expectation:
    check: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Case:
    capability: str
    id: str
    description: str
    claim: dict[str, dict[str, str]]
    steps: dict[str, list[Step]]  # per API
    expect: dict[str, list[Expectation]]  # per API (common ones included)
    requires: list[str] = field(default_factory=list)
    stream: Any = False
    source: str = ""  # file:line of the case, for reports

    @property
    def apis(self) -> list[str]:
        return [api for api in APIS if api in self.steps]

    def stream_modes(self) -> list[bool]:
        return {False: [False], True: [True], "both": [False, True]}[self.stream]


@dataclass
class CaseFileError:
    path: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.reason}"


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(CASE_SCHEMA.read_text()))


def _line_of(text: str, path: list[Any]) -> int | None:
    """The 1-based line of the YAML node at a JSON path (None if it cannot be found)."""
    try:
        node = yaml.compose(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node else None
    for key in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def _expectations(items: list[Any] | None) -> list[Expectation]:
    out = []
    for item in items or []:
        if isinstance(item, str):
            out.append(Expectation(item))
        else:
            params = {k: v for k, v in item.items() if k != "check"}
            out.append(Expectation(item["check"], params))
    return out


def _steps(api: str, spec: dict[str, Any]) -> list[Step]:
    raw_steps = spec["steps"] if "steps" in spec else [{"name": "main", **spec["request"]}]
    steps = []
    for raw in raw_steps:
        method = raw.get("method", "POST")
        steps.append(
            Step(
                name=raw["name"],
                method=method,
                path=raw.get("path", DEFAULT_PATHS[api]),
                body=raw.get("body"),
                raw=raw.get("raw"),
                headers=dict(raw.get("headers") or {}),
                expect_status=raw.get("expect_status", "2xx"),
                poll=raw.get("poll"),
            )
        )
    return steps


def _semantic_errors(data: dict[str, Any], file_stem: str) -> list[tuple[list[Any], str]]:
    """Rules a JSON Schema cannot say: file name, unique ids, known checks, known steps."""
    errors: list[tuple[list[Any], str]] = []
    if data["capability"] != file_stem:
        errors.append((["capability"], f"capability {data['capability']!r} must equal the file name {file_stem!r}"))
    seen: set[str] = set()
    for i, case in enumerate(data["cases"]):
        if case["id"] in seen:
            errors.append((["cases", i, "id"], f"duplicate case id {case['id']!r}"))
        seen.add(case["id"])
        for api in APIS:
            if api in case and api not in case["claim"]:
                errors.append((["cases", i, "claim"], f"case {case['id']!r} runs on {api} but has no claim for it"))
        for where, items in [(["cases", i, "expect"], case.get("expect"))] + [
            ([ "cases", i, api, "expect"], (case.get(api) or {}).get("expect")) for api in APIS
        ]:
            for j, item in enumerate(items or []):
                name = item if isinstance(item, str) else item.get("check")
                if name not in CHECKS:
                    close = difflib.get_close_matches(str(name), CHECKS, n=3)
                    hint = f"; did you mean {', '.join(close)}?" if close else "; `conformance checks` lists them"
                    errors.append((where + [j], f"unknown check {name!r}{hint}"))
        for api in APIS:
            steps = (case.get(api) or {}).get("steps") or []
            names = [s["name"] for s in steps]
            if len(set(names)) != len(names):
                errors.append((["cases", i, api, "steps"], "step names must be unique"))
    return errors


def load_file(path: Path) -> tuple[list[Case], list[CaseFileError]]:
    """Load one capability file: its cases, or the errors that make it unusable."""
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [], [CaseFileError(str(path), mark.line + 1 if mark else None, f"invalid YAML: {exc}")]
    schema_errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if schema_errors:
        return [], [
            CaseFileError(str(path), _line_of(text, list(e.absolute_path)), f"{e.message} (at /{'/'.join(map(str, e.absolute_path))})")
            for e in schema_errors[:5]
        ]
    semantic = _semantic_errors(data, path.stem)
    if semantic:
        return [], [CaseFileError(str(path), _line_of(text, where), reason) for where, reason in semantic]
    cases = []
    for i, raw in enumerate(data["cases"]):
        common = _expectations(raw.get("expect"))
        cases.append(
            Case(
                capability=data["capability"],
                id=raw["id"],
                description=raw["description"],
                claim=raw["claim"],
                steps={api: _steps(api, raw[api]) for api in APIS if api in raw},
                expect={api: common + _expectations(raw[api].get("expect")) for api in APIS if api in raw},
                requires=list(raw.get("requires") or []),
                stream=raw.get("stream", False),
                source=f"{path}:{_line_of(text, ['cases', i]) or 0}",
            )
        )
    return cases, []


def load_suites(directory: str | Path) -> tuple[list[Case], list[CaseFileError]]:
    """Load every ``*.yaml`` capability file in a directory, sorted by name."""
    cases: list[Case] = []
    errors: list[CaseFileError] = []
    for path in sorted(Path(directory).glob("*.yaml")):
        found, problems = load_file(path)
        cases.extend(found)
        errors.extend(problems)
    return cases, errors
