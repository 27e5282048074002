"""Garbage-collection settings for the commands that keep many objects alive until their reports are written.

``conformance run`` keeps every cell's results, findings and parsed cassettes, ``conformance audit`` every parsed
cassette and its findings: Python's default thresholds (700, 10, 10) then start many young-generation collections
that find little to free. Fewer of them save about a sixth of the audit's CPU time and about 7% of a replay
(``benchmarks/audit_bench.py``, ``benchmarks/replay_bench.py``). Objects still in use are unaffected; garbage in
reference cycles waits longer for a full collection (these commands make little of it).
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

FEWER_COLLECTIONS = (50_000, 20, 100)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect garbage less often while the block runs (``FEWER_COLLECTIONS``); the thresholds are restored
    after. Forked workers started inside inherit the setting."""
    saved = gc.get_threshold()
    gc.set_threshold(*FEWER_COLLECTIONS)
    try:
        yield
    finally:
        gc.set_threshold(*saved)
