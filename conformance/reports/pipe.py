"""A reader that stops reading (``conformance checks | head``) ends a command quietly, not with a traceback."""

from __future__ import annotations

import os
import signal
import sys

# What a shell reports for a program stopped by SIGPIPE (128 + its number), as ``yes | head`` shows
CLOSED_PIPE_STATUS = 128 + getattr(signal, "SIGPIPE", 13)


def reader_gone() -> int:
    """The exit status after a BrokenPipeError on stdout; stdout now points at the null device, so that
    flushing it at exit raises nothing more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor behind stdout (captured output): nothing to flush
        pass
    return CLOSED_PIPE_STATUS
