"""Strict validation in the SDK lane: an answer validated against the installed openai SDK's own models.

The SDK never validates by default (``create()`` builds its objects with ``construct``); with
``_strict_response_validation=True`` it validates the answer with ``model_validate`` and raises on a
mismatch. Here the same validation runs beside the call, so what it says is information (the ``sdk_strict``
note), never the SDK's run-time behaviour.
"""

from __future__ import annotations

import functools
import typing
from typing import Any

import openai
import pydantic

from conformance.transport.exchange import Exchange
from conformance.transport.sdk_outcome import SdkOutcome
from conformance.transport.sse import parse_sse


@functools.lru_cache(maxsize=None)
def _event_models(api: str | None) -> dict[str, Any]:
    """The SDK's model of each stream event, by its ``type`` (chat: every chunk is a ChatCompletionChunk)."""
    if api == "chat":
        from openai.types.chat import ChatCompletionChunk
        return {"": ChatCompletionChunk}
    from openai.types.responses import ResponseStreamEvent

    union = typing.get_args(ResponseStreamEvent)[0] if typing.get_origin(ResponseStreamEvent) is typing.Annotated \
        else ResponseStreamEvent
    models = {}
    for member in typing.get_args(union):
        field = getattr(member, "model_fields", {}).get("type")
        for value in typing.get_args(field.annotation) if field is not None else ():
            models[value] = member
    return models


def _errors(exc: Any, limit: int = 6) -> list[str]:
    lines = [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()[:limit]]
    if exc.error_count() > limit:
        lines.append(f"... and {exc.error_count() - limit} more")
    return lines


def _event_errors(api: str | None, text: str) -> list[str]:
    """Each stream event validated against the SDK's model of its type."""
    models = _event_models(api)
    found: list[str] = []
    for event in parse_sse(text):
        data = event.json
        if not isinstance(data, dict) or (api == "chat" and data.get("error")):
            continue
        kind = "" if api == "chat" else str(data.get("type"))
        label = data.get("type") or data.get("object") or "event"
        model = models.get(kind)
        if model is None:
            found.append(f"event #{event.index} ({label}): no SDK model for this event type")
            continue
        try:
            model.model_validate(data)
        except pydantic.ValidationError as exc:
            found.append(f"event #{event.index} ({label}): " + "; ".join(_errors(exc, 3)))
    return found[:20] + ([f"... and {len(found) - 20} more events"] if len(found) > 20 else [])


def strict_errors(outcome: SdkOutcome, exchange: Exchange) -> list[str] | None:
    """What the SDK's models say of the answer when validated (``_strict_response_validation=True``
    validates with ``model_validate``): [] valid, None when there was nothing to validate. A stream's events
    are validated each against the model of its type."""
    if not exchange.ok:
        return None
    if exchange.is_sse:
        return _event_errors(outcome.api, exchange.text)
    model = model_of(outcome)
    data = exchange.json
    if model is None or not isinstance(data, dict):
        return None
    try:
        model.model_validate(data)
    except pydantic.ValidationError as exc:
        return _errors(exc)
    except Exception as exc:  # noqa: BLE001  (a model that cannot validate at all says as much)
        return [f"{type(exc).__name__}: {exc}"]
    return []


def model_of(outcome: SdkOutcome) -> Any:
    """The SDK class the answer was cast to (the returned object's), without the parse wrapper."""
    name = outcome.result_type
    if not name or outcome.via != "typed":
        return None
    import openai.types.chat as chat_types
    import openai.types.responses as responses_types

    for module in (chat_types, responses_types, openai.types, getattr(openai.types, "conversations", None)):
        found = getattr(module, name.removeprefix("Parsed").split("[", 1)[0], None) if module else None
        if found is not None and hasattr(found, "model_validate"):
            return found
    return None
