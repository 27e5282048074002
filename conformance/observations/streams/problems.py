"""Problems the stream grammars find.

A grammar walks a stream once and files every problem it sees under a rule
family (``framing``, ``sequence``, ``nesting``, ...). Grammars only report
problems; the stream checks (``conformance.checks.stream``) turn the problems of
a family into one finding. A problem marked ``note`` is information that never
makes a failure (an informational field absent, a server-side tool item left
open that the terminal response holds): the evidence of each rule family is in
``evidence.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.transport.sse import SseEvent

SHOWN = 3  # problems spelled out in a failure message
KEPT = 10  # problems kept in the evidence


@dataclass
class Problem:
    """One deviation of a stream from its grammar."""

    rule: str  # the rule family, e.g. "sequence"
    message: str  # what was expected and what was seen, without the location
    index: int | None = None  # the SSE event index (None: about the whole stream)
    event: str | None = None  # the event's type (or "chunk" for chat)
    excerpt: str | None = None  # a short piece of the event's data
    missing: tuple[str, ...] = ()  # fields or event types that are absent
    only_missing: bool = False  # absence is the whole problem (no wrong value besides)
    group: Any = None  # problems with the same group are reported once, with a count
    note: bool = False  # information, never a failure (informational absence, documented latitude)
    role: str | None = None  # an absent field's role, when its contract names it (x-evidence)

    def located(self) -> str:
        """The message with its location, e.g. ``event #4 (response.output_text.delta): ...``."""
        if self.index is None:
            return self.message
        where = f"event #{self.index}" + (f" ({self.event})" if self.event else "")
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message}
        if self.index is not None:
            out["index"] = self.index
        if self.event:
            out["event"] = self.event
        if self.excerpt:
            out["excerpt"] = self.excerpt
        return out


def short(value: Any, limit: int = 60) -> str:
    """A value for a message: its repr, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def excerpt(event: SseEvent, limit: int = 160) -> str:
    """A short piece of an event's data for messages."""
    data = event.data
    return data if len(data) <= limit else data[:limit] + "..."


@dataclass
class _Group:
    first: Problem
    count: int = 1
    indexes: list[int] = field(default_factory=list)


def collapse(problems: list[Problem]) -> list[tuple[Problem, int]]:
    """Merge problems of the same group, keeping the first and counting the others (order kept)."""
    groups: dict[Any, _Group] = {}
    out: list[_Group] = []
    for problem in problems:
        if problem.group is None:
            out.append(_Group(problem))
            continue
        found = groups.get(problem.group)
        if found is None:
            groups[problem.group] = found = _Group(problem)
            out.append(found)
        else:
            found.count += 1
    return [(g.first, g.count) for g in out]
