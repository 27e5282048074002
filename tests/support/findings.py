"""Read the typed ``Missing`` evidence of a finding in assertions."""

from __future__ import annotations

from typing import Any


def missing_fields(failure: Any) -> list[str]:
    """The fields a finding reports absent ([] when none)."""
    return list(failure.missing.fields) if failure.missing is not None else []


def only_missing(failure: Any) -> bool:
    """True when absence is the whole problem of a finding."""
    return failure.missing is not None and failure.missing.only
