"""Stream checks: content type, the stream grammars of both APIs, and stream vs non-stream parity.

The implicit checks run on every answer and return at once unless the request
asked for a stream or the answer is one. Each reports one rule family of the
grammar walk (``conformance.streams``), which runs once per exchange and profile.
"""

from __future__ import annotations

import json
from typing import Any

from conformance import streams
from conformance.checks.registry import CheckContext, check
from conformance.observations import Observation, observe
from conformance.verdicts import CheckFailure, HarnessError


def _report(ctx: CheckContext, family: str) -> None:
    """Raise the problems of one rule family of the judged stream, if any."""
    if not streams.is_stream(ctx.exchange):
        return
    streams.raise_problems(streams.analyse(ctx.exchange, ctx.profile).get(family, []))


@check("stream_content_type", implicit=True)
def stream_content_type(ctx: CheckContext) -> None:
    """A stream request is answered with ``text/event-stream``; a JSON body to a stream request fails (and a
    stream answer to a request that did not ask for one fails too)."""
    exchange = ctx.exchange
    if exchange.requested_stream and not exchange.is_sse:
        shown = exchange.content_type or "no content type"
        raise CheckFailure(f"the request asked for a stream (stream: true), but the answer is {shown}, not "
                           f"text/event-stream: {exchange.excerpt(200)}",
                           {"content_type": exchange.content_type, "expected": "text/event-stream"})
    if exchange.is_sse and not exchange.requested_stream:
        raise CheckFailure("the request did not ask for a stream, but the answer is text/event-stream",
                           {"content_type": exchange.content_type})


@check("stream_framing", implicit=True)
def stream_framing(ctx: CheckContext) -> None:
    """SSE framing: Responses events have an ``event:`` line equal to the JSON ``type``; chat is ``data:`` lines
    only ending with ``data: [DONE]``; ``[DONE]`` in Responses streams per profile (absent for openai, tolerated
    for compat, required for open-responses); every data line is JSON."""
    _report(ctx, "framing")


@check("stream_event_schema", implicit=True)
def stream_event_schema(ctx: CheckContext) -> None:
    """Every event (Responses) or chunk (chat) validates against its contract in ``specs/contracts/<profile>/``,
    embedded responses, items and parts included; the terminal response passes the ``response`` contract;
    the raw reasoning events carry this profile's name."""
    _report(ctx, "schema")


@check("stream_sequence", implicit=True, apis=("responses",))
def stream_sequence(ctx: CheckContext) -> None:
    """Every Responses event carries a ``sequence_number``: from 0 (N+1 when resumed after N) rising by one under
    openai, strictly rising under compat and open-responses (its type is stream_event_schema's finding)."""
    _report(ctx, "sequence")


@check("stream_envelope", implicit=True, apis=("responses",))
def stream_envelope(ctx: CheckContext) -> None:
    """``response.created`` (or ``response.queued``) first, ``response.in_progress`` before the output (required
    under openai), exactly one terminal event (completed, incomplete, failed) last, with the matching status,
    and one response id throughout."""
    _report(ctx, "envelope")


@check("stream_nesting", implicit=True, apis=("responses",))
def stream_nesting(ctx: CheckContext) -> None:
    """Pairing and nesting: output items, content parts and summary parts are opened, filled and closed in
    order; ``item_id``, ``output_index``, ``content_index`` and ``summary_index`` stay consistent through each
    item's life; deltas end with one ``.done``; nothing is left open at the terminal event."""
    _report(ctx, "nesting")


@check("stream_reassembly", implicit=True, apis=("responses",))
def stream_reassembly(ctx: CheckContext) -> None:
    """Deltas concatenate to their ``.done`` text, which equals the part in ``content_part.done``, the item in
    ``output_item.done``, and the item in the terminal response's ``output``."""
    _report(ctx, "reassembly")


@check("stream_error", implicit=True)
def stream_error(ctx: CheckContext) -> None:
    """An ``error`` event, an untyped error payload or ``response.failed`` inside a stream, reported with its code
    and message."""
    _report(ctx, "error")


@check("chat_stream_chunks", implicit=True, apis=("chat",))
def chat_stream_chunks(ctx: CheckContext) -> None:
    """Every chunk has ``object: chat.completion.chunk`` and the same ``id``, ``created`` and ``model``; the role
    arrives first; each choice gets exactly one ``finish_reason`` and no output after it."""
    _report(ctx, "chunks")


@check("chat_stream_tool_calls", implicit=True, apis=("chat",))
def chat_stream_tool_calls(ctx: CheckContext) -> None:
    """``delta.tool_calls`` fragments reassemble by ``index``: id and name in the first fragment only, argument
    pieces that are strings and concatenate into a JSON object."""
    _report(ctx, "tool_calls")


@check("chat_stream_usage", implicit=True, apis=("chat",))
def chat_stream_usage(ctx: CheckContext) -> None:
    """With ``stream_options.include_usage`` exactly one extra final chunk carries the usage, with
    ``choices: []``; without it no chunk carries usage."""
    _report(ctx, "usage")


