"""Stream checks: content type and the stream grammars of both APIs.

The implicit checks run on every answer and return at once unless the request
asked for a stream or the answer is one. Each reports one rule family of the
grammar walk (``conformance.observations.streams``), which runs once per exchange
and profile and only reports problems; ``raise_problems`` turns a family's problems
into one finding.
"""

from __future__ import annotations

from typing import Any

from conformance.checks.findings import CheckFailure, Failure, Note, absent
from conformance.checks.registry import CheckContext, check, run_check
from conformance.observations import streams
from conformance.observations.streams.problems import KEPT, SHOWN, Problem, collapse
from conformance.transport.exchange import Exchange


def raise_problems(problems: list[Problem], failure: type[CheckFailure] = CheckFailure) -> None:
    """Return when there is no problem, else raise one failure describing them all.

    Problems marked ``note`` never make a failure: when they are all there is, the finding is a ``Note``;
    beside real problems they are listed after them.
    """
    if not problems:
        return
    if all(p.note for p in problems):
        failure = Note
    problems = sorted(problems, key=lambda p: p.note)  # stable: the failing ones first, in walk order
    merged = collapse(problems)
    parts = []
    for problem, count in merged[:SHOWN]:
        text = problem.located()
        if count > 1:
            text += f" (and the same on {count - 1} more event{'s' if count > 2 else ''})"
        parts.append(text)
    if merged[0][0].excerpt:
        parts[0] += f" -- saw: {merged[0][0].excerpt}"
    message = "; ".join(parts)
    missing = sorted({name for p in problems for name in p.missing})
    protocol = {name for p in problems if not p.note for name in p.missing}
    if len(merged) > SHOWN:
        message += f"; and {len(merged) - SHOWN} more"
        if missing:  # the ones not spelled out may lack other fields: name them all
            message += f" (absent: {', '.join(missing[:12])}{', ...' if len(missing) > 12 else ''})"
    evidence: dict[str, Any] = {
        "problems": [dict(p.as_dict(), count=c) for p, c in merged[:KEPT]],
        "count": len(problems),
    }
    if failure is Note:
        message = f"information, not a failure: {message}"
    # the roles are known when every absence comes from a contract that names them, or from the grammar itself
    roles = all(p.role is not None or p.rule != "schema" for p in problems if p.missing)
    raise failure(message, evidence, absent(missing, only=all(p.only_missing or p.note for p in problems),
                                            informational=[name for name in missing if name not in protocol],
                                            roles=roles))


def _report(ctx: CheckContext, family: str) -> None:
    """Raise the problems of one rule family of the judged stream, if any."""
    if not streams.is_stream(ctx.exchange):
        return
    raise_problems(streams.analyse(ctx.exchange, ctx.profile).get(family, []))


@check("stream_content_type", implicit=True)
def stream_content_type(ctx: CheckContext) -> None:
    """A stream request is answered with ``text/event-stream``; a JSON body to a stream request fails (and a
    stream answer to a request that did not ask for one fails too)."""
    exchange = ctx.exchange
    if exchange.requested_stream and not exchange.is_sse:
        shown = exchange.content_type or "no content type"
        raise CheckFailure(f"the request asked for a stream (stream: true), but the answer is {shown}, not "
                           f"text/event-stream: {exchange.excerpt(200)}",
                           {"content_type": exchange.content_type, "expected": "text/event-stream"}, root=True)
    if exchange.is_sse and not exchange.requested_stream:
        raise CheckFailure("the request did not ask for a stream, but the answer is text/event-stream",
                           {"content_type": exchange.content_type}, root=True)


@check("stream_framing", implicit=True)
def stream_framing(ctx: CheckContext) -> None:
    """SSE framing: Responses events have an ``event:`` line equal to the JSON ``type``; chat is ``data:`` lines
    only ending with ``data: [DONE]``; ``[DONE]`` in Responses streams per profile (absent for openai, tolerated
    for compat, required for open-responses); every data line is JSON."""
    _report(ctx, "framing")


@check("stream_event_schema", implicit=True)
def stream_event_schema(ctx: CheckContext) -> None:
    """Every event (Responses) or chunk (chat) validates against its contract in ``conformance/specs/contracts/<profile>/``,
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
    item's life; deltas end with one ``.done``; nothing is left open at the terminal event (a server-side tool item
    the terminal output holds is a note: OpenAI does not promise its ``output_item.done``)."""
    _report(ctx, "nesting")


@check("stream_reassembly", implicit=True, apis=("responses",))
def stream_reassembly(ctx: CheckContext) -> None:
    """Deltas concatenate to their ``.done`` text, which equals the part in ``content_part.done``, the item in
    ``output_item.done``, and the item in the terminal response's ``output`` (opaque fields such as
    ``encrypted_content`` aside: ``vocabulary.OPAQUE_FIELDS``)."""
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
    pieces that are strings and concatenate into a JSON object (under openai a note unless the tool is strict:
    OpenAI documents that the model does not always generate valid JSON)."""
    _report(ctx, "tool_calls")


@check("chat_stream_usage", implicit=True, apis=("chat",))
def chat_stream_usage(ctx: CheckContext) -> None:
    """With ``stream_options.include_usage`` exactly one extra final chunk carries the usage, with
    ``choices: []``; without it no chunk carries usage."""
    _report(ctx, "usage")


# The implicit checks that judge streams, in report order (the audit runs them on recorded streams).
STREAM_CHECKS = ("stream_content_type", "stream_framing", "stream_event_schema", "stream_sequence", "stream_envelope",
                 "stream_nesting", "stream_reassembly", "stream_error", "chat_stream_chunks", "chat_stream_tool_calls",
                 "chat_stream_usage")


def check_stream(exchange: Exchange, profile: str) -> list[Failure]:
    """Every stream check on one exchange: a list of findings (empty when it conforms)."""
    if exchange.api not in ("chat", "responses"):
        return []
    ctx = CheckContext(api=exchange.api, exchanges={exchange.step: exchange}, profile=profile, step=exchange.step)
    failures: list[Failure] = []
    for name in STREAM_CHECKS:
        failures += run_check(name, ctx)
    return failures
