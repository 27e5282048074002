"""Stream conformance: the Responses and Chat Completions stream grammars.

``analyse(exchange, profile)`` walks a stream once and returns its problems by
rule family; the result is cached on the exchange, so the dozen stream checks
that read it cost one pass. ``check_stream(exchange, profile)`` runs every
implicit stream check on one exchange, for callers outside a case run (the audit).
"""

from __future__ import annotations

from typing import Any

from conformance.exchanges import Exchange
from conformance.sse import SseEvent, parse_sse
from conformance.streams import chat_grammar, responses_grammar
from conformance.streams.problems import Problem, raise_problems

__all__ = ["Problem", "analyse", "check_stream", "is_stream", "stream_events", "raise_problems"]

_CACHE = "_stream_analyses"  # attribute on the Exchange holding {profile: problems}


def is_stream(exchange: Exchange) -> bool:
    """True when the exchange asked for a stream or answered with one."""
    return exchange.requested_stream or exchange.is_sse


def stream_events(exchange: Exchange) -> list[SseEvent] | None:
    """The events of a stream answer, or None when the body is not a stream.

    A body labelled ``text/event-stream`` is parsed (once, by Exchange.events); a body
    with another content type that still reads as SSE is parsed too, so the grammar can
    judge it while ``stream_content_type`` reports the label.
    """
    if exchange.is_sse:
        return exchange.events
    head = exchange.text.lstrip()[:6]
    if head.startswith(("data:", "event:", ":")):
        cached = exchange.__dict__.get("_stream_events")
        if cached is None:
            cached = exchange.__dict__["_stream_events"] = parse_sse(exchange.text)
        return cached
    return None


def analyse(exchange: Exchange, profile: str) -> dict[str, list[Problem]]:
    """The problems of a stream answer under ``profile``, by rule family ({} when it is not a stream)."""
    cache: dict[str, Any] = exchange.__dict__.setdefault(_CACHE, {})
    if profile in cache:
        return cache[profile]
    events = stream_events(exchange)
    if events is None:
        found: dict[str, list[Problem]] = {}
    elif exchange.api == "chat":
        found = chat_grammar.analyse(exchange, events, profile)
    elif exchange.api == "responses":
        found = responses_grammar.analyse(exchange, events, profile)
    else:
        found = {}
    cache[profile] = found
    return found


def check_stream(exchange: Exchange, profile: str) -> list:
    """Every implicit stream check on one exchange: a list of ``Failure`` (empty when it conforms)."""
    from conformance.checks.registry import CHECKS, CheckContext, run_check
    from conformance.checks import stream as _registers  # noqa: F401  (registers the stream checks)

    if exchange.api is None:
        return []
    ctx = CheckContext(api=exchange.api, exchanges={exchange.step: exchange}, profile=profile, step=exchange.step,
                       stream=is_stream(exchange))
    failures = []
    for name, check in CHECKS.items():
        if check.implicit and check.fn.__module__ == "conformance.checks.stream":
            failures += run_check(name, ctx)
    return failures
