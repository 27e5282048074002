"""Tool-call arguments: a string holding a JSON object, in both APIs (chat ``function.arguments``,
Responses ``function_call.arguments``). This is the one parser every check uses."""

from __future__ import annotations

import json
from typing import Any


def clip(text: Any, limit: int = 200) -> str:
    """A short repr of ``text`` for messages."""
    text = text if isinstance(text, str) else json.dumps(text, default=str)
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def parse_object(text: Any) -> tuple[dict[str, Any] | None, str | None]:
    """``(object, None)`` when ``text`` is a string holding a JSON object, else ``(None, why not)``.

    ``why`` reads after a subject: "the arguments " + why.
    """
    if not isinstance(text, str):
        kind = "an object" if isinstance(text, dict) else f"a JSON {type(text).__name__}"
        return None, f"is {kind}, not a string"
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        where = f" ({exc.msg} at char {exc.pos})" if isinstance(exc, json.JSONDecodeError) else ""
        return None, f"is not JSON{where}: {clip(text, 120)}"
    if not isinstance(value, dict):
        return None, f"is JSON {type(value).__name__}, not an object: {clip(text, 120)}"
    return value, None


# Why non-JSON arguments are not a failure under the openai profile unless the tool is strict: OpenAI's spec says
# of function-call arguments that "the model does not always generate valid JSON, and may hallucinate parameters
# not defined by your function schema" (FunctionObject, ChatCompletionMessageToolCall, FunctionToolCall); with
# `strict: true` the model follows the parameters schema (Structured Outputs).
NOT_ALWAYS_JSON = "OpenAI documents that the model does not always generate valid JSON unless the tool is strict"


def strict_tool(api: str | None, name: Any, request_body: Any, response_body: Any = None) -> bool:
    """True when function tool ``name`` was declared strict for this call.

    Chat Completions: ``tools[].function.strict`` of the request, false by default. Responses: the tool as the
    response echoes it (``tools[].strict``), else as the request declared it; strict by default (migration
    guide: "functions in Responses are strict by default").
    """
    if api == "chat":
        for tool in _list(request_body, "tools"):
            function = tool.get("function") if isinstance(tool.get("function"), dict) else {}
            if function.get("name") == name:
                return function.get("strict") is True
        return False
    for source in (response_body, request_body):
        for tool in _list(source, "tools"):
            if tool.get("type") == "function" and tool.get("name") == name and "strict" in tool:
                return tool.get("strict") is not False
    return True


def _list(body: Any, key: str) -> list[dict[str, Any]]:
    value = body.get(key) if isinstance(body, dict) else None
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []
