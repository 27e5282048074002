"""The fuzz run of one API: coverage cases, seeded generation, then shrinking of each finding.

1. *Coverage* (deterministic, no randomness): schemathesis' coverage phase for each operation (missing
   required properties, wrong types, enum and range boundaries, unexpected methods), ordered so that a
   small budget takes one case of each kind first (``order_coverage``).
2. *Generation*: positive (valid) and negative (invalid) cases drawn by Hypothesis from schemathesis'
   strategies, with a seed per operation and mode. The test never fails here: every answer is judged and
   each distinct problem (its signature) is kept with the requests that showed it. (Failing would stop
   Hypothesis soon after the first problem, and one problem on every answer would hide all the others.)
3. *Shrinking*: for each finding seen in generation, most severe first, the same seeded test is run again
   with Hypothesis' shrinker, failing only for that finding's signature. Generation is identical up to the
   first failing example (those requests come from the cache), so only the shrinker's new candidates are
   sent, from the shrink budget, at most ``shrink_per_finding`` each. Findings seen only in coverage cases
   are reported with their coverage case (schemathesis builds those from a minimal valid request).

Budgets are counts of distinct requests, never time, so a replay sends exactly the recorded requests.
"""

from __future__ import annotations

import copy
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from conformance.fuzz import determinism
from conformance.fuzz.judging import PRIORITY, TRANSPORT, Judge, Problem
from conformance.fuzz.sending import ReplayMismatch, Sender, Sent, ShrinkBudgetSpent

MODES = ("positive", "negative")
CREATE_WEIGHT = 4  # a create operation gets this many times the share of the others


@dataclass
class Finding:
    """One distinct deviation: where it showed, how often, and its smallest reproducing request."""

    problem: Problem
    operation: str
    mode: str
    first: Sent
    minimal: Sent
    requests: int = 0  # distinct coverage and generated requests that showed it
    found_in: set[str] = field(default_factory=set)  # phases
    shrunk: str = "not attempted"
    shrink_requests: int = 0
    variants: list[str] = field(default_factory=list)  # the distinct messages of the problem (first 20)
    generated_mode: str | None = None  # the mode of the first generated request that showed it
    coverage_case: Any = None  # the first coverage case that showed it (when one did)


@dataclass
class Outcome:
    """What one API's run did and found."""

    sent: list[Sent]
    findings: list[Finding]
    used: dict[str, int]
    seconds: float


class _Reproduced(Exception):
    """Raised in a shrink pass when the example shows the finding being shrunk."""


def allocate(budget: int, keys: list[tuple[Any, ...]], weight: Callable[[tuple[Any, ...]], int]) -> dict:
    """Split ``budget`` over ``keys`` by weight (largest remainders, ties in key order); each key gets >= 1."""
    weights = {key: weight(key) for key in keys}
    total = sum(weights.values()) or 1
    exact = {key: budget * w / total for key, w in weights.items()}
    shares = {key: int(value) for key, value in exact.items()}
    for key in sorted(keys, key=lambda k: -(exact[k] - shares[k]))[: max(0, budget - sum(shares.values()))]:
        shares[key] += 1
    return {key: max(1, share) for key, share in shares.items()}


def order_coverage(cases: list[Any]) -> list[Any]:
    """Coverage cases in the order a small budget should take them: grouped by kind (the description with its
    values taken out), missing-required groups first, then other negative ones, then positive ones; one
    case of each group per round."""
    groups: dict[str, list[Any]] = {}
    for case in cases:
        meta = case.meta
        description = getattr(meta.phase.data, "description", "") if meta else ""
        mode = meta.generation.mode.value if meta else "positive"
        key = f"{mode}|{case.method}|" + re.sub(r"`[^`]*`|\d+", "X", description or "")
        groups.setdefault(key, []).append(case)

    def rank(key: str) -> int:
        return 0 if "Missing required" in key else 1 if key.startswith("negative") else 2

    order = sorted(groups, key=lambda key: (rank(key), list(groups).index(key)))
    out: list[Any] = []
    round_ = 0
    while len(out) < len(cases):
        for key in order:
            if round_ < len(groups[key]):
                out.append(groups[key][round_])
        round_ += 1
    return out


