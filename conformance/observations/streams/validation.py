"""Schema validation of stream events: the fast yes/no path first, jsonschema's wording when something is wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from conformance.api import contracts, fastschema
from conformance.api.validation import role_of, validate_object
from conformance.observations.streams.problems import Problem, excerpt
from conformance.transport.sse import SseEvent


@dataclass(frozen=True)
class _Required:
    """One absent required field, as jsonschema reports it (``'name' is a required property``)."""

    absolute_path: tuple
    message: str
    schema: Any
    validator_value: tuple  # the required names of the contract node
    validator: str = "required"


def _errors(profile: str, name: str, instance: Any, limit: int = 20, invalid: bool = False) -> list[Any]:
    """jsonschema's errors of ``instance``, the first ``limit``; when absent required fields are all that is wrong
    (``fastschema.absent``: old recordings, servers that omit a field on every chunk), the same errors without
    running jsonschema, which is slow on thousands of events (tests/test_perf_equivalence.py). ``invalid``: the
    fast check already found ``instance`` invalid."""
    found = fastschema.absent(profile, name, instance, invalid)
    if found is None:
        return contracts.errors(profile, name, instance, limit)
    out: list[Any] = []
    for place in found:
        for field in place.validator_value:
            if field not in place.instance:
                out.append(_Required(tuple(place.absolute_path), f"{field!r} is a required property", place.schema,
                                     tuple(place.validator_value)))
    return out[:limit]


def schema_problems(profile: str, name: str, instance: Any, event: SseEvent, kind: str,
                    prefix: str = "") -> list[Problem]:
    """Problems of ``instance`` against contract ``name``, grouped by where and how it fails."""
    fast = fastschema.checker(profile, name)
    if fast is not None and fast(instance):
        return []  # valid: skip jsonschema, which is slow on thousands of events
    out = []
    for error in _errors(profile, name, instance, invalid=fast is not None):
        path = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        path = path.lstrip(".")
        missing: tuple[str, ...] = ()
        role = None
        if error.validator == "required":
            found = re.match(r"^'(.+)' is a required property$", error.message)
            missing = (found.group(1),) if found else ()
            role = role_of(error.schema, missing[0]) if missing else None
        message = error.message if len(error.message) <= 140 else error.message[:137] + "..."
        where = f"{path}: " if path else ""
        # one group per place and kind of error, so "absent on 200 deltas" is said once, with a count
        how = message if missing else str(error.validator_value)[:80]
        group = (kind, re.sub(r"\[\d+\]", "[]", path), error.validator, how)
        out.append(Problem("schema", f"{where}{message}", event.index, kind, excerpt(event), missing,
                           bool(missing), group, role == "informational", role))
    return out


def terminal_response_problems(profile: str, response: Any, event: SseEvent) -> list[Problem]:
    """The terminal response passes the non-stream ``response`` contract."""
    fast = fastschema.checker(profile, "response")
    if fast is not None and fast(response):
        return []
    out = []
    for error in validate_object(profile, "response", response):
        pointer = str(error.get("path") or "/").strip("/")
        path = "response" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in pointer.split("/") if p)
        missing = error.get("missing")
        missing = (missing,) if isinstance(missing, str) else tuple(missing or ())
        message = str(error.get("message"))
        group = ("terminal", re.sub(r"\[\d+\]", "[]", path), message)
        out.append(Problem("schema", f"{path}: {message}", event.index, event.type, excerpt(event), missing,
                           bool(missing), group, error.get("role") == "informational", error.get("role")))
    return out
