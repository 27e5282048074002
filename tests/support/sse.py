"""Write SSE text back from events: for tests that build deviant streams from real ones.

``frames(events)`` turns parsed events into editable ``[name, payload]`` pairs (a
deep copy of the JSON, or the raw data such as ``[DONE]``); ``render(frames)`` writes
them out as an SSE body again, so a test can change one thing in a real stream.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Iterable

from conformance.transport.sse import SseEvent


def frames(events: list[SseEvent]) -> list[list[Any]]:
    """Editable ``[event name or None, payload]`` pairs; the payload is the JSON (deep-copied) or the raw data."""
    return [[e.event, copy.deepcopy(e.json) if e.json is not None else e.data] for e in events]


def render(pairs: Iterable[list[Any] | tuple[str | None, Any]]) -> str:
    """An SSE body for ``(name, payload)`` pairs: a string payload is sent as is, anything else as compact JSON."""
    out = []
    for name, payload in pairs:
        data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
        out.append((f"event: {name}\n" if name is not None else "") + f"data: {data}\n\n")
    return "".join(out)


def renumber(pairs: list[list[Any]], start: int = 0) -> list[list[Any]]:
    """Give the JSON events that carry a sequence_number consecutive numbers from ``start`` (in place)."""
    number = start
    for _, payload in pairs:
        if isinstance(payload, dict) and "sequence_number" in payload:
            payload["sequence_number"] = number
            number += 1
    return pairs