class Engine:
    """Runs the three passes over the operations of one API."""

    def __init__(self, schema: Any, operations: list[Any], sender: Sender, judge: Judge, seed: int):
        self.schema = schema
        self.operations = operations
        self.sender = sender
        self.judge = judge
        self.seed = seed
        self.findings: dict[str, Finding] = {}
        self.shares: dict[tuple[str, str], int] = {}
        self.unsatisfiable: set[tuple[str, str]] = set()  # (operation, mode) Hypothesis could draw nothing for

    def _weight(self, key: tuple[Any, ...]) -> int:
        return CREATE_WEIGHT if key[0].method.upper() == "POST" and "{" not in key[0].path else 1

    def evaluate(self, case: Any, operation: Any, mode: str, phase: str) -> tuple[Sent | None, list[Problem]]:
        """Send (or answer from the cache) and judge one case; record what it showed."""
        sent = self.sender.send(case, phase, operation.label, mode)
        if sent is None:
            return None, []
        if not sent.judged:
            sent.problems = self.judge(case, sent)
            sent.judged = True
            for problem in sent.problems:
                self._record(problem, sent, case)
        return sent, sent.problems

    def _record(self, problem: Problem, sent: Sent, case: Any) -> None:
        finding = self.findings.get(problem.signature)
        if finding is None:
            finding = self.findings[problem.signature] = Finding(problem, sent.operation, sent.mode, sent, sent)
        if sent.phase != "shrink":
            finding.requests += 1
        if sent.phase == "generate" and finding.generated_mode is None:
            finding.generated_mode = sent.mode
        if sent.phase == "coverage" and finding.coverage_case is None:
            finding.coverage_case = case
        finding.found_in.add(sent.phase)
        if problem.message not in finding.variants and len(finding.variants) < 20:
            finding.variants.append(problem.message)
        if _size(sent) < _size(finding.minimal):
            finding.minimal = sent

    # -- the passes ------------------------------------------------------------------------------------------

    def coverage(self) -> None:
        """Pass 1: schemathesis' deterministic coverage cases, within the coverage budget."""
        from schemathesis import GenerationMode

        modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
        shares = allocate(self.sender.budget.coverage, [(op,) for op in self.operations], self._weight)
        for operation in self.operations:
            config = self.schema.config.generation_for(operation=operation)
            cases = list(self.schema.iter_coverage_cases(operation, generation_modes=modes, generation_config=config))
            for case in order_coverage(cases)[: shares[(operation,)]]:
                mode = case.meta.generation.mode.value if case.meta else "positive"
                self.evaluate(case, operation, mode, "coverage")

    def generate(self) -> None:
        """Pass 2: seeded positive and negative generation, within the generation budget."""
        keys = [(op, mode) for op in self.operations for mode in MODES]
        shares = allocate(self.sender.budget.generate, keys, self._weight)
        for operation, mode in keys:
            self.shares[(operation.label, mode)] = shares[(operation, mode)]
            self._hypothesis(operation, mode, shares[(operation, mode)], shrink=False,
                             body=lambda case, op=operation, m=mode: self.evaluate(case, op, m, "generate"))

    def shrink(self) -> None:
        """Pass 3: shrink each finding, most severe first, within the shrink budgets.

        A finding seen in generation is first shrunk by re-running its seeded test with Hypothesis' shrinker
        (half of its shrink requests). Then its smallest request so far, or for a finding seen only in a coverage
        case (built by schemathesis from a template holding every optional property) that case, is reduced part
        by part (``_reduce``). Hypothesis' shrinker simplifies what the generator drew; the reduction, cheaper per
        request, removes what the finding does not need.
        """
        budget = self.sender.budget
        for finding in self.ordered():
            if not self.sender.room("shrink"):
                finding.shrunk = "not attempted: shrink budget spent"
                continue
            if finding.minimal.phase == "shrink":
                # the request that shrank an earlier finding shows this one too (a 500 and its envelope, say)
                finding.shrunk = "yes, with an earlier finding shown by the same request"
                continue
            if finding.problem.check == TRANSPORT:
                finding.shrunk = "not attempted: no answer came (each try could take the whole time-out)"
                continue
            if finding.generated_mode is None and finding.coverage_case is None:
                finding.shrunk = "not attempted: seen only while shrinking another finding"
                continue
            operation = next(op for op in self.operations if op.label == finding.operation)
            signature = finding.problem.signature
            before = self.sender.used["shrink"]
            self.sender.shrink_cap = before + budget.shrink_per_finding

            def reproduce(case: Any, op: Any = operation, sig: str = signature, mode: str | None = None) -> None:
                actual = mode or (case.meta.generation.mode.value if case.meta else "positive")
                _, problems = self.evaluate(case, op, actual, "shrink")
                if any(problem.signature == sig for problem in problems):
                    raise _Reproduced(sig)

            outcomes = []
            if finding.generated_mode is not None:
                # Hypothesis' shrinker gets half of the finding's shrink requests ...
                self.sender.shrink_cap = before + budget.shrink_per_finding // 2
                mode = finding.generated_mode
                outcomes.append(self._attempt(lambda m=mode, op=operation: self._hypothesis(
                    op, m, self.shares[(op.label, m)], shrink=True, body=lambda case: reproduce(case, mode=m))))
            self.sender.shrink_cap = before + budget.shrink_per_finding
            start = finding.minimal.case if finding.minimal.case is not None else finding.coverage_case
            if start is not None and "mismatch" not in outcomes and self.sender.room("shrink"):
                # ... then the rest leaves out whatever parts of the smallest request so far the finding does not need
                def shows(case: Any) -> bool:
                    try:
                        reproduce(case)
                    except _Reproduced:
                        return True
                    return False

                outcomes.append(self._attempt(lambda c=start: self._reduce(c, shows)))
            self.sender.shrink_cap = None
            last = outcomes[-1] if outcomes else "no"
            finding.shrunk = {"yes": "yes", "budget": "partly: shrink budget spent",
                              "mismatch": "partly: a shrink request is not in the recording",
                              # the reduction ran to its end: no single part of the request can go
                              "no": "yes" if start is not None or "yes" in outcomes
                              else "no: the finding did not reproduce"}.get(last, last)
            finding.shrink_requests = self.sender.used["shrink"] - before

    @staticmethod
    def _attempt(run: Callable[[], None]) -> str:
        """Run one shrink search: "yes" (reproduced and shrunk), "no", "budget", "mismatch" or "partly: ..."."""
        try:
            run()
        except _Reproduced:
            return "yes"
        except ShrinkBudgetSpent:
            return "budget"
        except ReplayMismatch:
            return "mismatch"
        except Exception as exc:  # noqa: BLE001  (Hypothesis' Flaky and friends: keep the best found so far)
            return f"partly: {type(exc).__name__}"
        return "no"

    def _reduce(self, case: Any, shows: Callable[[Any], bool]) -> None:
        """Leave out, one at a time, each part of the request the finding does not need (delta debugging):
        object properties and list items of the body and query parameters (outermost first), then make each
        remaining string empty. A change is kept when the request still shows the finding. Ends when no single
        change does (the request is then 1-minimal), or with ``ShrinkBudgetSpent``."""
        body, query = case.body, dict(case.query or {})
        index = 0
        while True:
            trials = list(_simpler(body, query))
            if index >= len(trials):
                return
            candidate_body, candidate_query = trials[index]
            candidate = case.derive(query=candidate_query)
            candidate._meta = copy.deepcopy(case._meta)  # its own metadata: schemathesis re-judges its validity
            candidate.body = candidate_body  # (setting the body makes schemathesis revalidate the case's mode)
            if shows(candidate):
                body, query = candidate_body, candidate_query  # the next trial takes the same place in the new list
            else:
                index += 1

    def ordered(self) -> list[Finding]:
        """Findings, most severe category first, then in the order they were first seen."""
        return sorted(self.findings.values(),
                      key=lambda f: (PRIORITY.index(f.problem.category), f.first.index, f.problem.signature))

    def _hypothesis(self, operation: Any, mode: str, examples: int, shrink: bool, body: Callable[[Any], Any]) -> None:
        from hypothesis import given, seed
        from hypothesis.errors import Unsatisfiable
        from schemathesis import GenerationMode

        generation_mode = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE

        @determinism.hypothesis_settings(examples, shrink)
        @given(case=operation.as_strategy(generation_mode=generation_mode))
        def test(case: Any) -> None:
            body(case)

        try:
            seed(determinism.operation_seed(self.seed, operation.label, mode))(test)()
        except Unsatisfiable:
            # e.g. negative values of a lone path parameter that all serialise to valid ones: nothing to send
            self.unsatisfiable.add((operation.label, mode))

    def run(self, coverage: bool = True) -> Outcome:
        """All three passes."""
        started = time.monotonic()
        if coverage:
            self.coverage()
        self.generate()
        self.shrink()
        return Outcome(self.sender.sent, self.ordered(), dict(self.sender.used), time.monotonic() - started)


