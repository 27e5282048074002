"""A worker pool that survives its workers: one that dies (a signal, an exit) or stops answering is detected,
the item it was on is reported lost, the other items get their results from a fresh worker.

``multiprocessing.Pool`` loses the task of a worker killed by a signal and waits for it forever. Here items go
out in batches, and each worker answers once per batch (one message per result cost more than the judging: every
message woke the parent, which took a CPU from a worker). So that the parent still knows which item a dead or
stuck worker was on, and since when, the worker posts that item's position and its start time in shared memory
before it starts the item. Results the dead worker had not sent are redone.
"""

from __future__ import annotations

import os
import pickle
import selectors
import signal
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

IDLE = -1  # the posted position of a worker between two batches (sending its results, or waiting for a batch)
# Where a worker posts what it is on: [position, time.monotonic() when it started it]. The monotonic clock is the
# system's (CLOCK_MONOTONIC, or its counterpart on macOS and Windows), so the parent can compare it with its own.
POSITION, STARTED = 0, 1


@dataclass
class Lost:
    """An item whose worker died or ran past the time limit, or whose result could not be sent: ``reason``."""

    reason: str


def _serve(conn: Any, posted: Any, work: Callable[[Any], Any], initializer: Callable[..., None] | None,
           initargs: tuple) -> None:
    """A worker: run ``work`` on every item of every batch it receives, posting each item's position and start
    time before starting it, and send the batch's results in one message: each pickled on its own (a result that
    cannot be pickled is that item's error, not the batch's)."""
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
        results = []
        for position, item in batch:
            _post(posted, position)
            result = work(item)
            try:
                results.append((position, pickle.dumps(result, pickle.HIGHEST_PROTOCOL), None))
            except Exception as exc:  # noqa: BLE001  (pickle raises many kinds)
                results.append((position, None, f"the audit worker could not send its result ({type(exc).__name__}: "
                                                f"{exc})"))
        _post(posted, IDLE)
        conn.send(results)


def _post(posted: Any, position: int) -> None:
    posted[STARTED] = time.monotonic()  # the time first: a reader that sees the new position sees its time
    posted[POSITION] = position


class _Worker:
    def __init__(self, context: Any, work: Callable[[Any], Any], initializer: Callable[..., None] | None,
                 initargs: tuple):
        self.conn, child = context.Pipe()
        self.posted = context.RawArray("d", [IDLE, 0.0])  # written by the worker (_post)
        self.process = context.Process(target=_serve, args=(child, self.posted, work, initializer, initargs),
                                       daemon=True)
        self.process.start()
        child.close()
        self.pending: deque[tuple[int, Any]] = deque()  # the batch it is on, in order
        self.given = time.monotonic()  # when it got that batch

    def give(self, batch: list[tuple[int, Any]]) -> None:
        self.pending = deque(batch)
        self.given = time.monotonic()
        self.conn.send(batch)

    def on(self) -> tuple[int, float]:
        """The position it posted and since when it has been there: the item's start, or, between two batches,
        when it finished the last item or got its batch, whichever came later."""
        while True:
            position, started = self.posted[POSITION], self.posted[STARTED]
            if self.posted[POSITION] == position:  # no new position posted while reading (the time may be the
                break  # next item's, a little later: the limit then counts from a moment too late, never early)
        position = int(position)
        return position, (started if position != IDLE else max(started, self.given))

    def split_at_stuck_item(self) -> tuple[tuple[int, Any], list[tuple[int, Any]]]:
        """The item it died or hung on and the rest of its batch, to be judged again (the results it had not sent
        are lost with it). The item is the one it posted: the one it was on, or had just finished when it died
        between two items; the batch's first when it posted none of the batch (it died sending its results, or
        before starting): each death then still takes one item out, so a batch that kills every worker ends."""
        positions = [position for position, _ in self.pending]
        position = self.on()[0]
        at = positions.index(position) if position in positions else 0
        rest = list(self.pending)
        return rest.pop(at), rest

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
    processes; an item whose worker died, or took more than ``timeout`` seconds, or whose result could not be sent,
    yields ``(position, Lost)``."""
    size = max(1, batch)
    queue: deque[list[tuple[int, Any]]] = deque(
        list(enumerate(items))[at:at + size] for at in range(0, len(items), size))
    workers: list[_Worker] = []
    # One selector for the whole run (not one per wake-up, as multiprocessing's ``wait`` makes). It watches each
    # worker's pipe and its exit.
    selector = selectors.DefaultSelector()

    def start(batch_of_items: list[tuple[int, Any]]) -> None:
        worker = _Worker(context, work, initializer, initargs)
        selector.register(worker.conn, selectors.EVENT_READ, (worker, "result"))
        selector.register(worker.process.sentinel, selectors.EVENT_READ, (worker, "exit"))
        workers.append(worker)
        try:
            worker.give(batch_of_items)
        except OSError:
            pass  # it died at once: its exit is seen next round, and its batch's first item takes the blame

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
            ready: dict[_Worker, set[str]] = {}  # the workers with results to read, or that exited
            for key, _ in selector.select(max(0.05, min(w.on()[1] + timeout - now for w in workers))):
                worker, what = key.data
                ready.setdefault(worker, set()).add(what)
            for worker in list(workers):
                lost: str | None = None
                finished: list[tuple[int, Any]] = []
                happened = ready.get(worker, ())
                if "result" in happened and worker.pending:
                    try:
                        finished = [(position, _loaded(data, error)) for position, data, error in worker.conn.recv()]
                        worker.pending = deque()
                    except (EOFError, OSError):
                        lost = worker.why_gone()
                    except Exception as exc:  # noqa: BLE001  (a message that does not unpickle)
                        lost = f"the audit worker sent a broken message ({type(exc).__name__}: {exc})"
                if lost is None and "exit" in happened and worker.pending and not worker.conn.poll():
                    lost = worker.why_gone()  # exited with items left and nothing more to read
                # the clock read now: the consumer of this generator may have taken long since the select
                if (lost is None and worker.pending and time.monotonic() - worker.on()[1] > timeout
                        and not worker.conn.poll()):  # results that came since the select are read next round
                    lost = f"no verdict within {timeout:g} s: the audit worker was stopped"
                if lost is not None:
                    retire(worker)
                    (position, _), rest = worker.split_at_stuck_item()
                    if rest:
                        queue.appendleft(rest)
                    if queue:
                        start(queue.popleft())
                    yield position, Lost(lost)
                    continue
                if not worker.pending:  # its next batch first, so that it works while the results are used here
                    if queue:
                        batch_of_items = queue.popleft()
                        try:
                            worker.give(batch_of_items)
                        except OSError:  # it died after its last results: a fresh one takes over
                            worker.pending = deque()
                            retire(worker)
                            start(batch_of_items)
                    else:
                        try:
                            worker.conn.send(None)
                        except OSError:
                            pass  # already gone, with nothing left to do
                        retire(worker, grace=5)
                yield from finished
    finally:
        for worker in workers:
            worker.stop()
        selector.close()


def _loaded(data: bytes | None, error: str | None) -> Any:
    """One result as the worker sent it: the result, or ``Lost`` when it could not be sent or read."""
    if error is not None:
        return Lost(error)
    try:
        return pickle.loads(data)  # noqa: S301  (our own worker's result)
    except Exception as exc:  # noqa: BLE001  (a result that does not unpickle)
        return Lost(f"the audit worker sent a broken result ({type(exc).__name__}: {exc})")
