"""Parsed files kept for the rest of a run, so one run parses each of them once.

Replay parses a cassette to answer its case (``vcr.read_cassette``); the run's HTML report then shows request and
response excerpts from the same file (``recordings.read_document``). Parsing YAML is the costliest part of both,
so replay keeps what it parsed here, and the report reads it back while the file is unchanged (same path, inode,
modification time and size). A target's expectations, asked for on every item, are kept the same way
(``verdicts.expectations``). Only a run keeps files, until its reports are written (``forget``): the audit reads
each file once and keeps nothing. Whoever reads a kept document must not change it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_KEPT: dict[str, tuple[tuple[int, int, int], Any]] = {}  # absolute path -> (stamp when read, document)


def stamp(path: str | Path) -> tuple[int, int, int] | None:
    """What tells a file's versions apart here: its inode, modification time and size (None: no such file)."""
    try:
        found = Path(path).stat()
    except OSError:
        return None
    return found.st_ino, found.st_mtime_ns, found.st_size


def keep(path: str | Path, document: Any, read_at: tuple[int, int, int] | None) -> None:
    """Keep the parsed ``document`` of the file at ``path``, read when its stamp was ``read_at`` (taken before
    reading: a file changed since then is not kept)."""
    if read_at is not None and read_at == stamp(path):
        _KEPT[os.path.abspath(path)] = (read_at, document)


def kept(path: str | Path) -> Any | None:
    """The document kept for ``path`` when the file has not changed since, else None."""
    if not _KEPT:  # nothing kept (the audit): no path to resolve
        return None
    found = _KEPT.get(os.path.abspath(path))
    if found is None or found[0] != stamp(path):
        return None
    return found[1]


def forget() -> None:
    """Drop everything kept (a run's reports are written): its memory is freed at once, and the
    collections the garbage collector runs at the end of a session do not walk them again."""
    _KEPT.clear()
