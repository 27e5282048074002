"""Recordings that contradict themselves: what makes a cassette of api.openai.com look edited or truncated.

A genuine OpenAI answer agrees with its request (a stream when a stream was asked, a usage chunk exactly
when ``include_usage`` was asked) and carries what OpenAI has sent in every era (a chat choice always has a
``finish_reason``). When a recording of ``api.openai.com`` breaks one of these, the finding still fails
("failing them is right", issue 8), but its message says that the recording looks edited or truncated and
why, so the user fixes the cassette instead of doubting the API. On other hosts the same facts are the
server's own deviations and the messages stay as the checks wrote them.

``reasons(exchange)`` returns ``(check, reason)`` pairs: the check whose finding the reason explains.
None of these rules fires on a genuine official interaction of ../shared/corpus (tests/test_audit_altered.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from conformance.api.vocabulary import START_EVENTS, TERMINAL_EVENTS, ends_with_final_audio
from conformance.checks.findings import Failure, Verdict
from conformance.observations.streams import stream_events
from conformance.transport.exchange import Exchange

OPENAI_HOST = "api.openai.com"
PREFIX = "the recording looks edited or truncated"
# Fields OpenAI has sent in every genuine answer of every era (2023-11 to 2026-06 in ../shared/corpus, five
# projects; none of them is a late addition in conformance/api/history.py): absent, the body was cut or edited.
EVERY_ERA = {
    "chat": ("id", "object", "created", "model", "choices", "finish_reason", "role", "usage"),
    "responses": ("id", "object", "created_at", "model", "output", "status"),
}


def is_openai(exchange: Exchange) -> bool:
    """True when the recorded request went to OpenAI's own API host."""
    try:
        return (urlsplit(exchange.url).hostname or "").lower() == OPENAI_HOST
    except ValueError:
        return False


def _option(body: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def reasons(exchange: Exchange) -> list[tuple[str, str]]:
    """Why a recording of ``api.openai.com`` looks edited or truncated, as ``(check, reason)`` pairs."""
    route = exchange.route
    if not is_openai(exchange) or route is None or not exchange.ok or route.role != "create":
        return []
    asked = exchange.requested_stream
    events = stream_events(exchange)
    out: list[tuple[str, str]] = []
    if asked and events is not None and not exchange.is_sse:
        out.append(("stream_content_type", f"the stream is stored under content type "
                                           f"{exchange.content_type or 'none'}: the recorder or the project "
                                           f"relabelled it (OpenAI answers streams as text/event-stream)"))
    elif asked and events is None:
        out.append(("stream_content_type", "the request asks for a stream but a JSON body was recorded: the request "
                                           "or the answer was edited (or recorded from another call)"))
    elif exchange.is_sse and not asked and isinstance(exchange.request_body, dict):
        out.append(("stream_content_type", "a stream answers a request that did not ask for one: the request "
                                           "body was edited"))
    if events is None:
        return out
    payloads = [e.json for e in events if isinstance(e.json, dict)]
    if route.api == "chat":
        out += _chat(exchange, events, payloads)
    else:
        out += _responses(exchange, payloads)
    return out


def _chat(exchange: Exchange, events: list[Any], payloads: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    done = any(e.is_done for e in events)
    wanted = _option(exchange.request_body, "stream_options", "include_usage") is True
    usage = any(isinstance(p.get("usage"), dict) for p in payloads)
    if wanted and not usage:
        out.append(("chat_stream_usage", "include_usage was asked but no usage chunk was recorded: the stream was "
                                         "truncated or the chunk removed" + ("" if done else " (and it has no [DONE])")))
    if usage and not wanted:
        out.append(("chat_stream_usage", "a usage chunk without stream_options.include_usage in the request: the "
                                         "request was edited (OpenAI sends usage only when asked)"))
    if not done:
        out.append(("stream_framing", "the stream has no `data: [DONE]`: the recording is truncated"))
    choices = [c for p in payloads for c in (p.get("choices") if isinstance(p.get("choices"), list) else [])
               if isinstance(c, dict)]
    deltas: dict[Any, list[Any]] = {}
    for choice in choices:
        if isinstance(choice.get("index"), int):
            deltas.setdefault(choice["index"], []).append(choice.get("delta"))
    finished = (any(c.get("finish_reason") is not None for c in choices)
                or any(ends_with_final_audio(one) for one in deltas.values()))
    if payloads and not finished:
        out.append(("chat_stream_chunks", "no chunk has a finish_reason: the stream was truncated (or is not an "
                                          "OpenAI stream)"))
    return out


def _responses(exchange: Exchange, payloads: list[dict[str, Any]]) -> list[tuple[str, str]]:
    typed = [p for p in payloads if isinstance(p.get("type"), str)]
    if not typed:
        return []
    out: list[tuple[str, str]] = []
    if typed[0]["type"] not in START_EVENTS and exchange.method.upper() != "GET":
        out.append(("stream_envelope", f"the stream's head is missing (its first event is {typed[0]['type']}): "
                                       f"the recording was cut"))
    if not any(p["type"] in TERMINAL_EVENTS or p["type"] == "error" for p in typed):
        out.append(("stream_envelope", f"the stream ends at {typed[-1]['type']} without a terminal event: the "
                                       f"recording is truncated"))
    return out


def every_era_missing(failure: Failure, api: str | None) -> list[str]:
    """The fields OpenAI sent in every era that a ``schema`` finding reports absent."""
    if failure.check != "schema" or failure.missing is None or api not in EVERY_ERA:
        return []
    return [name for name in failure.missing.protocol if name in EVERY_ERA[api]]


def explain(failures: list[Failure], exchange: Exchange) -> list[Failure]:
    """The failing findings of a recording of ``api.openai.com`` that looks edited, with the reason in front."""
    if not any(failure.verdict == Verdict.FAIL for failure in failures) or not is_openai(exchange):
        return failures  # only a failing finding is explained (most recordings have none: not worth reading)
    found: dict[str, list[str]] = {}
    for check, reason in reasons(exchange):
        found.setdefault(check, []).append(reason)
    out = []
    for failure in failures:
        why = list(found.get(failure.check, []))
        route = exchange.route
        era = every_era_missing(failure, exchange.api) if exchange.ok and route and route.role == "create" else []
        if era:
            why.append(f"it lacks {', '.join(era)}, which OpenAI has sent in every answer of every era: the body "
                       f"was edited or truncated")
        if why and failure.verdict == Verdict.FAIL:
            failure = Failure(failure.check, f"{PREFIX}: {'; '.join(why)}. {failure.message}", failure.verdict,
                              failure.step, failure.evidence, failure.missing, failure.role, failure.cause)
        out.append(failure)
    return out
