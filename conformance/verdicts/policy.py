"""The verdict policy: how the findings of one cell (case x API x target x stream mode) become its verdict.

The written rules (README, "Reading the matrix"; tests/test_policy.py holds each to a recorded example):

1. Root cause first. A finding that leaves the answer unjudgeable (no answer, an unexpected status, a JSON
   body to a stream request, a body that is not the expected JSON object, the other API's container) is the
   cell's root cause. Every other finding on that step, and on the steps after it, only follows from it: it is
   kept, marked ``follows`` with the root's check as its ``cause``, and not counted.
2. The case's own checks make the verdict. Checks that run on every answer (schema, shape, stream grammar)
   judge the answer's shape; unless the case names them, their findings are reported as the cell's ``shape``
   marker beside the verdict, so one systematic deviation (a placeholder argument string on every chat
   answer) does not turn every cell of a column into ``fail``.
3. The most severe counted finding wins (``SEVERITY``); no counted finding is ``pass``.

What each check answers (rules the checks apply, here for the reader):
- behaviour absent after a 2xx (an instruction not followed, a tool not called, JSON not produced, storage
  not kept) is ``ignored`` for every behavioural check alike; a malformed result is ``fail``;
- an explicit 4xx to a supported request is ``unsupported``; a 404/405 because the route does not exist is
  ``unsupported`` for every cell of that endpoint, error cases included;
- 401/403 is ``error`` (the key: check ``--api-key-env``), never the server's fault;
- no answer within the timeout is ``fail`` (the server's fault); a connection never made is ``error``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from conformance.checks.findings import Failure, Verdict

# When several findings count, the cell takes the most severe verdict.
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
# Among root causes on one step, the first in this order is the cause: the outermost layer that broke.
ROOT_ORDER = ("setup", "request", "sdk_request", "status", "stream_content_type", "schema", "output_container")



def combine(failures: list[Failure]) -> Verdict:
    """The most severe verdict of ``failures``, or pass when there is none."""
    verdict = Verdict.PASS
    for failure in failures:
        if SEVERITY[failure.verdict] > SEVERITY[verdict]:
            verdict = failure.verdict
    return verdict


@dataclass
class Judgement:
    """A cell's verdict, its shape marker, and its findings in reading order (root cause first)."""

    verdict: Verdict
    shape: Verdict
    failures: list[Failure]


def _root_rank(failure: Failure) -> int:
    return ROOT_ORDER.index(failure.check) if failure.check in ROOT_ORDER else len(ROOT_ORDER)


def judge(failures: list[Failure], steps: list[str], shape_checks: set[str]) -> Judgement:
    """Apply the policy to a cell's findings.

    ``steps`` are the cell's steps in the order they ran (companion steps included); ``shape_checks`` the
    checks that run on every answer and that the case does not name itself.
    """
    order = {step: position for position, step in enumerate(steps)}
    roots: dict[str | None, Failure] = {}
    for failure in failures:
        if failure.role == "root" and failure.verdict is not Verdict.PASS:
            current = roots.get(failure.step)
            if current is None or _root_rank(failure) < _root_rank(current):
                roots[failure.step] = failure
    # the earliest step with a root cause: everything on it, or after it, follows from that cause
    first_root = min(roots.values(), key=lambda f: (order.get(f.step, len(order)), _root_rank(f)), default=None)
    cut = order.get(first_root.step, -1) if first_root is not None else None
    judged: list[Failure] = []
    for failure in failures:
        if failure.verdict is Verdict.PASS:
            role, cause = "note", None
        elif failure is roots.get(failure.step) and (cut is None or order.get(failure.step, -1) <= cut):
            role, cause = "root", None
        elif first_root is not None and order.get(failure.step, len(order)) >= cut:
            owner = roots.get(failure.step) or first_root
            role, cause = "follows", owner.check
        elif failure.check in shape_checks:
            role, cause = "shape", None
        else:
            role, cause = "case", None
        judged.append(replace(failure, role=role, cause=cause))
    judged.sort(key=lambda f: ("root", "case", "shape", "note", "follows").index(f.role))
    return Judgement(
        verdict=combine([f for f in judged if f.role in ("root", "case")]),
        shape=combine([f for f in judged if f.role == "shape"]),
        failures=judged,
    )


def is_setup(failure: Failure) -> bool:
    """True for an error of the user's setup (a resource not given, a key refused, no server to connect to),
    as opposed to a fault of the suite itself: its evidence says which part of the setup."""
    return failure.verdict is Verdict.ERROR and isinstance(failure.evidence, dict) and bool(failure.evidence.get("setup"))


def counted(failures: list[Failure]) -> list[Failure]:
    """The findings that make a cell's verdict or its shape marker (not notes, not consequences)."""
    return [f for f in failures if f.role not in ("note", "follows") and f.verdict is not Verdict.PASS]
