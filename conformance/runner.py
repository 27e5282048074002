"""Run one case on one API against one target and judge it.

The runner sends each step's request through an ``httpx2.Client`` (vcrpy, when a
cassette is active, answers from it), turns answers into Exchanges, runs the
implicit checks on every step and the case's named checks, and combines the
findings into a verdict.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import httpx2

from conformance.cases import Case, Step
from conformance.checks import CheckContext, implicit_checks, run_check
from conformance.exchanges import Exchange
from conformance.observations import result_object
from conformance.requests import Unresolved, substitute, with_stream
from conformance.targets import Target
from conformance.verdicts import Failure, Verdict, combine

USER_AGENT = "conformance/0.1"


@dataclass
class CaseResult:
    """The judged outcome of one case x API x target (x stream mode)."""

    target: str
    capability: str
    case: str
    api: str
    stream: bool
    verdict: Verdict
    failures: list[Failure] = field(default_factory=list)
    claim: dict[str, str] = field(default_factory=dict)
    declared_missing: dict[str, str] = field(default_factory=dict)  # requires ∩ target.lacks
    profile: str = "compat"
    description: str = ""
    source: str = ""
    cassette: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0

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
            "failures": [f.as_dict() for f in self.failures],
            "claim": self.claim,
            "declared_missing": self.declared_missing,
            "profile": self.profile,
            "description": self.description,
            "source": self.source,
            "cassette": self.cassette,
            "steps": self.steps,
            "duration": round(self.duration, 3),
        }


def send(client: httpx2.Client, target: Target, step: Step, body: Any, stream: bool) -> Exchange:
    """Send one request; a transport problem becomes an Exchange with no status."""
    url = target.base_url + step.path
    headers = {"user-agent": USER_AGENT, **step.headers}
    key = target.api_key()
    if key:
        headers["authorization"] = f"Bearer {key}"
    content: bytes | None = None
    if step.raw is not None:
        content = step.raw.encode()
        headers.setdefault("content-type", "application/json")
    elif body is not None:
        content = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    exchange = Exchange(method=step.method, url=url, request_body=body if step.raw is None else step.raw, step=step.name)
    try:
        response = client.request(step.method, url, content=content, headers=headers)
    except Exception as exc:  # noqa: BLE001  (any transport or cassette problem is evidence, not a crash)
        exchange.transport_error = f"{type(exc).__name__}: {exc}"
        return exchange
    exchange.status = response.status_code
    exchange.headers = {k.lower(): v for k, v in response.headers.items()}
    exchange.text = response.text
    return exchange


def _run_steps(case: Case, api: str, target: Target, client: httpx2.Client, stream: bool,
               sleep: Callable[[float], None]) -> tuple[dict[str, Exchange], list[Failure]]:
    exchanges: dict[str, Exchange] = {}
    results: dict[str, Any] = {}
    problems: list[Failure] = []
    for step in case.steps[api]:
        try:
            body = substitute(step.body, target, results)
            path = substitute(step.path, target, results)
        except Unresolved as exc:
            problems.append(Failure("request", f"step {step.name!r} not sent: {exc}", Verdict.FAIL, step.name))
            break
        if stream and step.method == "POST":
            body = with_stream(body, api)
        sent = Step(**{**step.__dict__, "path": path})
        exchange = send(client, target, sent, body, stream)
        deadline = time.monotonic() + float((step.poll or {}).get("timeout", 0))
        delay = 0.5
        while step.poll and exchange.status not in (None, step.poll.get("until_status", 200)) and time.monotonic() < deadline:
            sleep(delay)  # eventually consistent storage: every try is recorded and replayed in order
            delay = min(delay * 2, 4)
            exchange = send(client, target, sent, body, stream)
        exchanges[step.name] = exchange
        results[step.name] = result_object(exchange)
        if exchange.status is None or not _status_ok(exchange.status, step.expect_status):
            break  # later steps build on this one: judge what we have
    return exchanges, problems


def _status_ok(status: int, expected: Any) -> bool:
    from conformance.checks.http import status_matches

    return status_matches(status, expected)


def judge(case: Case, api: str, exchanges: dict[str, Exchange], *, profile: str, stream: bool,
          target: str = "") -> list[Failure]:
    """Run the implicit checks on every step, then the case's named checks."""
    failures: list[Failure] = []
    base = dict(api=api, exchanges=exchanges, profile=profile, case_id=case.id, stream=stream, target=target)
    last = case.steps[api][-1].name
    named_status = {e.params.get("step", last) for e in case.expect[api] if e.check == "status"}
    for step in case.steps[api]:
        if step.name not in exchanges:
            continue
        ctx = CheckContext(**base, step=step.name)
        if step.name not in named_status:
            failures += run_check("status", ctx, {"code": step.expect_status})
        for name in implicit_checks():
            failures += run_check(name, ctx)
    ran = set(exchanges)
    for expectation in case.expect[api]:
        step = expectation.params.get("step", last)
        if step not in ran:
            continue  # an earlier step stopped the run; its findings say why
        failures += run_check(expectation.check, CheckContext(**base), dict(expectation.params, step=step))
    return _dedupe(failures)


def _dedupe(failures: list[Failure]) -> list[Failure]:
    seen, out = set(), []
    for failure in failures:
        key = (failure.check, failure.message, failure.step)
        if key not in seen:
            seen.add(key)
            out.append(failure)
    return out


def run_case(case: Case, api: str, target: Target, client: httpx2.Client, *, stream: bool = False,
             sleep: Callable[[float], None] = time.sleep, profile: str | None = None) -> CaseResult:
    """Run and judge ``case`` on ``api`` against ``target``."""
    started = time.monotonic()
    exchanges, problems = _run_steps(case, api, target, client, stream, sleep)
    failures = problems + judge(case, api, exchanges, profile=profile or target.profile, stream=stream,
                                target=target.name)
    return CaseResult(
        target=target.name,
        capability=case.capability,
        case=case.id,
        api=api,
        stream=stream,
        verdict=combine(failures),
        failures=failures,
        claim=case.claim.get(api, {}),
        declared_missing={f: target.lacks[f] for f in case.requires if f in target.lacks},
        profile=profile or target.profile,
        description=case.description,
        source=case.source,
        steps=[{"name": e.step, "method": e.method, "path": e.path, "status": e.status} for e in exchanges.values()],
        duration=time.monotonic() - started,
    )
