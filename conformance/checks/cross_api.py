"""Cross-API equivalence: the same case run through Chat Completions and Responses.

The check declares its companion run (the other API's steps, recorded under step names
prefixed ``other.``); it compares the two answers' API-neutral Observations on the aspects
a case names, from the one aspects table (``conformance.observations.aspects``). Gateways
that bridge one API onto the other lose information here (deviations row 22).
"""

from __future__ import annotations

import json

from conformance.checks.findings import CheckFailure, HarnessError, Unsupported
from conformance.checks.registry import OTHER_API, CheckContext, check
from conformance.observations.aspects import ASPECTS, DETERMINISTIC_ONLY, differences, unknown_aspects
from conformance.observations.observation import observe
from conformance.transport.exchange import Exchange


def judged(ctx: CheckContext) -> tuple[str, Exchange]:
    """The judged step: the one named, else the last step that is not a companion."""
    if ctx.step is not None:
        return ctx.step, ctx.get(ctx.step)
    own = [name for name in ctx.exchanges if not name.startswith(OTHER_API.prefix + ".")]
    if not own:
        raise HarnessError("no step of the judged API ran")
    return own[-1], ctx.exchanges[own[-1]]


def companion(ctx: CheckContext, judged_step: str) -> tuple[str, Exchange]:
    """The other API's exchange: ``other.<judged step>``, else the last ``other.`` step."""
    wanted = OTHER_API.step(judged_step)
    if wanted in ctx.exchanges:
        return wanted, ctx.exchanges[wanted]
    others = [name for name in ctx.exchanges if name.startswith(OTHER_API.prefix + ".")]
    if not others:
        raise HarnessError("no companion run of the other API (no 'other.' step)")
    return others[-1], ctx.exchanges[others[-1]]


@check("cross_api", companion=OTHER_API, validate=unknown_aspects)
def cross_api(ctx: CheckContext, aspects: str | list[str]) -> None:
    """The judged answer and the other API's answer to the same case agree on ``aspects``:
    ``finish``, ``tool_names``, ``argument_keys``, ``json_keys``, ``text`` (see the aspects table;
    ``text`` only on a deterministic target). A mismatch is FAIL naming both sides; a companion
    that answered 4xx is UNSUPPORTED (nothing to compare), 5xx FAIL.
    """
    names = [aspects] if isinstance(aspects, str) else list(aspects)
    unknown = [name for name in names if name not in ASPECTS]
    if unknown or not names:
        raise HarnessError(f"unknown cross_api aspect(s) {unknown} (known: {', '.join(ASPECTS)})")
    if not ctx.deterministic:
        names = [name for name in names if name not in DETERMINISTIC_ONLY]
    name, exchange = judged(ctx)
    step, other = companion(ctx, name)
    if other.api == exchange.api:
        raise HarnessError(f"the companion step {step!r} ran the same API ({other.api}), not the other one")
    if other.status is None:
        raise HarnessError(f"the companion step {step!r} got no answer: {other.transport_error}")
    if not other.ok:
        kind = Unsupported if 400 <= other.status < 500 else CheckFailure
        raise kind(f"the companion step {step!r} ({other.api}) answered {other.status}; nothing to compare",
                   {"status": other.status, "body": other.excerpt(200)})
    mine, theirs = observe(exchange), observe(other)
    for label, obs, ex in ((name, mine, exchange), (step, theirs, other)):
        if obs is None:
            raise CheckFailure(f"step {label!r} has no {ex.api} object: {ex.excerpt(160)}")
    found = differences(names, mine, exchange.request_body, theirs, other.request_body)
    if found:
        evidence = {aspect: {mine.api: one, theirs.api: two} for aspect, (one, two) in found.items()}
        parts = [f"{aspect}: {mine.api} {json.dumps(one)[:120]} vs {theirs.api} {json.dumps(two)[:120]}"
                 for aspect, (one, two) in found.items()]
        raise CheckFailure("the two APIs disagree: " + "; ".join(parts), evidence)
