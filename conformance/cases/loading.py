"""Load capability cases from ``suites/*.yaml`` and validate them before anything runs.

A file is checked against ``specs/case.schema.json`` (its shape), then against what a schema cannot
say: the file name, unique ids, claims for each API run, steps that exist before they are referred
to, model roles and assets that placeholders name, feature names from the vocabulary, check names and
parameters from the check registry (passed in by the caller: this layer does not import the checks),
and the steps ``step:``/``of:`` name. Each problem is reported with
the file, line and, for a misspelt name, the nearest valid one; a bad file yields no cases and the
others still load.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Protocol

import jsonschema
import yaml

from conformance.api.contracts import package_path, specs_path
from conformance.api.endpoints import APIS, CREATE
from conformance.api.vocabulary import FEATURES, MODEL_ROLES
from conformance.cases.model import Case, CaseFileError, Expectation, Step
from conformance.parsing import ParseError, load_yaml

# Placeholder names that are not steps (see conformance/requests/placeholders.py).
_NOT_STEPS = re.compile(r"^(model(\..*)?|resource\..*|asset:.*|run\.id)$")
_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


class CheckSpec(Protocol):
    """What the loader needs to know of a registered check."""

    def params(self) -> list[str]: ...

    def bind_error(self, params: dict[str, Any]) -> str | None: ...


def builtin_suites() -> Path:
    """The capability files shipped with the package."""
    return package_path("suites")


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(specs_path("case.schema.json").read_text()))


def line_of(text: str, path: list[Any]) -> int | None:
    """The 1-based line of the YAML node at a JSON path (None if it cannot be found)."""
    try:
        node = yaml.compose(text, Loader=yaml.CSafeLoader)
    except (yaml.YAMLError, RecursionError):
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


def nearest(name: str, known: Iterable[str], what: str) -> str:
    """``unknown <what> 'name'; did you mean ...?`` with the closest known names."""
    close = difflib.get_close_matches(str(name), list(known), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(known))}"
    return f"unknown {what} {name!r}{hint}"


def _expectations(items: list[Any] | None) -> list[Expectation]:
    out = []
    for item in items or []:
        if isinstance(item, str):
            out.append(Expectation(item))
        else:
            out.append(Expectation(item["check"], {k: v for k, v in item.items() if k != "check"}))
    return out


def _steps(api: str, spec: dict[str, Any]) -> list[Step]:
    raw_steps = spec["steps"] if "steps" in spec else [{"name": "main", **spec["request"]}]
    return [
        Step(
            name=raw["name"],
            method=raw.get("method", "POST"),
            path=raw.get("path", CREATE[api].path()),
            body=raw.get("body"),
            raw=raw.get("raw"),
            headers=dict(raw.get("headers") or {}),
            expect_status=raw.get("expect_status", "2xx"),
            poll=raw.get("poll"),
            breaks=list(raw.get("breaks") or []),
            upload=raw.get("upload"),
            cleanup=bool(raw.get("cleanup", False)),
        )
        for raw in raw_steps
    ]


def _placeholders(value: Any) -> set[str]:
    """Every placeholder name in a request's strings (``${create.id}`` -> ``create.id``)."""
    found: set[str] = set()
    if isinstance(value, str):
        found.update(_PLACEHOLDER.findall(value))
    elif isinstance(value, dict):
        for inner in value.values():
            found |= _placeholders(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _placeholders(inner)
    return found


def _referenced_steps(value: Any) -> set[str]:
    """The step names a request's placeholders refer to (``${create.id}`` -> ``create``)."""
    return {name.split(".", 1)[0] for name in _placeholders(value) if not _NOT_STEPS.match(name)}


def _unknown_model_roles(value: Any) -> list[str]:
    """``${model.ROLE}`` placeholders whose role is not one a target can map (``${model.vison}``)."""
    return sorted(name for name in _placeholders(value)
                  if name.startswith("model.") and name[len("model."):] not in MODEL_ROLES)


def _missing_assets(value: Any) -> list[str]:
    """``${asset:NAME}`` placeholders whose file is not in the package's ``suites/assets/``."""
    folder = builtin_suites() / "assets"
    return sorted(name for name in _placeholders(value)
                  if name.startswith("asset:") and not (folder / name[len("asset:"):]).is_file())


def _step_rules(step: dict[str, Any], before: list[dict[str, Any]]) -> list[str]:
    """Rules of the upload and cleanup fields: an uploaded asset exists; cleanup steps come last."""
    problems = []
    asset = (step.get("upload") or {}).get("asset")
    if asset is not None and not (builtin_suites() / "assets" / asset).is_file():
        problems.append(f"step {step['name']!r}: upload.asset {asset!r}: no such file in {builtin_suites() / 'assets'}")
    cleanups = [s["name"] for s in before if s.get("cleanup")]
    if cleanups and not step.get("cleanup"):
        problems.append(f"step {step['name']!r} comes after cleanup step {cleanups[0]!r}: cleanup steps come last")
    return problems


def _check_errors(where: list[Any], items: list[Any] | None, checks: Mapping[str, CheckSpec],
                  steps: Mapping[str, set[str]]) -> list[tuple[list[Any], str]]:
    """Unknown checks, unknown or refused parameters, and ``step:``/``of:`` naming no step of an API
    the expectation runs on (``steps``: API -> its step names)."""
    errors = []
    for j, item in enumerate(items or []):
        name = item if isinstance(item, str) else item.get("check")
        if name not in checks:
            errors.append((where + [j], nearest(name, checks, "check")))
            continue
        params = {} if isinstance(item, str) else {k: v for k, v in item.items() if k not in ("check", "step")}
        known = checks[name].params()
        unknown = [key for key in params if key not in known]
        for key in unknown:
            reason = nearest(key, known, "parameter") if known else f"unknown parameter {key!r}; it takes none"
            errors.append((where + [j, key], f"check {name!r}: {reason}"))
        problem = None if unknown else checks[name].bind_error(params)
        if problem is not None:
            errors.append((where + [j], f"check {name!r}: {problem}"))
        if isinstance(item, dict):
            for key in ("step", "of"):
                ref = item.get(key)
                lacking = [api for api, names in steps.items() if isinstance(ref, str) and ref not in names]
                if lacking:
                    names = set().union(*(steps[api] for api in lacking))
                    what = "step" if len(lacking) == len(steps) == 1 else f"step of {' and '.join(lacking)}"
                    errors.append((where + [j, key], f"check {name!r}: {key}: {nearest(ref, names, what)}"))
    return errors


def semantic_errors(data: dict[str, Any], file_stem: str,
                    checks: Mapping[str, CheckSpec]) -> list[tuple[list[Any], str]]:
    """Rules a JSON Schema cannot say: file name, unique ids, claims, steps, features, checks and parameters."""
    errors: list[tuple[list[Any], str]] = []
    if data["capability"] != file_stem:
        errors.append((["capability"], f"capability {data['capability']!r} must equal the file name {file_stem!r}"))
    seen: set[str] = set()
    for i, case in enumerate(data["cases"]):
        here = ["cases", i]
        if case["id"] in seen:
            errors.append((here + ["id"], f"duplicate case id {case['id']!r}"))
        seen.add(case["id"])
        for k, feature in enumerate(case.get("requires") or []):
            if feature not in FEATURES:
                errors.append((here + ["requires", k], nearest(feature, FEATURES, "feature")))
        all_steps: dict[str, set[str]] = {}
        for api in APIS:
            spec = case.get(api)
            if spec is None:
                continue
            if api not in case["claim"]:
                errors.append((here + ["claim"], f"case {case['id']!r} runs on {api} but has no claim for it"))
            steps = spec.get("steps") or [{"name": "main", **(spec.get("request") or {})}]
            names = [s["name"] for s in steps]
            if len(set(names)) != len(names):
                errors.append((here + [api, "steps"], "step names must be unique"))
            earlier: set[str] = set()
            for k, step in enumerate(steps):
                where = here + [api, "steps", k] if "steps" in spec else here + [api, "request"]
                for ref in sorted(_referenced_steps([step.get("path"), step.get("body"), step.get("upload"),
                                                          step.get("poll")]) - earlier):
                    errors.append((where, f"step {step['name']!r} refers to ${{{ref}...}}, which is not an earlier "
                                          f"step of this API (earlier: {', '.join(sorted(earlier)) or 'none'})"))
                for name in _unknown_model_roles([step.get("path"), step.get("body")]):
                    errors.append((where, f"step {step['name']!r}: ${{{name}}}: "
                                          f"{nearest(name[len('model.'):], MODEL_ROLES, 'model role')}"))
                for asset in _missing_assets([step.get("path"), step.get("body")]):
                    errors.append((where, f"step {step['name']!r}: ${{{asset}}}: no such file in "
                                          f"{builtin_suites() / 'assets'}"))
                errors += [(where, reason) for reason in _step_rules(step, steps[:k])]
                earlier.add(step["name"])
            all_steps[api] = earlier
            errors += _check_errors(here + [api, "expect"], spec.get("expect"), checks, {api: earlier})
        # a common expectation runs on every API of the case: the step it names must exist in each
        errors += _check_errors(here + ["expect"], case.get("expect"), checks, all_steps)
    return errors


def load_file(path: Path, checks: Mapping[str, CheckSpec]) -> tuple[list[Case], list[CaseFileError]]:
    """Load one capability file: its cases, or the errors that make it unusable."""
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [CaseFileError(str(path), None, f"cannot read as UTF-8 text: {exc}")]
    try:
        data = load_yaml(text)
    except ParseError as exc:
        return [], [CaseFileError(str(path), exc.line, str(exc))]
    schema_errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if schema_errors:
        return [], [
            CaseFileError(str(path), line_of(text, list(e.absolute_path)),
                          f"{e.message[:300]} (at /{'/'.join(map(str, e.absolute_path))})")
            for e in schema_errors[:5]
        ]
    semantic = semantic_errors(data, path.stem, checks)
    if semantic:
        return [], [CaseFileError(str(path), line_of(text, where), reason) for where, reason in semantic]
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
                source=f"{path}:{line_of(text, ['cases', i]) or 0}",
            )
        )
    return cases, []


def load_suites(directory: str | Path, checks: Mapping[str, CheckSpec]) -> tuple[list[Case], list[CaseFileError]]:
    """Load every ``*.yaml`` (or ``*.yml``) capability file in a directory, sorted by name."""
    cases: list[Case] = []
    errors: list[CaseFileError] = []
    paths = [p for p in Path(directory).iterdir() if p.suffix in (".yaml", ".yml")] if Path(directory).is_dir() else []
    for path in sorted(paths):
        found, problems = load_file(path, checks)
        cases.extend(found)
        errors.extend(problems)
    return cases, errors
