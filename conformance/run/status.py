"""Exit statuses of ``conformance run`` (README, "Reliability"), the same scale as ``conformance audit``:

- **0** every verdict is the one known for its target (or, without expectations, no suite error);
- **1** some verdict differs from the known one (a ``fail``, a new ``error``...), or a report was refused
  because it still held a secret;
- **2** a usage error (a bad option, targets file or target name, a preflight that stopped the run, nothing
  to run) or unreadable input: a case file that cannot be loaded, a cassette that cannot be replayed or is
  missing for a target whose recordings are committed, or an `error` cell (nothing answered, a refused key) of a
  target with no expectations; the rest of the run still runs and is reported;
- **3** an internal error: the harness itself raised (a bug: its traceback is printed) or pytest failed;
- **130** the run was interrupted (Ctrl-C, SIGINT or SIGTERM); its reports are marked ``interrupted``.

When several apply, the highest of 3, 2, 1 wins; 130 wins over all. pytest's own codes (0 ok, 1 failed,
2 interrupted, 3 internal, 4 usage, 5 nothing collected) are translated by ``from_pytest``. The plugin raises
a run's pytest status to ``USAGE_ERROR`` for unreadable input and ``INTERNAL_ERROR`` for a harness error
(``escalate``), so the translation sees them.
"""

from __future__ import annotations

PASS, FAIL, INPUT, INTERNAL, INTERRUPTED = 0, 1, 2, 3, 130
_FROM_PYTEST = {0: PASS, 1: FAIL, 2: INTERRUPTED, 3: INTERNAL, 4: INPUT, 5: INPUT}
# pytest's codes, by name (kept here as numbers: this module does not import pytest)
PYTEST_OK, PYTEST_FAILED, PYTEST_INTERRUPTED, PYTEST_INTERNAL, PYTEST_USAGE = 0, 1, 2, 3, 4
# How an item's report is tagged (a user property, carried from xdist workers to the controller).
TAG = "conformance_status"
INPUT_TAG, INTERNAL_TAG = "input", "internal"
# Exceptions that are how the suite ends an item on purpose (pytest.fail/skip/xfail), or a refusal that is
# already a failure of its own (a cassette that still held a secret): never an internal error.
_DELIBERATE = ("Failed", "Skipped", "XFailed", "SecretInCassette")


def from_pytest(code: int) -> int:
    """``conformance run``'s exit status for pytest's exit code (unknown codes are internal errors)."""
    return _FROM_PYTEST.get(int(code), INTERNAL)


def is_internal(exception: BaseException | None) -> bool:
    """True when an item ended by an exception the suite did not raise on purpose (a harness bug)."""
    if exception is None or not isinstance(exception, Exception):
        return False
    return not any(cls.__name__ in _DELIBERATE for cls in type(exception).__mro__)


def is_input_error(record: dict) -> bool:
    """True for a result that is an input problem: a cassette that cannot be replayed or is missing while the
    target's recordings are committed (verdict ``error`` from the ``cassette`` check)."""
    return any(f.get("check") == "cassette" and f.get("verdict") == "error" for f in record.get("failures", ()))


def escalate(pytest_code: int, input_error: bool, internal_error: bool) -> int:
    """pytest's exit code raised for what the run met (the highest applies; an interrupted run stays so)."""
    if pytest_code not in (PYTEST_OK, PYTEST_FAILED):
        return pytest_code
    if internal_error:
        return PYTEST_INTERNAL
    if input_error:
        return PYTEST_USAGE
    return pytest_code
