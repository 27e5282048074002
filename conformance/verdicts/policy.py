"""The verdict policy: how a cell's findings become its one verdict.

When several checks report, the cell takes the most severe verdict (``SEVERITY``).
"""

from __future__ import annotations

from conformance.checks.findings import Failure, Verdict

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


def combine(failures: list[Failure]) -> Verdict:
    """The verdict of a set of findings: the most severe one, or pass when there is none."""
    verdict = Verdict.PASS
    for failure in failures:
        if SEVERITY[failure.verdict] > SEVERITY[verdict]:
            verdict = failure.verdict
    return verdict
