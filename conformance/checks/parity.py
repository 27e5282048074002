"""Stream vs non-stream parity: a streamed answer reassembles to what the same request answers without a stream."""

from __future__ import annotations

import json

from conformance.checks.findings import CheckFailure, HarnessError
from conformance.checks.registry import NON_STREAM, CheckContext, check
from conformance.observations.aspects import ASPECTS, DETERMINISTIC_ONLY, differences, unknown_aspects
from conformance.observations.observation import observe

DEFAULT_ASPECTS = ("finish", "tool_names", "argument_keys", "json_keys")


def _first_difference(a: str, b: str) -> str:
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"they differ from character {at}: streamed {a[at:at + 40]!r}, non-streamed {b[at:at + 40]!r}"


@check("stream_parity", companion=NON_STREAM, validate=unknown_aspects)
def stream_parity(ctx: CheckContext, aspects: list[str] | None = None) -> None:
    """The streamed answer reassembles to what the non-streamed one (step ``plain.<step>``) has, on ``aspects``
    of the aspects table: ``finish``, ``tool_names``, ``argument_keys``, ``json_keys``, ``text``. Default: all
    but ``text``, which is compared only for a target declared ``deterministic`` (a mock, or a model at
    temperature 0); elsewhere two samplings may word the answer differently."""
    wanted = list(aspects or DEFAULT_ASPECTS)
    unknown = [a for a in wanted if a not in ASPECTS]
    if unknown:
        raise HarnessError(f"unknown stream_parity aspects {unknown}; known: {', '.join(ASPECTS)}")
    if not ctx.deterministic:
        wanted = [a for a in wanted if a not in DETERMINISTIC_ONLY]
    streamed_exchange = ctx.exchange
    if not streamed_exchange.requested_stream:
        return  # the non-stream run of a `stream: both` case: nothing to compare with
    name = ctx.step_name()
    plain_exchange = ctx.get(NON_STREAM.step(name))
    if not plain_exchange.ok:
        raise HarnessError(f"the non-stream companion step {NON_STREAM.step(name)!r} answered "
                           f"{plain_exchange.status}: nothing to compare the stream with")
    streamed, plain = observe(streamed_exchange), observe(plain_exchange)
    if streamed is None or plain is None:
        which = "streamed" if streamed is None else "non-streamed"
        raise CheckFailure(f"the {which} answer has no {ctx.api} object to compare: "
                           f"{(streamed_exchange if streamed is None else plain_exchange).excerpt()}")
    found = differences(wanted, streamed, streamed_exchange.request_body, plain, plain_exchange.request_body)
    parts = []
    for aspect, (one, two) in found.items():
        if aspect == "text":
            parts.append(f"text: {_first_difference(one, two)}")
        else:
            parts.append(f"{aspect}: streamed {json.dumps(one)[:160]}, non-streamed {json.dumps(two)[:160]}")
    if parts:
        raise CheckFailure("the stream and the non-stream answer differ: " + "; ".join(parts),
                           {"aspects": wanted, "differences": parts})
