"""Parsed cassette documents kept for the rest of the process, so one run parses each cassette once.

Replay parses a cassette to answer its case (``vcr.SafePersister``); the run's HTML report then shows request and
response excerpts from the same file (``recordings.read_document``). Parsing YAML is the costliest part of both,
so replay keeps what it parsed here, and the report reads it back while the file is unchanged (same path,
modification time and size). Only replay keeps documents: the audit reads each file once and keeps nothing.
Whoever reads a kept document must not change it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_KEPT: dict[str, tuple[tuple[int, int], Any]] = {}


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def keep(path: str | Path, document: Any) -> None:
    """Keep the parsed ``document`` of the file at ``path`` (as the file is now)."""
    stamp = _stamp(Path(path))
    if stamp is not None:
        _KEPT[str(Path(path).resolve())] = (stamp, document)


def kept(path: str | Path) -> Any | None:
    """The document kept for ``path`` when the file has not changed since, else None."""
    if not _KEPT:  # nothing kept (the audit): no path to resolve
        return None
    found = _KEPT.get(str(Path(path).resolve()))
    if found is None or found[0] != _stamp(Path(path)):
        return None
    return found[1]


def forget() -> None:
    """Drop every kept document."""
    _KEPT.clear()