def _without(value: Any, path: tuple[Any, ...]) -> Any:
    """``value`` with the element at ``path`` left out (a copy; the rest shared)."""
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        if not rest:
            return {k: v for k, v in value.items() if k != head}
        return {**value, head: _without(value[head], rest)}
    if not rest:
        return [v for i, v in enumerate(value) if i != head]
    return [_without(v, rest) if i == head else v for i, v in enumerate(value)]


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """``value`` with the element at ``path`` replaced by ``new``."""
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: new if not rest else _replace(value[head], rest, new)}
    return [(new if not rest else _replace(v, rest, new)) if i == head else v for i, v in enumerate(value)]


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every element path inside ``value``, outermost first (breadth-first, in order)."""
    out, level = [], [(value, at)]
    while level:
        following = []
        for node, where in level:
            items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
            for key, child in items:
                out.append(where + (key,))
                following.append((child, where + (key,)))
        level = following
    return out


def _simpler(body: Any, query: dict[str, Any]) -> Any:
    """Each (body, query) one step simpler than the given one, in a fixed order (see ``Engine._reduce``)."""
    for path in _paths(query):
        if len(path) == 1:
            yield body, {k: v for k, v in query.items() if k != path[0]}
    if isinstance(body, (dict, list)):
        for path in _paths(body):
            yield _without(body, path), query
        for path in _paths(body):
            leaf = body
            for part in path:
                leaf = leaf[part]
            if isinstance(leaf, str) and leaf:
                yield _replace(body, path, ""), query


def _size(sent: Sent) -> tuple[int, int]:
    """How big a request is (body bytes, then URL length): the smaller reproduces a finding more plainly."""
    return len(sent.request.content or b""), len(sent.request.url)
