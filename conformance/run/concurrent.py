"""In-process concurrency for live runs (``conformance run --live --concurrency N``).

A live case spends nearly all its time waiting for the target's answers. pytest runs items one after another,
and xdist workers each cost a Python start-up (seconds on a small machine). Here, when the first live item
starts, every planned live case is handed to a pool of N threads, longest first (cases that poll, then the
ones with more requests), so a slow case never ends up last; each item then waits for its own case and
judges it as usual, in pytest's order. A target's ``concurrency`` in the targets file caps how many of its
cases run at once (a small local server may answer one request at a time).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable

from conformance.run.plan import RunSpec


def expected_cost(spec: RunSpec) -> tuple[int, int]:
    """How long a case is likely to take, for ordering: (polling steps, requests) of its steps."""
    steps = spec.case.steps.get(spec.api, [])
    return sum(1 for step in steps if step.poll), len(steps)


class CaseRunner:
    """Runs cases on a pool of threads; ``result(spec)`` waits for one (its exception is raised there)."""

    def __init__(self, workers: int, limits: dict[str, int] | None = None):
        self.workers = max(1, workers)
        self.limits = {name: threading.BoundedSemaphore(max(1, n)) for name, n in (limits or {}).items() if n}
        self.pool: ThreadPoolExecutor | None = None
        self.futures: dict[str, Future] = {}
        self.lock = threading.Lock()

    def start(self, specs: Iterable[RunSpec], run: Callable[[RunSpec], Any]) -> None:
        """Submit every spec (once), longest first."""
        with self.lock:
            if self.pool is not None:
                return
            self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="conformance-case")
            for spec in sorted(specs, key=expected_cost, reverse=True):
                if spec.id not in self.futures:
                    self.futures[spec.id] = self.pool.submit(self._limited, spec, run)

    def _limited(self, spec: RunSpec, run: Callable[[RunSpec], Any]) -> Any:
        gate = self.limits.get(spec.target.name)
        if gate is None:
            return run(spec)
        with gate:
            return run(spec)

    def result(self, spec: RunSpec, run: Callable[[RunSpec], Any]) -> Any:
        """The outcome of ``spec``'s run: from the pool when it was submitted, else run here and now."""
        future = self.futures.get(spec.id)
        return run(spec) if future is None else future.result()

    def close(self) -> None:
        """Stop taking cases; cases already running finish (a live request is bounded by its timeouts)."""
        if self.pool is not None:
            for future in self.futures.values():
                future.cancel()
            self.pool.shutdown(wait=True)
