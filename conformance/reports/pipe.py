"""A reader that stops reading (``conformance checks | head``) ends a command quietly, not with a traceback."""

from __future__ import annotations

import os
import signal
import sys

# What a shell reports for a program stopped by SIGPIPE (128 + its number), as ``yes | head`` shows
CLOSED_PIPE_STATUS = 128 + getattr(signal, "SIGPIPE", 13)


def reader_gone() -> int:
    """The exit status after a BrokenPipeError on stdout or stderr (the command flushes stdout before it
    returns, so the error comes while the command runs); both now point at the null device, so that flushing
    them at exit raises nothing more."""
    for stream in (sys.stdout, sys.stderr):
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # no file descriptor behind it (captured output)
            pass
    return CLOSED_PIPE_STATUS
