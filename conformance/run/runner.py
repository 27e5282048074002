"""Run one case on one API against one target and judge it.

The runner sends each step's request through a ``Sender`` (raw HTTP or the official SDK,
``conformance.transport``; vcrpy, when a cassette is active, answers from it), runs the
companion runs its checks declare, runs the
implicit checks on every step and the case's named checks, and applies the verdict
policy to the findings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from conformance.api.endpoints import other_api
from conformance.cases.model import Case, Step
from conformance.cases.targets import Target
from conformance.checks import CHECKS, CheckContext, implicit_checks, run_check
from conformance.checks.findings import Failure, Verdict
from conformance.checks.http import missing_route, status_matches
from conformance.checks.registry import Companion
from conformance.observations.observation import result_object
from conformance.requests.multipart import upload_of
from conformance.requests.placeholders import MissingResource, Unresolved, substitute, with_stream
from conformance.transport.exchange import Exchange

# Sends one step's request to a target and returns what came back: ``sender(target, step, body)``.
Sender = Callable[[Target, Step, Any], Exchange]
from conformance.run import evidence
from conformance.verdicts import policy
from conformance.verdicts.results import CaseResult


def companions(case: Case, api: str, stream: bool) -> list[tuple[str, str, bool]]:
    """The companion runs (prefix, api, stream) the case's checks declare for this API and mode."""
    declared: list[Companion] = []
    for expectation in case.expect[api]:
        wanted = CHECKS[expectation.check].companion if expectation.check in CHECKS else None
        if wanted is not None and wanted not in declared:
            declared.append(wanted)
    runs = []
    for companion in declared:
        if companion.only_when_streamed and not stream:
            continue
        run_api = other_api(api) if companion.other_api else api
        if run_api not in case.steps:
            continue
        runs.append((companion.prefix, run_api, stream if companion.stream is None else companion.stream))
    return runs


def _run_steps(case: Case, api: str, target: Target, send: Sender, stream: bool,
               sleep: Callable[[float], None], prefix: str = "",
               run_id: str | None = None,
               budget: PollBudget | None = None) -> tuple[dict[str, Exchange], list[Failure]]:
    exchanges: dict[str, Exchange] = {}
    results: dict[str, Any] = {}
    problems: list[Failure] = []
    for step in [s for s in case.steps[api] if not s.cleanup]:
        try:
            body = (upload_of(step.upload, target, results, run_id) if step.upload
                    else substitute(step.body, target, results, run_id))
            path = substitute(step.path, target, results, run_id)
            waits_for = substitute(step.poll, target, results, run_id)
        except Unresolved as exc:
            # An earlier answer lacked what this step builds on. The check that judges that answer names
            # the fault with its own verdict; here the rest of the behaviour is simply absent.
            problems.append(Failure("request", f"step {prefix + step.name!r} not sent: {exc}", Verdict.IGNORED,
                                    prefix + step.name))
            break
        except MissingResource as exc:
            problems.append(Failure("setup", str(exc), Verdict.ERROR, prefix + step.name, {"setup": "resource"},
                                    role="root"))
            break
        if stream and step.method == "POST" and not step.upload:
            body = with_stream(body, api)
        sent = Step(**{**step.__dict__, "path": path, "name": prefix + step.name})
        exchange, unmet = send(target, sent, body), None
        if waits_for:
            exchange, unmet = poll(waits_for, exchange, lambda: send(target, sent, body), sleep, budget)
            if unmet:  # information: the checks judge the last answer (and what follows from it)
                problems.append(Failure("poll", f"step {sent.name!r}: {unmet}", Verdict.PASS, sent.name))
        exchanges[prefix + step.name] = exchange
        results[step.name] = result_object(exchange)
        if exchange.status is None or not status_matches(exchange.status, step.expect_status):
            break  # later steps build on this one: judge what we have
    problems += _clean_up(case, api, target, send, results, exchanges, prefix, run_id)
    return exchanges, problems


@dataclass(frozen=True)
class PollBudget:
    """Bounds on waiting, for runs where time passes (live, recording); replay answers the recorded polls.

    ``timeout``: the longest any poll waits (seconds), whatever its case allows (None: the case's own).
    ``absent_route``: stop after this many answers in a row saying the route itself does not exist
    (``checks.http.missing_route``: a bare 404/405 naming no object or model), which no wait changes; a 404
    naming the object (OpenAI's eventual consistency) is still waited for.
    """

    timeout: float | None = None
    absent_route: int | None = 2


