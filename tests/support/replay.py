"""Run ``conformance run`` once per test session (once across pytest-xdist workers too) and share its reports.

Several tests read the replay of every committed cassette (the README's matrix, the HTML page in a browser,
baselines between two real targets); the run takes half a minute, so the first worker that needs a run
makes it under a file lock and the others read its folder.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder all workers of this session share (the session's own base folder without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def conformance(*args: str, cwd: Path = ROOT, timeout: float = 900) -> subprocess.CompletedProcess:
    """``python -m conformance ARGS`` in a fresh process."""
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def replay_once(tmp_path_factory: pytest.TempPathFactory, name: str, *args: str) -> Path:
    """The reports folder of ``conformance run --reports FOLDER ARGS``, run once per session under ``name``."""
    root = shared_root(tmp_path_factory)
    folder = root / f"replay-{name}"
    with open(root / f"replay-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = folder / "exit-status"
        if not done.exists():
            found = conformance("run", "--reports", str(folder), *args)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "output.txt").write_text(found.stdout + found.stderr)
            done.write_text(str(found.returncode))
    if not (folder / "results.json").exists():
        pytest.fail(f"conformance run {' '.join(args)} wrote no results:\n{(folder / 'output.txt').read_text()[-3000:]}")
    return folder


@contextmanager
def sigint_reaches_children():
    """Child processes started inside get SIGINT as a terminal's Ctrl-C gives it (KeyboardInterrupt in Python), even
    when this test run was itself started with SIGINT ignored (``cmd &`` without job control, as a CI runner may):
    an ignored signal is inherited by a child, a handled one is reset to its default there."""
    previous = signal.getsignal(signal.SIGINT)
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if previous == signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
