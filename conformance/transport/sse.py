"""Server-sent events: split a recorded ``text/event-stream`` body into events.

Follows the WHATWG rules that matter for these APIs: events end at a blank line,
several ``data:`` lines are joined with newlines, one leading space after the
colon is dropped, ``:`` lines are comments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.parsing import ParseError, load_json


@dataclass
class SseEvent:
    """One event of a stream, with its JSON payload parsed when it is JSON."""

    index: int
    event: str | None  # the ``event:`` line, if any
    data: str  # the joined ``data:`` lines
    json: Any = None  # parsed ``data``; None for ``[DONE]`` or non-JSON
    json_error: str | None = None  # why ``data`` did not parse

    @property
    def is_done(self) -> bool:
        return self.data == "[DONE]"

    @property
    def type(self) -> str | None:
        """The JSON ``type`` of a Responses event (None for chat chunks)."""
        return self.json.get("type") if isinstance(self.json, dict) else None


def parse_sse(text: str) -> list[SseEvent]:
    """Parse a whole SSE body. Events with neither data nor a name are dropped, as the spec says."""
    events: list[SseEvent] = []
    name: str | None = None
    data_lines: list[str] = []

    def flush() -> None:
        nonlocal name, data_lines
        if data_lines:
            data = "\n".join(data_lines)
            event = SseEvent(index=len(events), event=name, data=data)
            if data != "[DONE]":
                try:
                    event.json = load_json(data)
                except ParseError as exc:  # not JSON, nested too deep, a number out of range
                    event.json_error = str(exc).removeprefix("not JSON: ")
            events.append(event)
        name, data_lines = None, []

    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw == "":
            flush()
            continue
        if raw.startswith(":"):
            continue
        field, _, value = raw.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            data_lines.append(value)
        elif field == "event":
            name = value
    flush()
    return events
