"""Cross-API equivalence: the same case run through Chat Completions and Responses.

The runner runs the companion request of the other API under step names
prefixed ``other.`` (``other.main``); this check compares the two answers'
API-neutral Observations on the aspects a case names. Gateways that bridge one
API onto the other lose information here (deviations row 22).
"""

from __future__ import annotations

import json
from typing import Any, Callable

from conformance.checks.behaviour import finish_class, json_texts, parse_object
from conformance.checks.registry import CheckContext, check
from conformance.exchanges import Exchange
from conformance.observations import Observation, observe
from conformance.verdicts import CheckFailure, HarnessError, Unsupported

OTHER = "other."


class NotComparable(Exception):
    """One side has no value for an aspect (e.g. its output is not JSON): always a mismatch."""


def _json_keys(obs: Observation, request: Any) -> Any:
    texts = json_texts(obs)
    value, why = parse_object(texts[0]) if texts else (None, "is absent")
    if value is None:
        raise NotComparable(f"output {why}")
    return sorted(value)


def _function_names(obs: Observation, request: Any) -> Any:
    return sorted({call.name for call in obs.tool_calls if call.name})


def _argument_keys(obs: Observation, request: Any) -> Any:
    keys: dict[str, set[str]] = {}
    for call in obs.tool_calls:
        arguments, why = parse_object(call.arguments)
        if arguments is None:
            raise NotComparable(f"arguments of {call.name!r} {why}")
        keys.setdefault(call.name or "?", set()).update(arguments)
    return {name: sorted(names) for name, names in sorted(keys.items())}


def _finish(obs: Observation, request: Any) -> Any:
    return finish_class(obs, request)


def _text(obs: Observation, request: Any) -> Any:
    return " ".join((obs.text or "").split())  # whitespace differences are not semantic


# aspect name -> what to compare (a JSON-able value; equal values mean equivalent)
ASPECTS: dict[str, Callable[[Observation, Any], Any]] = {
    "json_keys": _json_keys,
    "function_name": _function_names,
    "argument_keys": _argument_keys,
    "finish": _finish,
    "text": _text,
}


def judged(ctx: CheckContext) -> tuple[str, Exchange]:
    """The judged step: the one named, else the last step that is not a companion."""
    if ctx.step is not None:
        return ctx.step, ctx.get(ctx.step)
    own = [name for name in ctx.exchanges if not name.startswith(OTHER)]
    if not own:
        raise HarnessError("no step of the judged API ran")
    return own[-1], ctx.exchanges[own[-1]]


def companion(ctx: CheckContext, judged_step: str) -> tuple[str, Exchange]:
    """The other API's exchange: ``other.<judged step>``, else the last ``other.`` step."""
    wanted = OTHER + judged_step
    if wanted in ctx.exchanges:
        return wanted, ctx.exchanges[wanted]
    others = [name for name in ctx.exchanges if name.startswith(OTHER)]
    if not others:
        raise HarnessError("no companion run of the other API (no 'other.' step)")
    return others[-1], ctx.exchanges[others[-1]]


@check("cross_api")
def cross_api(ctx: CheckContext, aspects: str | list[str]) -> None:
    """The judged answer and the other API's answer to the same case agree on ``aspects``:
    ``json_keys`` (both outputs are JSON objects with the same keys), ``function_name`` (same
    functions called), ``argument_keys`` (same argument keys per function), ``finish`` (same
    finish class) and ``text`` (same text, whitespace-normalised). A mismatch is FAIL naming both
    sides; a companion that answered 4xx is UNSUPPORTED (nothing to compare), 5xx FAIL.
    """
    names = [aspects] if isinstance(aspects, str) else list(aspects)
    unknown = [name for name in names if name not in ASPECTS]
    if unknown or not names:
        raise HarnessError(f"unknown cross_api aspect(s) {unknown} (known: {', '.join(ASPECTS)})")
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
    mismatches, evidence = [], {}
    for aspect in names:
        sides = {}
        for api, obs, request in ((mine.api, mine, exchange.request_body), (theirs.api, theirs, other.request_body)):
            try:
                sides[api] = json.dumps(ASPECTS[aspect](obs, request))
            except NotComparable as exc:
                sides[api] = f"<{exc}>"
                sides["not_comparable"] = True
        if sides.pop("not_comparable", False) or sides[mine.api] != sides[theirs.api]:
            evidence[aspect] = sides
            mismatches.append(f"{aspect}: {mine.api} {sides[mine.api][:120]} vs {theirs.api} {sides[theirs.api][:120]}")
    if mismatches:
        raise CheckFailure("the two APIs disagree: " + "; ".join(mismatches), evidence)
