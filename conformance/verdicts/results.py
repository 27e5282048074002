"""The result of one case x API x target (x stream mode): its verdict, findings and what was sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.checks.findings import Failure, Verdict


@dataclass
class CaseResult:
    """The judged outcome of one case x API x target (x stream mode)."""

    target: str
    capability: str
    case: str
    api: str
    stream: bool
    verdict: Verdict  # the case's verdict (its own checks, root cause first): conformance/verdicts/policy.py
    failures: list[Failure] = field(default_factory=list)  # in reading order: root cause, case, shape, follows
    shape: Verdict = Verdict.PASS  # the verdict of the checks run on every answer (the cell's shape marker)
    claim: dict[str, str] = field(default_factory=dict)
    claims: dict[str, dict[str, str]] = field(default_factory=dict)  # the case's claims for both APIs
    declared_missing: dict[str, str] = field(default_factory=dict)  # requires ∩ target.lacks
    profile: str = "compat"
    description: str = ""
    source: str = ""
    cassette: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0
    intermittent: list[str] = field(default_factory=list)  # checks with findings the target declares intermittent
    probe: str = "feature"  # "rejection" when the case checks that this API rejects the request (a 4xx)

    @property
    def key(self) -> str:
        """Stable name of the result: ``capability/case.api[.stream]``."""
        return f"{self.capability}/{self.case}.{self.api}" + (".stream" if self.stream else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "capability": self.capability,
            "case": self.case,
            "api": self.api,
            "stream": self.stream,
            "verdict": self.verdict.value,
            "shape": self.shape.value,
            "failures": [f.as_dict() for f in self.failures],
            "claim": self.claim,
            "claims": self.claims,
            "declared_missing": self.declared_missing,
            "profile": self.profile,
            "description": self.description,
            "source": self.source,
            "cassette": self.cassette,
            "steps": self.steps,
            "duration": round(self.duration, 3),
            "intermittent": self.intermittent,
            "probe": self.probe,
        }


def result_from_dict(record: dict[str, Any]) -> CaseResult:
    """Rebuild a CaseResult from its ``as_dict`` form (results travel between xdist workers as dicts)."""
    failures = [Failure.from_dict(f) for f in record["failures"]]
    known = set(CaseResult.__dataclass_fields__)
    fields = {k: v for k, v in record.items() if k in known and k not in ("failures", "verdict", "shape")}
    return CaseResult(**fields, verdict=Verdict(record["verdict"]), failures=failures,
                      shape=Verdict(record.get("shape", "pass")))
