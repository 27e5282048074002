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
