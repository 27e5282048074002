"""What a run does so that no secret stays on disk and a stopped run says it stopped.

- ``register_secrets(targets)``: every value the run must never write (each target's key, credential
  values in its base URL, ``OPENAI_API_KEY`` / ``OPENAI_ORG_ID`` / ``OPENAI_PROJECT_ID``) is registered
  with ``conformance.redaction``, which the cassette scrubbing, the results and the messages use;
- ``refuse_secrets(paths)``: the final scan of the files the run wrote (reports; cassettes are scanned
  before they are written): a file that still holds a secret is deleted, and why is returned;
- ``stop_on_sigterm()``: SIGTERM ends the run as Ctrl-C does (pytest's KeyboardInterrupt), so the results
  are closed and marked ``interrupted`` instead of the process dying mid-write.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any, Iterable

from conformance import redaction


def register_secrets(targets: Iterable[Any]) -> None:
    """Register the secrets of the chosen targets and of the environment."""
    redaction.register_environment()
    for target in targets:
        if target.api_key_env:
            redaction.register(target.api_key(), f"the value of {target.api_key_env}")
        redaction.register_url(target.base_url, f"the base URL of target {target.name}")


def refuse_secrets(paths: Iterable[str | Path]) -> list[str]:
    """Delete every file of ``paths`` that still holds a secret; one message per deleted file."""
    problems = []
    for path in {Path(p) for p in paths}:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        found = redaction.find(text)
        if found:
            path.unlink(missing_ok=True)
            problems.append(f"{path} deleted: it held {', '.join(found)}")
    return sorted(problems)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")


def stop_on_sigterm() -> None:
    """Make SIGTERM raise KeyboardInterrupt in the main thread (unless someone else already handles it)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _interrupt)
