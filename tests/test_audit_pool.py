"""The audit's worker pool (conformance/audit/pool.py) on its own: results that come while the parent is busy
elsewhere, a worker that dies between two batches, the item of a batch that kills or stalls its worker or whose
result cannot travel, a slow consumer, and where the time limit counts from. (The audit command's own dead and
hung workers: tests/test_audit_reliability.py.)"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time

import pytest

from conformance.audit import pool

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")


def _sleep_then_answer(seconds: float) -> str:
    time.sleep(seconds)
    return f"done in {seconds}"


def _die_after_answering(item: str) -> str:
    if item == "last of its batch":  # killed right after this result is sent: between two items
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGKILL)).start()
    return f"judged {item}"


def test_a_result_that_comes_while_the_parent_is_busy_is_not_a_timeout() -> None:
    """Item 1 answers after 1 s, within its 2 s limit, while the parent is still busy with item 0's result; when
    the parent comes back the limit has passed, but the answer is there: it is read, not reported lost."""
    got = {}
    for position, result in pool.run([0.5, 1.0], _sleep_then_answer, jobs=2, batch=1, timeout=2.0,
                                     context=multiprocessing.get_context("fork")):
        got[position] = result
        if position == 0:
            time.sleep(1.7)  # the consumer of the audit's results at work
    assert got == {0: "done in 0.5", 1: "done in 1.0"}


def test_a_worker_that_dies_between_two_items_loses_none_of_them() -> None:
    """The worker is killed after sending the last result of its batch: giving it the next batch fails (its pipe is
    closed); a fresh worker takes that batch, and every item gets its result."""
    items = ["first", "last of its batch", "next batch", "and the one after"]
    got = {}
    for position, result in pool.run(items, _die_after_answering, jobs=1, batch=2, timeout=30.0,
                                     context=multiprocessing.get_context("fork")):
        got[position] = result
        if position == 1:
            time.sleep(0.5)  # the worker is dead by the time the parent gives it the next batch
    assert got == {index: f"judged {item}" for index, item in enumerate(items)}


def _troublesome(item: str):
    """Judges ``item``, unless its name says how to fail: kill the worker, hang, or answer what cannot travel."""
    if item == "kills":
        os.kill(os.getpid(), signal.SIGKILL)
    if item == "hangs":
        time.sleep(600)
    if item == "unpicklable":
        return lambda: None
    if item == "unreadable":
        return _Unreadable()
    return f"judged {item}"


class _Unreadable:
    """Pickles, but raises when unpickled."""

    def __reduce__(self):
        return (_refuse, ())


def _refuse():
    raise RuntimeError("cannot be rebuilt")


@pytest.mark.parametrize("trouble,reason", [
    ("kills", "killed by SIGKILL"),
    ("hangs", "no verdict within 1.5 s"),
    ("unpicklable", "could not send its result"),
    ("unreadable", "broken result (RuntimeError: cannot be rebuilt)"),
])
def test_the_troublesome_item_of_a_batch_is_lost_and_the_rest_of_it_judged(trouble: str, reason: str) -> None:
    """Results travel once per batch: the item in the middle of a batch that kills or hangs its worker, or whose
    result cannot travel, is the one reported lost (the worker posts the item it is on); the items before it,
    whose results died with the worker, and those after it are judged."""
    items = ["a", "b", trouble, "d", "e", "f"]
    got = {}
    started = time.monotonic()
    for position, result in pool.run(items, _troublesome, jobs=1, batch=6, timeout=1.5,
                                     context=multiprocessing.get_context("fork")):
        assert position not in got  # each item once
        got[position] = result
    assert time.monotonic() - started < 30
    lost = got.pop(2)
    assert isinstance(lost, pool.Lost) and reason in lost.reason
    assert got == {index: f"judged {item}" for index, item in enumerate(items) if index != 2}


def test_a_slow_consumer_does_not_make_a_timeout() -> None:
    """Limit 3 s; the second worker's two items take 2 s each, within it. The consumer spends 3.5 s on the first
    result: when it comes back, the second item has run 1.5 s, and is not stopped (counted from the batch's
    hand-over, or from the clock read before the consumer's pause, it would be)."""
    items = [0, 0, 2.0, 2.0]
    got = {}
    for position, result in pool.run(items, _sleep_then_answer, jobs=2, batch=2, timeout=3.0,
                                     context=multiprocessing.get_context("fork")):
        got[position] = result
        if position == 0:
            time.sleep(3.5)
    assert got == {index: f"done in {seconds}" for index, seconds in enumerate(items)}


def test_the_time_limit_counts_from_the_start_of_the_item() -> None:
    """Limit 1 s, the hanging item starts 0.6 s into its batch: it is stopped about 1 s after it started, 1.6 s
    after the hand-over (not 1 s after the hand-over; and not up to twice the limit, as when the parent timed an
    item from when it learnt of it)."""
    started = time.monotonic()
    got = {}
    for position, result in pool.run([0.6, 30], _sleep_then_answer, jobs=1, batch=2, timeout=1.0,
                                     context=multiprocessing.get_context("fork")):
        got[position] = (result, time.monotonic() - started)
    (lost, after), (judged, _) = got[1], got[0]
    assert isinstance(lost, pool.Lost) and "no verdict within 1 s" in lost.reason
    assert 1.5 < after < 2.3
    assert judged == "done in 0.6"


def _die_at_once() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_workers_that_die_at_once_end_the_run_with_every_item_lost() -> None:
    """Every fresh worker dies before its first item (its initializer kills it): each death takes the first item
    of its batch out, so the run ends, every item reported lost, none twice."""
    got = {}
    for position, result in pool.run(["a", "b", "c"], str.upper, jobs=2, batch=2, timeout=30.0,
                                     context=multiprocessing.get_context("fork"), initializer=_die_at_once):
        assert position not in got
        got[position] = result
    assert sorted(got) == [0, 1, 2]
    assert all(isinstance(lost, pool.Lost) and "killed by SIGKILL" in lost.reason for lost in got.values())
