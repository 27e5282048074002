"""A worker pool that survives its workers: one that dies (a signal, an exit) or stops answering is detected,
the item it was on is reported lost, the rest of its batch goes to a fresh worker.

``multiprocessing.Pool`` loses the task of a worker killed by a signal and waits for it forever; here each
worker reports every item as it finishes it, so the parent always knows which item a dead or stuck worker
was on. Items go out in batches (one message per batch out, one per item back).
"""

from __future__ import annotations

import os
import selectors
import signal
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence


@dataclass
class Lost:
    """An item whose worker died or ran past the time limit: ``reason`` says which."""

    reason: str


def _serve(conn: Any, work: Callable[[Any], Any], initializer: Callable[..., None] | None,
           initargs: tuple) -> None:
    """A worker: run ``work`` on every item of every batch it receives, sending each result at once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if initializer is not None:
        initializer(*initargs)
    while True:
        try:
            batch = conn.recv()
        except (EOFError, OSError):
            return
        if batch is None:
            return
        for position, item in batch:
            conn.send((position, work(item)))


class _Worker:
    def __init__(self, context: Any, work: Callable[[Any], Any], initializer: Callable[..., None] | None,
                 initargs: tuple):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, work, initializer, initargs), daemon=True)
        self.process.start()
        child.close()
        self.pending: deque[tuple[int, Any]] = deque()  # the batch it is on, in order
        self.since = time.monotonic()  # when it last finished an item (or got its batch)

    def give(self, batch: list[tuple[int, Any]]) -> None:
        self.pending = deque(batch)
        self.since = time.monotonic()
        self.conn.send(batch)

    def why_gone(self) -> str:
        self.process.join(1)
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                return f"the audit worker was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"the audit worker was killed by signal {-code}"
        return f"the audit worker exited (status {code})"

    def stop(self, grace: float = 0.0) -> None:
        if grace:
            self.process.join(grace)
        if self.process.is_alive():
            try:
                os.kill(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.join(5)
        self.conn.close()


def run(items: Sequence[Any], work: Callable[[Any], Any], *, jobs: int, batch: int, timeout: float,
        context: Any, initializer: Callable[..., None] | None = None,
        initargs: tuple = ()) -> Iterator[tuple[int, Any]]:
    """Yield ``(position, work(items[position]))`` for every item, in completion order, over ``jobs`` worker
    processes; an item whose worker died, or took more than ``timeout`` seconds, yields ``(position, Lost)``."""
    queue: deque[list[tuple[int, Any]]] = deque(
        list(enumerate(items))[at:at + batch] for at in range(0, len(items), max(1, batch)))
    workers: list[_Worker] = []
    # One selector for the whole run (not one per wake-up, as multiprocessing's ``wait`` makes): the parent wakes
    # once per result, thousands of times in a large audit. It watches each worker's pipe and its exit.
    selector = selectors.DefaultSelector()

    def start(batch_of_items: list[tuple[int, Any]]) -> None:
        worker = _Worker(context, work, initializer, initargs)
        selector.register(worker.conn, selectors.EVENT_READ, (worker, "result"))
        selector.register(worker.process.sentinel, selectors.EVENT_READ, (worker, "exit"))
        worker.give(batch_of_items)
        workers.append(worker)

    def retire(worker: _Worker, grace: float = 0.0) -> None:
        selector.unregister(worker.conn)
        selector.unregister(worker.process.sentinel)
        workers.remove(worker)
        worker.stop(grace)

    try:
        for _ in range(min(jobs, len(queue))):
            start(queue.popleft())
        while workers:
            now = time.monotonic()
            ready: dict[_Worker, set[str]] = {}  # the workers with a result to read, or that exited
            for key, _ in selector.select(max(0.05, min(w.since + timeout - now for w in workers))):
                worker, what = key.data
                ready.setdefault(worker, set()).add(what)
            for worker in list(workers):
                lost: str | None = None
                happened = ready.get(worker, ())
                # One result per wake-up: a second one waiting makes the next select return at once (asking the
                # pipe with ``poll`` builds a selector each time, which cost more than the rest of the parent's work)
                if "result" in happened and worker.pending:
                    try:
                        position, result = worker.conn.recv()
                        while worker.pending and worker.pending[0][0] != position:
                            worker.pending.popleft()  # cannot happen: items come back in order
                        worker.pending.popleft()
                        worker.since = time.monotonic()
                        yield position, result
                    except (EOFError, OSError):
                        lost = worker.why_gone()
                    except Exception as exc:  # noqa: BLE001  (a result that does not unpickle)
                        lost = f"the audit worker sent a broken result ({type(exc).__name__}: {exc})"
                if lost is None and "exit" in happened and worker.pending and not worker.conn.poll():
                    lost = worker.why_gone()  # exited with items left and nothing more to read
                if (lost is None and worker.pending and time.monotonic() - worker.since > timeout
                        and not worker.conn.poll()):  # a result that came since the select is read next round
                    lost = f"no verdict within {timeout:g} s: the audit worker was stopped"
                if lost is not None:
                    retire(worker)
                    if worker.pending:
                        position, _ = worker.pending.popleft()
                        yield position, Lost(lost)
                    if worker.pending:
                        queue.appendleft(list(worker.pending))
                    if queue:
                        start(queue.popleft())
                    continue
                if not worker.pending:
                    if queue:
                        batch_of_items = queue.popleft()
                        try:
                            worker.give(batch_of_items)
                        except OSError:  # it died after its last result: no item was on it; a fresh one takes over
                            worker.pending = deque()
                            retire(worker)
                            start(batch_of_items)
                    else:
                        try:
                            worker.conn.send(None)
                        except OSError:
                            pass  # already gone, with nothing left to do
                        retire(worker, grace=5)
    finally:
        for worker in workers:
            worker.stop()
        selector.close()