# -- parity ------------------------------------------------------------------------------------------------------

ASPECTS = ("finish", "tool_names", "argument_keys", "json_keys", "text")
DEFAULT_ASPECTS = ("finish", "tool_names", "argument_keys", "json_keys")


def _arguments_keys(observation: Observation) -> list[tuple[Any, Any]]:
    out = []
    for call in observation.tool_calls:
        try:
            parsed = json.loads(call.arguments) if isinstance(call.arguments, str) else call.arguments
        except ValueError:
            parsed = None
        out.append((call.name, sorted(parsed) if isinstance(parsed, dict) else None))
    return sorted(out, key=repr)


def _key_paths(value: Any, prefix: str = "") -> set[str]:
    """The object key paths of a JSON value (``a``, ``a.b``, ``list[].c``), array positions ignored."""
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            paths.add(path)
            paths |= _key_paths(inner, path)
    elif isinstance(value, list):
        for inner in value:
            paths |= _key_paths(inner, prefix + "[]")
    return paths


def _json_of(text: str | None) -> tuple[bool, Any]:
    try:
        return True, json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return False, None


def _first_difference(a: str, b: str) -> str:
    at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"they differ from character {at}: streamed {a[at:at + 40]!r}, non-streamed {b[at:at + 40]!r}"


@check("stream_parity")
def stream_parity(ctx: CheckContext, aspects: list[str] | None = None) -> None:
    """The streamed answer reassembles to what the non-streamed one (step ``plain.<step>``) has: ``finish`` (same
    finish class), ``tool_names``, ``argument_keys``, ``json_keys`` (of the text as JSON), ``text`` (identical).
    Default: all but ``text``.

    ``text`` is compared only for a target declared ``deterministic`` (a mock, or a model at temperature 0);
    elsewhere two samplings may word the answer differently, so the aspect is skipped without a finding."""
    wanted = list(aspects or DEFAULT_ASPECTS)
    unknown = [a for a in wanted if a not in ASPECTS]
    if unknown:
        raise HarnessError(f"unknown stream_parity aspects {unknown}; known: {', '.join(ASPECTS)}")
    if ctx.extra.get("deterministic") is not True:
        wanted = [a for a in wanted if a != "text"]  # a case-level aspect: silently not meaningful here
    streamed_exchange = ctx.exchange
    if not streamed_exchange.requested_stream:
        return  # the non-stream run of a `stream: both` case: nothing to compare with
    name = ctx.step_name()
    plain_exchange = ctx.get(f"plain.{name}")
    if not plain_exchange.ok:
        raise HarnessError(f"the non-stream companion step 'plain.{name}' answered {plain_exchange.status}: "
                           f"nothing to compare the stream with")
    streamed, plain = observe(streamed_exchange), observe(plain_exchange)
    if streamed is None or plain is None:
        which = "streamed" if streamed is None else "non-streamed"
        raise CheckFailure(f"the {which} answer has no {ctx.api} object to compare: "
                           f"{(streamed_exchange if streamed is None else plain_exchange).excerpt()}")
    found = []
    if "finish" in wanted and streamed.finish != plain.finish:
        found.append(f"finish: streamed {streamed.finish!r}, non-streamed {plain.finish!r}")
    if "tool_names" in wanted:
        names = sorted(str(c.name) for c in streamed.tool_calls), sorted(str(c.name) for c in plain.tool_calls)
        if names[0] != names[1]:
            found.append(f"tool_names: streamed {names[0]}, non-streamed {names[1]}")
    if "argument_keys" in wanted:
        keys = _arguments_keys(streamed), _arguments_keys(plain)
        if keys[0] != keys[1]:
            found.append(f"argument_keys: streamed {keys[0]}, non-streamed {keys[1]}")
    if "json_keys" in wanted:
        (s_ok, s_json), (p_ok, p_json) = _json_of(streamed.text), _json_of(plain.text)
        if s_ok and p_ok and s_json is not None and p_json is not None:
            paths = _key_paths(s_json), _key_paths(p_json)
            if paths[0] != paths[1]:
                found.append(f"json_keys: only streamed {sorted(paths[0] - paths[1])}, only non-streamed "
                             f"{sorted(paths[1] - paths[0])}")
        elif s_ok != p_ok:
            found.append("json_keys: the " + ("non-streamed" if s_ok else "streamed") + " text is not JSON, the "
                         "other is")
    if "text" in wanted and streamed.text != plain.text:
        a, b = streamed.text or "", plain.text or ""
        found.append(f"text: {_first_difference(a, b)}" if streamed.text is not None and plain.text is not None
                     else f"text: streamed {streamed.text!r}, non-streamed {plain.text!r}")
    if found:
        raise CheckFailure("the stream and the non-stream answer differ: " + "; ".join(found),
                           {"aspects": wanted, "differences": found})
