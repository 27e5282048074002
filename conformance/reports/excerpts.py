"""Request and response excerpts for a cell's steps, read from the cassette its record points to.

A record names its cassette (relative to the run's cassette folder) and each step its interaction index
there. Live runs have no cassette: their steps carry short excerpts themselves. Results written before
steps had an index are matched by method and path, in order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance.transport.recordings import CassetteError, Recorded, load_cassette

REQUEST_LIMIT = 1200
RESPONSE_LIMIT = 1600


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more characters)"


def _pretty(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False)


def _pretty_clipped(value: Any, limit: int) -> str:
    """``_clip(_pretty(value), limit)``, without writing all of a large value out with Python's indenting encoder
    (pure Python, the costliest part of the HTML report): the length comes from the C encoder's compact text plus
    the line breaks and indentation the layout adds, and only the first ``limit`` characters are laid out."""
    if value is None or isinstance(value, str):
        return _clip(_pretty(value), limit)
    total = len(json.dumps(value, ensure_ascii=False, separators=(",", ": "))) + _layout_length(value)
    if total <= limit:
        return _pretty(value)
    head, size = [], 0
    for chunk in json.JSONEncoder(indent=2, ensure_ascii=False).iterencode(value):
        head.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return "".join(head)[:limit] + f"\n... ({total - limit} more characters)"


def _layout_length(value: Any) -> int:
    """What ``indent=2`` adds to the compact text of ``value``: each item of a non-empty array or object starts
    a line indented two spaces deeper than its container, and the closing bracket a line of its own."""
    extra, pending = 0, [(value, 0)]
    while pending:
        node, depth = pending.pop()
        items = node.values() if isinstance(node, dict) else node if isinstance(node, (list, tuple)) else ()
        if items:
            extra += len(items) * (2 * depth + 3) + 2 * depth + 1
            pending.extend((item, depth + 1) for item in items)
    return extra


class CassetteLibrary:
    """Finds and reads cassettes (each once) under candidate folders."""

    def __init__(self, roots: list[str | Path | None]):
        self.roots = [Path(r) for r in roots if r]
        self._loaded: dict[Path, list[Recorded] | None] = {}

    def find(self, cassette: str | None, run_root: str | None = None) -> Path | None:
        """The cassette file a record points to, when it can be found."""
        if not cassette:
            return None
        path = Path(cassette)
        if path.is_absolute():
            return path if path.is_file() else None
        for root in [*self.roots, *([Path(run_root)] if run_root else [])]:
            if (root / path).is_file():
                return root / path
        return None

    def interactions(self, path: Path) -> list[Recorded] | None:
        if path not in self._loaded:
            try:
                self._loaded[path] = load_cassette(path)
            except CassetteError:
                self._loaded[path] = None
        return self._loaded[path]


def _matches(recorded: Recorded, step: dict[str, Any]) -> bool:
    exchange = recorded.exchange
    return exchange.method == (step.get("method") or "").upper() and exchange.path == step.get("path")


def step_excerpts(record: dict[str, Any], library: CassetteLibrary, run_root: str | None = None) -> list[dict]:
    """Each step of ``record`` with ``request`` and ``response`` excerpts (None when nothing says what was sent)
    and ``origin``: ``cassette`` (and its path and interaction index) or ``results`` (a live run's excerpt)."""
    path = library.find(record.get("cassette"), run_root)
    recorded = library.interactions(path) if path else None
    used: set[int] = set()
    out = []
    for step in record.get("steps") or []:
        shown = {key: step.get(key) for key in ("name", "method", "path", "status", "usage", "interaction")}
        shown.update(request=None, response=None, origin=None)
        found = None
        if recorded:
            index = step.get("interaction")
            if isinstance(index, int) and 0 <= index < len(recorded) and _matches(recorded[index], step):
                found = recorded[index]
            else:
                found = next((r for r in recorded if r.index not in used and _matches(r, step)), None)
        if found is not None:
            used.add(found.index)
            exchange = found.exchange
            response = (_pretty_clipped(exchange.json, RESPONSE_LIMIT) if exchange.json is not None
                        else _clip(exchange.text or "", RESPONSE_LIMIT))
            shown.update(request=_pretty_clipped(exchange.request_body, REQUEST_LIMIT),
                         response=response, origin="cassette",
                         cassette=str(record.get("cassette")), interaction=found.index)
        elif step.get("excerpt"):
            shown.update(request=step["excerpt"].get("request"), response=step["excerpt"].get("response"),
                         origin="results")
        out.append(shown)
    return out