def poll(spec: dict[str, Any], first: Exchange, again: Callable[[], Exchange],
         sleep: Callable[[float], None], budget: PollBudget | None = None) -> tuple[Exchange, str | None]:
    """Repeat a request while its answer is not yet the one ``spec`` waits for, within its budget.

    ``until_status``: poll while the status differs (default 200). ``until``: poll while a 2xx JSON answer's
    fields (dotted paths; ``*`` for any list item: ``data.*.id``) do not all hold their values; any other answer
    ends the polling. The budget is ``timeout`` seconds and at most ``tries`` requests. Every try is recorded, and
    replay answers them in order (``sleep`` does nothing then). Returns the last answer, and why the wait ended
    unmet when ``until`` was not reached (a note: the case's checks judge that last answer).
    """
    wanted = spec.get("until")
    timeout = float(spec.get("timeout", 0))
    if budget is not None and budget.timeout is not None:
        timeout = min(timeout, budget.timeout)
    deadline = time.monotonic() + timeout
    most = int(spec.get("tries") or 10**6)
    absent_limit = budget.absent_route if budget is not None else None
    absent = int(missing_route(first))
    tries, delay, exchange = 1, 0.5, first

    def waiting(answer: Exchange) -> bool:
        if wanted is None:
            return answer.status not in (None, spec.get("until_status", 200))
        return answer.ok and not until_met(answer.json, wanted)

    while waiting(exchange) and time.monotonic() < deadline and tries < most:
        if absent_limit and absent >= absent_limit:
            break  # the route is absent: no wait brings it
        sleep(delay)
        delay = min(delay * 2, 4)
        retry = again()
        tries += 1
        if retry.status is None:
            break  # keep the last answer (in replay: the recorded polls are used up)
        exchange = retry
        absent = absent + 1 if missing_route(exchange) else 0
    if wanted is not None and waiting(exchange):
        return exchange, (f"{wanted} not reached after {tries} tries within {spec.get('timeout', 0)} s "
                          f"(last answer: {exchange.excerpt(160)})")
    return exchange, None


def until_met(body: Any, wanted: dict[str, Any]) -> bool:
    """True when each dotted path of ``wanted`` holds its value in ``body``."""
    for path, value in wanted.items():
        if value not in _values_at(body, str(path).split(".")):
            return False
    return True


def _values_at(node: Any, parts: list[str]) -> list[Any]:
    """The values at a dotted path; a part ``*`` stands for every item of a list (``data.*.id``)."""
    if not parts:
        return [node]
    head, rest = parts[0], parts[1:]
    if head == "*" and isinstance(node, list):
        return [value for item in node for value in _values_at(item, rest)]
    if isinstance(node, list) and head.isdigit() and int(head) < len(node):
        return _values_at(node[int(head)], rest)
    if isinstance(node, dict) and head in node:
        return _values_at(node[head], rest)
    return []


def _clean_up(case: Case, api: str, target: Target, send: Sender, results: dict[str, Any],
              exchanges: dict[str, Exchange], prefix: str, run_id: str | None) -> list[Failure]:
    """Send the case's cleanup steps, whatever happened before. One whose placeholders do not resolve is
    skipped (what it would delete was never created); an answer other than 2xx is a note (something may be
    left on the server, named by the run id)."""
    notes = []
    for step in [s for s in case.steps[api] if s.cleanup]:
        try:
            body = substitute(step.body, target, results, run_id)
            path = substitute(step.path, target, results, run_id)
        except (Unresolved, MissingResource):
            continue
        sent = Step(**{**step.__dict__, "path": path, "name": prefix + step.name})
        exchange = send(target, sent, body)
        exchanges[sent.name] = exchange
        if not exchange.ok:
            notes.append(Failure("cleanup", f"{step.method} {path} answered {exchange.status or exchange.transport_error}: "
                                            f"what the case created may be left on the server",
                                 Verdict.PASS, sent.name))
    return notes


