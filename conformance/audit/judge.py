"""Judge one recorded interaction with the suite's own named checks.

No check is re-implemented here: every implicit check (``implicit_checks()``),
``error_envelope`` on 4xx/5xx answers, and, with ``--openapi``, the OpenAPI
validation run on an Exchange built from the cassette, exactly as the suite runs
them on a live answer. ``verdicts.stale`` then turns findings about late additions into
``stale`` and keeps notes (informational fields OpenAI does not always send, documented
latitude) as notes; everything else is ``fail``. A failing recording of api.openai.com
that contradicts itself says so (``audit/altered.py``: "the recording looks edited or
truncated", and why).
"""

from __future__ import annotations

from typing import Any

from conformance.checks import CHECKS, CheckContext, implicit_checks, run_check
from conformance.checks.findings import Failure, Verdict
from conformance.checks.openapi import OpenApiSpec
from conformance.audit import altered
from conformance.transport.recordings import Recorded
from conformance.verdicts import stale
from conformance.verdicts.policy import combine
BODY_CHECK = "cassette_body"  # the finding for an interaction whose response body cannot be read
# Checks the suite runs that judge a target's behaviour rather than a shape: a recorded `response.failed` or
# in-stream `error` event is a shape the API really sends (its form is still judged by stream_event_schema).
NOT_SHAPE_CHECKS = {"stream_error"}


def checks_for(success: bool) -> list[str]:
    """The named checks run on one recorded answer: the implicit ones, plus ``error_envelope`` on errors; not
    the SDK lane's (``needs_sdk``: a recording holds no SDK outcome, ``audit --sdk`` runs them on its own)."""
    names = [name for name in implicit_checks() if name not in NOT_SHAPE_CHECKS and not CHECKS[name].needs_sdk]
    if not success and "error_envelope" in CHECKS and "error_envelope" not in names:
        names = [*names, "error_envelope"]
    return names


def run_checks(ctx: CheckContext, names: list[str]) -> list[Failure]:
    """Run ``names`` on one context; a check that crashes is reported, not propagated."""
    failures: list[Failure] = []
    for name in names:
        try:
            failures += run_check(name, ctx)
        except Exception as exc:  # noqa: BLE001  (one bad check must not stop an audit of thousands)
            failures.append(Failure(name, f"the check crashed: {type(exc).__name__}: {exc}", Verdict.ERROR))
    return failures


def audit_interaction(recorded: Recorded, profile: str = "openai", spec: OpenApiSpec | None = None,
                      history: stale.History | None = None) -> dict[str, Any]:
    """The report entry of one interaction (see specs/audit-report.schema.json); ``history``: another table of
    late fields than ``conformance/api/history.py`` (a refitted one, for benchmarks/leave_one_out.py)."""
    exchange = recorded.exchange
    api, endpoint = exchange.api, exchange.endpoint
    entry: dict[str, Any] = {
        "cassette": recorded.cassette,
        "index": recorded.index,
        "method": exchange.method,
        "url": exchange.url,
        "api": api,
        "endpoint": endpoint,
        "stream": bool(exchange.is_sse or exchange.requested_stream),
        "status": exchange.status,
        "verdict": Verdict.SKIP.value,
        "failures": [],
    }
    if exchange.route is None or not exchange.route.audited:
        return entry
    recorded_on = stale.recording_date(recorded.date, exchange)
    if recorded.problem:
        failures = [Failure(BODY_CHECK, f"cannot judge the answer: {recorded.problem}")]
    else:
        ctx = CheckContext(api=api, exchanges={"main": exchange}, profile=profile)
        failures = run_checks(ctx, checks_for(exchange.ok))
        if spec is not None:
            failures += spec.check(exchange)
        failures = [stale.judge(failure, api, recorded_on, history) for failure in failures]
        failures = altered.explain(failures, exchange)
    notes = [failure for failure in failures if failure.verdict == Verdict.PASS]
    failures = [failure for failure in failures if failure.verdict != Verdict.PASS]
    entry["recorded"] = recorded_on.isoformat() if recorded_on else None
    entry["verdict"] = combine(failures).value
    entry["failures"] = [_finding(failure) for failure in failures]
    if notes:
        entry["notes"] = [_finding(note, verdict=False) for note in notes]
    return entry


def _finding(failure: Failure, verdict: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"check": failure.check, "message": failure.message}
    if verdict:
        out["verdict"] = failure.verdict.value
    if failure.missing is not None:
        out["missing"] = list(failure.missing.fields)
    return out
