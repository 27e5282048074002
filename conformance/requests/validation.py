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

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from conformance.api.endpoints import Endpoint, classify
from conformance.cases.model import Case, Step

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
        return {k: fill(v, f"{pointer}/{_escape(k)}", unknown) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, f"{pointer}/{i}", unknown) for i, v in enumerate(value)]
    return value


def _escape(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


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
