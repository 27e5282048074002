"""What checks report: verdicts, the typed failures checks raise, and the findings they become.

A check is a plain function that returns when the behaviour holds and raises a
``CheckFailure`` subclass when it does not; the subclass names the verdict the
finding argues for. ``Missing`` is the typed evidence that a finding is (only)
about absent fields, which the audit's stale-vs-fail judgement reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable


class Verdict(str, Enum):
    """The honest, distinct outcomes of one case x API x target (and of one audited interaction)."""

    PASS = "pass"
    FAIL = "fail"  # supported, but wrong
    UNSUPPORTED = "unsupported"  # explicitly rejected (4xx), or declared missing and not run
    IGNORED = "ignored"  # accepted (2xx) but the behaviour is absent
    NOT_RECORDED = "not-recorded"  # replay with no cassette
    ERROR = "error"  # a problem of the suite, its configuration or the user's setup, never the server's
    STALE = "stale"  # audit only: valid when recorded, lacks what the API sends today
    SKIP = "skip"  # audit only: not a Chat Completions or Responses interaction

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Missing:
    """Fields (or events) a finding reports absent; ``only`` when absence is the whole problem.

    Made by checks (``absent(...)``) and read by the audit: a recording that only lacks fields OpenAI
    started sending after it was recorded is ``stale``, not ``fail``. ``informational`` names the
    absent fields whose contract says OpenAI does not always send them (their absence is never a
    failure); the others are protocol fields. ``roles`` says whether the check knew the roles (the
    contract-based checks do; others, e.g. the official-document ``openapi`` check, do not, and the
    audit then takes any late-field entry of the name).
    """

    fields: tuple[str, ...]
    only: bool = True
    informational: tuple[str, ...] = ()
    roles: bool = False

    @property
    def protocol(self) -> tuple[str, ...]:
        """The absent fields whose absence can be a failure."""
        return tuple(name for name in self.fields if name not in self.informational)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"fields": list(self.fields), "only": self.only}
        if self.roles:
            out["informational"] = list(self.informational)
        return out


def absent(fields: Iterable[Any], only: bool = True, informational: Iterable[Any] | None = None,
           roles: bool | None = None) -> Missing | None:
    """The Missing evidence for ``fields`` (None when there are none); ``informational``: the subset whose
    absence is information, not a failure; ``roles``: whether the check knew every field's role (by default,
    when it gave ``informational`` at all)."""
    names = tuple(dict.fromkeys(str(f) for f in fields))
    info = {str(f) for f in informational or ()}
    known = informational is not None if roles is None else roles
    return Missing(names, bool(only), tuple(n for n in names if n in info), known) if names else None


class CheckFailure(AssertionError):
    """A check found the behaviour wrong. Subclasses argue for a gentler verdict."""

    verdict = Verdict.FAIL

    def __init__(self, message: str, evidence: Any = None, missing: Missing | None = None, root: bool = False):
        super().__init__(message)
        self.message = message
        self.evidence = evidence
        self.missing = missing
        self.root = root  # the answer cannot be judged further (no answer, wrong status, not the expected body)


class Unsupported(CheckFailure):
    """The target rejected the feature explicitly (a 4xx answer)."""

    verdict = Verdict.UNSUPPORTED


class Ignored(CheckFailure):
    """The target accepted the request but the behaviour is absent."""

    verdict = Verdict.IGNORED


class Stale(CheckFailure):
    """A recording lacks something the API only started sending later."""

    verdict = Verdict.STALE


class Note(CheckFailure):
    """Information a check reports without arguing against the target (shown beside the verdict, never
    changing it): e.g. what the SDK's strict models say of an answer its runtime accepts."""

    verdict = Verdict.PASS


class HarnessError(CheckFailure):
    """The suite itself could not judge (bad case, missing step, bad setup)."""

    verdict = Verdict.ERROR


@dataclass(frozen=True)
class Failure:
    """One check's finding, as reported."""

    check: str
    message: str
    verdict: Verdict = Verdict.FAIL
    step: str | None = None
    evidence: Any = field(default=None, compare=False)
    missing: Missing | None = field(default=None, compare=False)
    # What the verdict policy made of it (conformance/verdicts/policy.py): "root" (the answer could not be judged
    # further), "case" (one of the case's own checks), "shape" (a check run on every answer), or "follows"
    # (follows from the root cause named by ``cause``; not counted).
    role: str | None = field(default=None, compare=False)
    cause: str | None = field(default=None, compare=False)

    def as_dict(self) -> dict:
        out: dict[str, Any] = {"check": self.check, "message": self.message, "verdict": self.verdict.value}
        if self.role:
            out["role"] = self.role
        if self.step:
            out["step"] = self.step
        if self.evidence is not None:
            out["evidence"] = self.evidence
        if self.missing is not None:
            out["missing"] = self.missing.as_dict()
        if self.cause:
            out["cause"] = self.cause
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Failure":
        """The inverse of ``as_dict`` (results travel between processes as dicts)."""
        missing = data.get("missing")
        return cls(data["check"], data["message"], Verdict(data["verdict"]), data.get("step"), data.get("evidence"),
                   Missing(tuple(missing["fields"]), missing["only"], tuple(missing.get("informational", ())),
                           "informational" in missing) if isinstance(missing, dict) else None,
                   data.get("role"), data.get("cause"))