def judge(case: Case, api: str, exchanges: dict[str, Exchange], *, profile: str,
          deterministic: bool = False) -> list[Failure]:
    """Run the implicit checks on every step, then the case's named checks."""
    failures: list[Failure] = []
    last = [s for s in case.steps[api] if not s.cleanup][-1].name  # what a check judges unless it names a step
    named_status = {e.params.get("step", last) for e in case.expect[api] if e.check == "status"}
    for step in case.steps[api]:
        if step.name not in exchanges or step.cleanup:
            continue  # not sent, or housekeeping (``_clean_up`` notes its failures)
        ctx = CheckContext(api, exchanges, profile, step.name, deterministic)
        if step.name not in named_status:
            failures += run_check("status", ctx, {"code": step.expect_status})
        for name in implicit_checks():
            failures += run_check(name, ctx)
    ran = set(exchanges)
    for expectation in case.expect[api]:
        step = expectation.params.get("step", last)
        if step not in ran:
            continue  # an earlier step stopped the run; its findings say why
        failures += run_check(expectation.check, CheckContext(api, exchanges, profile, None, deterministic),
                              dict(expectation.params, step=step))
    return _dedupe(failures)


def _dedupe(failures: list[Failure]) -> list[Failure]:
    seen, out = set(), []
    for failure in failures:
        key = (failure.check, failure.message, failure.step)
        if key not in seen:
            seen.add(key)
            out.append(failure)
    return out


def shape_checks(case: Case, api: str) -> set[str]:
    """The checks that judge every answer's shape here: the implicit ones the case does not name itself."""
    return set(implicit_checks()) - {e.check for e in case.expect[api]}


def _result(case: Case, api: str, target: Target, stream: bool, failures: list[Failure],
            profile: str | None, steps: list[str] | None = None) -> CaseResult:
    judged = policy.judge(failures, steps or [s.name for s in case.steps[api]], shape_checks(case, api))
    return CaseResult(
        target=target.name,
        capability=case.capability,
        case=case.id,
        api=api,
        stream=stream,
        verdict=judged.verdict,
        shape=judged.shape,
        failures=judged.failures,
        claim=case.claim.get(api, {}),
        claims=case.claim,
        declared_missing={f: target.lacks[f] for f in case.requires if f in target.lacks},
        profile=profile or target.profile,
        description=case.description,
        source=case.source,
        probe="rejection" if evidence.expects_rejection(case, api) else "feature",
    )


def result_without_run(case: Case, api: str, target: Target, *, stream: bool, failure: Failure,
                       profile: str | None = None) -> CaseResult:
    """The result of a case that was not run (no cassette, or declared unsafe to run): one finding says why."""
    return _result(case, api, target, stream, [failure], profile)


def run_case(case: Case, api: str, target: Target, send: Sender, *, stream: bool = False,
             sleep: Callable[[float], None] = time.sleep, profile: str | None = None,
             run_id: str | None = None, poll_budget: PollBudget | None = None,
             excerpts: bool = True) -> CaseResult:
    """Run and judge ``case`` on ``api`` against ``target``, sending each request with ``send``; ``run_id``
    is ``${run.id}`` (in replay: the recording's); ``excerpts``: keep request and response excerpts in the
    steps' records (a run without a cassette to point to)."""
    started = time.monotonic()
    send = evidence.CountingSender(send)  # each answer's position in the cassette, for the reports
    exchanges: dict[str, Exchange] = {}
    problems: list[Failure] = []
    for prefix, companion_api, companion_stream in companions(case, api, stream):
        found, trouble = _run_steps(case, companion_api, target, send, companion_stream, sleep, prefix + ".", run_id,
                                    poll_budget)
        exchanges.update(found)
        problems += trouble
    found, trouble = _run_steps(case, api, target, send, stream, sleep, run_id=run_id, budget=poll_budget)
    exchanges.update(found)
    problems += trouble
    failures = problems + judge(case, api, exchanges, profile=profile or target.profile,
                                deterministic=target.deterministic)
    order = list(exchanges) + [s.name for s in case.steps[api] if s.name not in exchanges]
    result = _result(case, api, target, stream, failures, profile, order)
    result.steps = [evidence.step_record(e, send.position(e), excerpts) for e in exchanges.values()]
    result.duration = time.monotonic() - started
    return result
