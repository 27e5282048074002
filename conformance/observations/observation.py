"""An Observation is the API-neutral meaning of one generation answer.

Chat's ``choices[0].message`` and Responses' ``output`` items describe the same
things in two shapes; behavioural and cross-API checks compare Observations.
``text`` is derived from the output items exactly as the SDKs' ``output_text``
helper does (concatenating ``output_text`` parts of ``message`` items): it is
never read from the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.observations.reassembly import final_response, reassemble_chat
from conformance.transport.exchange import Exchange


@dataclass
class ToolCall:
    name: str | None
    arguments: Any  # should be a str holding JSON; kept as sent so checks can flag objects
    call_id: str | None


@dataclass
class Usage:
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    reasoning_tokens: int | None


@dataclass
class Observation:
    api: str
    body: dict[str, Any] | None  # the non-stream object, or the one the stream reassembles to
    id: str | None = None
    text: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish: str | None = None  # stop | length | tool_calls | content_filter | failed | ... (API-neutral)
    usage: Usage | None = None
    reasoning_items: int = 0
    choices: int = 1


def output_text(response: dict[str, Any]) -> str | None:
    """The SDK's ``output_text``: the ``output_text`` parts of every ``message`` item, concatenated."""
    parts = []
    found = False
    for item in response.get("output") or []:
        if isinstance(item, dict) and item.get("type") == "message":
            for part in item.get("content") or []:
                if isinstance(part, dict) and part.get("type") == "output_text":
                    found = True
                    parts.append(part.get("text") or "")
    return "".join(parts) if found else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def observe_chat(body: dict[str, Any]) -> Observation:
    """Read a ``chat.completion`` (or a reassembled stream) into an Observation."""
    choices = body.get("choices") or []
    first = choices[0] if choices and isinstance(choices[0], dict) else {}
    message = first.get("message") or {}
    calls = []
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        calls.append(ToolCall(function.get("name"), function.get("arguments"), call.get("id")))
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else None
    return Observation(
        api="chat",
        body=body,
        id=body.get("id"),
        text=message.get("content") if isinstance(message.get("content"), str) else None,
        refusal=message.get("refusal"),
        tool_calls=calls,
        finish=first.get("finish_reason"),
        usage=Usage(
            _int(usage.get("prompt_tokens")),
            _int(usage.get("completion_tokens")),
            _int(usage.get("total_tokens")),
            _int((usage.get("completion_tokens_details") or {}).get("reasoning_tokens")),
        )
        if usage
        else None,
        reasoning_items=0,
        choices=len(choices),
    )


def observe_response(body: dict[str, Any]) -> Observation:
    """Read a Responses ``response`` object into an Observation."""
    items = [item for item in body.get("output") or [] if isinstance(item, dict)]
    calls = [
        ToolCall(item.get("name"), item.get("arguments"), item.get("call_id"))
        for item in items
        if item.get("type") == "function_call"
    ]
    refusals = [
        part.get("refusal")
        for item in items
        if item.get("type") == "message"
        for part in item.get("content") or []
        if isinstance(part, dict) and part.get("type") == "refusal"
    ]
    status = body.get("status")
    if status == "completed":
        finish = "tool_calls" if calls else "stop"
    elif status == "incomplete":
        finish = (body.get("incomplete_details") or {}).get("reason") or "incomplete"
        finish = "length" if finish == "max_output_tokens" else finish
    else:
        finish = status
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else None
    return Observation(
        api="responses",
        body=body,
        id=body.get("id"),
        text=output_text(body),
        refusal=refusals[0] if refusals else None,
        tool_calls=calls,
        finish=finish,
        usage=Usage(
            _int(usage.get("input_tokens")),
            _int(usage.get("output_tokens")),
            _int(usage.get("total_tokens")),
            _int((usage.get("output_tokens_details") or {}).get("reasoning_tokens")),
        )
        if usage
        else None,
        reasoning_items=sum(1 for item in items if item.get("type") == "reasoning"),
        choices=1,
    )


def result_object(exchange: Exchange) -> dict[str, Any] | None:
    """The object an answer stands for: the JSON body, or what a stream reassembles to."""
    if exchange.is_sse:
        if exchange.api == "chat":
            return reassemble_chat(exchange.events)
        return final_response(exchange.events)
    body = exchange.json
    return body if isinstance(body, dict) else None


def observe(exchange: Exchange) -> Observation | None:
    """The Observation of a create answer, or None when there is no object to read."""
    body = result_object(exchange)
    if body is None or "error" in body and body.get("object") is None and len(body) == 1:
        return None
    if exchange.api == "chat":
        return observe_chat(body)
    return observe_response(body)


def names_function(request: Any) -> bool:
    """True when the request's ``tool_choice`` names one function (either API's shape)."""
    choice = request.get("tool_choice") if isinstance(request, dict) else None
    return isinstance(choice, dict) and choice.get("type") == "function"


def finish_class(obs: Observation, request: Any) -> str | None:
    """The API-neutral finish class of an answer.

    OpenAI's chat answers ``finish_reason: "stop"`` (not ``tool_calls``) when
    ``tool_choice`` names a function (deviations row 18, 23 corpus answers), so
    that combination counts as ``tool_calls``; Responses has no finish reason
    and ``observe`` derives ``tool_calls`` from the presence of calls.
    """
    if obs.api == "chat" and obs.finish == "stop" and obs.tool_calls and names_function(request):
        return "tool_calls"
    return obs.finish


def json_texts(obs: Observation) -> list[str]:
    """The texts a structured-output request constrains.

    Chat: ``message.content``. Responses: each ``output_text`` part on its own,
    as the SDKs' ``responses.parse`` does: OpenAI itself sometimes answers two
    message items each holding one JSON object, whose concatenation
    (``output_text``) is not JSON.
    """
    if obs.api == "chat":
        return [obs.text] if obs.text else []
    texts = []
    for item in (obs.body or {}).get("output") or []:
        if isinstance(item, dict) and item.get("type") == "message":
            for part in item.get("content") or []:
                if isinstance(part, dict) and part.get("type") == "output_text" and isinstance(part.get("text"), str):
                    texts.append(part["text"])
    return texts
