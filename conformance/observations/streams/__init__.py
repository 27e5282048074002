"""The stream grammars of both APIs: they walk a stream once and report problems by rule family.

``analyse(exchange, profile)`` walks a stream once and returns its problems by rule family; the result
is cached on the exchange, so the stream checks that read it cost one pass. Grammars never import
the checks: ``conformance.checks.stream`` turns their problems into findings.
"""

from __future__ import annotations

from typing import Any

from conformance.observations.streams import chat, responses
from conformance.observations.streams.problems import Problem
from conformance.transport.exchange import Exchange
from conformance.transport.sse import SseEvent, parse_sse

__all__ = ["Problem", "analyse", "is_stream", "stream_events"]

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
        found = chat.analyse(exchange, events, profile)
    elif exchange.api == "responses":
        found = responses.analyse(exchange, events, profile)
    else:
        found = {}
    cache[profile] = found
    return found
