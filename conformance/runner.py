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
from conformance.checks.http import status_matches
from conformance.exchanges import Exchange
from conformance.observations import result_object
from conformance.requests import MissingResource, Unresolved, substitute, with_stream
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
    claims: dict[str, dict[str, str]] = field(default_factory=dict)  # the case's claims for both APIs
    declared_missing: dict[str, str] = field(default_factory=dict)  # requires ∩ target.lacks
    profile: str = "compat"
    description: str = ""
    source: str = ""
    cassette: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0
    intermittent: list[str] = field(default_factory=list)  # checks with findings the target declares intermittent

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
            "claims": self.claims,
            "declared_missing": self.declared_missing,
            "profile": self.profile,
            "description": self.description,
            "source": self.source,
            "cassette": self.cassette,
            "steps": self.steps,
            "duration": round(self.duration, 3),
            "intermittent": self.intermittent,
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


# Checks that compare the judged run with a companion run, and how that run is made:
# cross_api runs the other API's steps ("other.<step>"); stream_parity runs this API's steps
# without streaming ("plain.<step>"). The companion's exchanges are recorded in the same cassette.
COMPANIONS = {"cross_api": "other", "stream_parity": "plain"}


def companions(case: Case, api: str, stream: bool) -> list[tuple[str, str, bool]]:
    """The companion runs (prefix, api, stream) the case's checks need for this API and mode."""
    wanted = {COMPANIONS[e.check] for e in case.expect[api] if e.check in COMPANIONS}
    runs = []
    if "other" in wanted:
        other = "responses" if api == "chat" else "chat"
        if other in case.steps:
            runs.append(("other", other, stream))
    if "plain" in wanted and stream:
        runs.append(("plain", api, False))
    return runs


def _run_steps(case: Case, api: str, target: Target, client: httpx2.Client, stream: bool,
               sleep: Callable[[float], None], prefix: str = "") -> tuple[dict[str, Exchange], list[Failure]]:
    exchanges: dict[str, Exchange] = {}
    results: dict[str, Any] = {}
    problems: list[Failure] = []
    for step in case.steps[api]:
        try:
            body = substitute(step.body, target, results)
            path = substitute(step.path, target, results)
        except Unresolved as exc:
            # An earlier answer lacked what this step builds on. The check that judges that answer names
            # the fault with its own verdict; here the rest of the behaviour is simply absent.
            problems.append(Failure("request", f"step {prefix + step.name!r} not sent: {exc}", Verdict.IGNORED,
                                    prefix + step.name))
            break
        except MissingResource as exc:
            problems.append(Failure("request", str(exc), Verdict.ERROR, prefix + step.name))
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
            retry = send(client, target, sent, body, stream)
            if retry.status is None:
                break  # keep the last answer (in replay: the recorded polls are used up)
            exchange = retry
        exchange.step = prefix + step.name
        exchanges[prefix + step.name] = exchange
        results[step.name] = result_object(exchange)
        if exchange.status is None or not status_matches(exchange.status, step.expect_status):
            break  # later steps build on this one: judge what we have
    return exchanges, problems


def judge(case: Case, api: str, exchanges: dict[str, Exchange], *, profile: str, stream: bool,
          target: Target | None = None) -> list[Failure]:
    """Run the implicit checks on every step, then the case's named checks."""
    failures: list[Failure] = []
    extra = {"deterministic": bool(target and target.deterministic)}
    base = dict(api=api, exchanges=exchanges, profile=profile, case_id=case.id, stream=stream,
                target=target.name if target else "", extra=extra)
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


def _result(case: Case, api: str, target: Target, stream: bool, failures: list[Failure],
            profile: str | None) -> CaseResult:
    return CaseResult(
        target=target.name,
        capability=case.capability,
        case=case.id,
        api=api,
        stream=stream,
        verdict=combine(failures),
        failures=failures,
        claim=case.claim.get(api, {}),
        claims=case.claim,
        declared_missing={f: target.lacks[f] for f in case.requires if f in target.lacks},
        profile=profile or target.profile,
        description=case.description,
        source=case.source,
    )


def result_without_run(case: Case, api: str, target: Target, *, stream: bool, failure: Failure,
                       profile: str | None = None) -> CaseResult:
    """The result of a case that was not run (no cassette, or declared unsafe to run): one finding says why."""
    return _result(case, api, target, stream, [failure], profile)


def run_case(case: Case, api: str, target: Target, client: httpx2.Client, *, stream: bool = False,
             sleep: Callable[[float], None] = time.sleep, profile: str | None = None) -> CaseResult:
    """Run and judge ``case`` on ``api`` against ``target``."""
    started = time.monotonic()
    exchanges: dict[str, Exchange] = {}
    problems: list[Failure] = []
    for prefix, companion_api, companion_stream in companions(case, api, stream):
        found, trouble = _run_steps(case, companion_api, target, client, companion_stream, sleep, prefix + ".")
        exchanges.update(found)
        problems += trouble
    found, trouble = _run_steps(case, api, target, client, stream, sleep)
    exchanges.update(found)
    problems += trouble
    failures = problems + judge(case, api, exchanges, profile=profile or target.profile, stream=stream,
                                target=target)
    result = _result(case, api, target, stream, failures, profile)
    result.steps = [{"name": e.step, "method": e.method, "path": e.path, "status": e.status}
                    for e in exchanges.values()]
    result.duration = time.monotonic() - started
    return result


def result_from_dict(record: dict[str, Any]) -> CaseResult:
    """Rebuild a CaseResult from its ``as_dict`` form (results travel between xdist workers as dicts)."""
    failures = [Failure(f["check"], f["message"], Verdict(f["verdict"]), f.get("step"), f.get("evidence"))
                for f in record["failures"]]
    fields = {k: v for k, v in record.items() if k not in ("failures", "verdict")}
    return CaseResult(**fields, verdict=Verdict(record["verdict"]), failures=failures)
