"""Our own requests are checked before they are sent: every case body against a request schema.

A case's body holds placeholders (``${model}``, ``${create.id}``, a whole earlier object) that are only
known at run time. For validation they are filled with a value of the right kind where one is known
(a model name, a data URL for an asset) and otherwise left out of the judgement: a problem located at
(or inside) a placeholder is not the case's fault.

A negative case says where it breaks the schema on purpose (``breaks:`` JSON pointers on its request or
step). Problems there are expected; a problem anywhere else is a bug in the case. ``strict`` validators
(our own request contracts, which we control) must also find every declared break, so a declaration
cannot outlive the mistake it names; a permissive validator (the official spec allows unknown
parameters) only has to find nothing else.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Iterable

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conformance.api.contracts import ContractMissing, specs_path
from conformance.api.endpoints import APIS, Endpoint, classify, other_api
from conformance.api.vocabulary import ONLY_PARAMETERS
from conformance.cases.model import Case, CaseFileError, Step
from conformance.parsing import pointer_token

PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
# (JSON pointer of the problem, message) for one body
Validate = Callable[[Endpoint, Any], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class BodyProblem:
    """A place where a case's request body breaks a request schema, or a declared break that is not there."""

    case: str
    api: str
    step: str
    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.case} ({self.api}, step {self.step}) at {self.pointer or '/'}: {self.message}"


def _stand_in(name: str) -> Any:
    """A value of the right kind for a placeholder, or None when its kind is only known at run time."""
    if name == "model" or name.startswith("model."):
        return "gpt-4o-mini"
    if name.startswith("asset:"):
        return "data:image/png;base64,iVBORw0KGgo="
    return None


def fill(value: Any, pointer: str = "", unknown: list[str] | None = None) -> Any:
    """``value`` with its placeholders replaced by stand-ins; the pointers of unknown ones go to ``unknown``."""
    unknown = unknown if unknown is not None else []
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            stand_in = _stand_in(whole.group(1))
            if stand_in is None:
                unknown.append(pointer)
                return "placeholder"
            return stand_in
        return PLACEHOLDER.sub(lambda m: str(_stand_in(m.group(1)) or "x"), value)
    if isinstance(value, dict):
        return {k: fill(v, f"{pointer}/{pointer_token(k)}", unknown) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, f"{pointer}/{i}", unknown) for i, v in enumerate(value)]
    return value


def _within(pointer: str, base: str) -> bool:
    return pointer == base or pointer.startswith(base + "/")


def step_endpoint(step: Step) -> Endpoint | None:
    """The endpoint a step's request goes to (its path's placeholders do not change which)."""
    return classify(step.method, "/v1" + PLACEHOLDER.sub("x", step.path))


def body_problems(case: Case, validate: Validate, *, strict: bool) -> list[BodyProblem]:
    """Every problem of ``case``'s JSON bodies (all APIs, all steps) under ``validate``, declared breaks aside."""
    found: list[BodyProblem] = []
    for api, steps in case.steps.items():
        for step in steps:
            route = step_endpoint(step)
            if step.body is None or route is None:
                continue
            unknown: list[str] = []
            body = fill(step.body, "", unknown)
            seen = [(pointer, message) for pointer, message in validate(route, body)
                    if not any(_within(pointer, u) or _within(u, pointer) and pointer for u in unknown)]
            for pointer, message in seen:
                if not any(_within(pointer, b) for b in step.breaks):
                    found.append(BodyProblem(case.id, api, step.name, pointer, message))
            if strict:
                for declared in step.breaks:
                    if not any(_within(pointer, declared) for pointer, _ in seen):
                        found.append(BodyProblem(case.id, api, step.name, declared,
                                                 "declared in `breaks`, but the body does not break the schema there"))
    return found


@lru_cache(maxsize=None)
def _own_validator(api: str) -> jsonschema.Draft202012Validator | None:
    """The validator of our own request contract for ``api``'s create body (None for an API we write none for, the
    Conversations API say); ContractMissing when the package lacks one of the two text-generation APIs' (an
    incomplete install must not pass every body unchecked)."""
    folder = specs_path("requests")
    path = folder / "cases" / f"{api}.create.json"
    if not path.is_file() and api not in APIS:
        return None
    if not path.is_file():
        raise ContractMissing(f"our request contract {path} is missing: the installed package is incomplete")
    resources = [(p.relative_to(folder).as_posix(), Resource(json.loads(p.read_text()), specification=DRAFT202012))
                 for p in folder.rglob("*.json")]
    schema = json.loads(path.read_text())
    schema["$id"] = "cases/" + path.name
    return jsonschema.Draft202012Validator(schema, registry=Registry().with_resources(resources))


def validate_own(route: Endpoint, body: Any) -> list[tuple[str, str]]:
    """Problems of a create body under our own request contract (``specs/requests/cases/<api>.create.json``)
    and the vocabulary's one-API parameters (a parameter of the other API is a 400 from OpenAI)."""
    validator = _own_validator(route.api) if route.role == "create" else None
    if validator is None or not isinstance(body, dict):
        return []
    found = []
    for error in validator.iter_errors(body):
        path = [str(p) for p in error.absolute_path]
        if error.validator == "required":
            missing = [name for name in error.validator_value if name not in error.instance]
            path += missing[:1]  # a missing field is located where it should be
        elif error.validator == "anyOf" and all(set(alt) == {"required"} for alt in error.validator_value):
            path += error.validator_value[0]["required"][:1]  # none of the alternatives: where the first belongs
        found.append(("/" + "/".join(pointer_token(p) for p in path) if path else "", error.message[:200]))
    other = ONLY_PARAMETERS.get(other_api(route.api), ())
    for name in other:
        if name in body and name not in ONLY_PARAMETERS.get(route.api, ()):
            found.append((f"/{pointer_token(name)}", f"{name!r} is a parameter of the other API: OpenAI answers 400"))
    return found


def check_cases(cases: list[Case]) -> tuple[list[Case], list[CaseFileError]]:
    """The cases whose bodies hold under our own request contracts, and a load error for each that does not
    (at the case's file and line, naming every problem)."""
    good, errors = [], []
    for case in cases:
        problems = body_problems(case, validate_own, strict=True)
        if not problems:
            good.append(case)
            continue
        path, _, line = case.source.rpartition(":")
        reason = f"case {case.id!r}: invalid request body: " + "; ".join(
            f"{p.api} step {p.step} at {p.pointer or '/'}: {p.message}" for p in problems[:5])
        errors.append(CaseFileError(path or case.source, int(line) if line.isdigit() else None, reason))
    return good, errors
