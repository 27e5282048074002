"""Verdicts and the typed failures checks raise.

A check is a plain function that returns when the behaviour holds and raises a
``CheckFailure`` subclass when it does not; the subclass decides the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Verdict(str, Enum):
    """The honest, distinct outcomes of one case x API x target."""

    PASS = "pass"
    FAIL = "fail"  # supported, but wrong
    UNSUPPORTED = "unsupported"  # explicitly rejected (4xx), or declared missing and not run
    IGNORED = "ignored"  # accepted (2xx) but the behaviour is absent
    NOT_RECORDED = "not-recorded"  # replay with no cassette
    ERROR = "error"  # a problem of the suite, its config or the transport
    STALE = "stale"  # audit only: valid when recorded, lacks what the API sends today
    SKIP = "skip"  # audit only: not a Chat Completions or Responses interaction

    def __str__(self) -> str:
        return self.value


# When several checks fail, the case takes the most severe verdict.
SEVERITY = {
    Verdict.PASS: 0,
    Verdict.SKIP: 0,
    Verdict.STALE: 1,
    Verdict.NOT_RECORDED: 2,
    Verdict.UNSUPPORTED: 3,
    Verdict.IGNORED: 4,
    Verdict.FAIL: 5,
    Verdict.ERROR: 6,
}


class CheckFailure(AssertionError):
    """A check found the behaviour wrong. Subclasses pick a gentler verdict."""

    verdict = Verdict.FAIL

    def __init__(self, message: str, evidence: Any = None):
        super().__init__(message)
        self.message = message
        self.evidence = evidence


class Unsupported(CheckFailure):
    """The target rejected the feature explicitly (a 4xx answer)."""

    verdict = Verdict.UNSUPPORTED


class Ignored(CheckFailure):
    """The target accepted the request but the behaviour is absent."""

    verdict = Verdict.IGNORED


class Stale(CheckFailure):
    """A recording lacks something the API only started sending later."""

    verdict = Verdict.STALE


class HarnessError(CheckFailure):
    """The suite itself could not judge (bad case, missing step, transport error)."""

    verdict = Verdict.ERROR


@dataclass(frozen=True)
class Failure:
    """One check's finding, as reported."""

    check: str
    message: str
    verdict: Verdict = Verdict.FAIL
    step: str | None = None
    evidence: Any = field(default=None, compare=False)

    def as_dict(self) -> dict:
        out = {"check": self.check, "message": self.message, "verdict": self.verdict.value}
        if self.step:
            out["step"] = self.step
        if self.evidence is not None:
            out["evidence"] = self.evidence
        return out


def combine(failures: list[Failure]) -> Verdict:
    """The verdict of a set of findings: the most severe one, or pass when there is none."""
    verdict = Verdict.PASS
    for failure in failures:
        if SEVERITY[failure.verdict] > SEVERITY[verdict]:
            verdict = failure.verdict
    return verdict
