"""The audit's worker pool (conformance/audit/pool.py) on its own: results that come while the parent is busy
elsewhere, and a worker that dies between two items. (The audit command's own dead and hung workers:
tests/test_audit_reliability.py.)"""

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
