"""A reader that stops reading (``conformance checks | head``) ends a command quietly, not with a traceback."""

from __future__ import annotations

import os
import select
import signal
import sys

# What a shell reports for a program stopped by SIGPIPE (128 + its number), as ``yes | head`` shows
CLOSED_PIPE_STATUS = 128 + getattr(signal, "SIGPIPE", 13)


def reader_went_away() -> bool:
    """True when stdout or stderr is a pipe whose reader has closed it: a BrokenPipeError then means the reader
    stopped (``| head``), not a fault of the command (a worker's pipe, say). Where the streams cannot be
    asked (no ``poll``), a BrokenPipeError is taken for the reader's."""
    if not hasattr(select, "poll"):
        return True
    for stream in (sys.stdout, sys.stderr):
        try:
            poller = select.poll()
            poller.register(stream.fileno(), select.POLLOUT)  # POLLERR is reported when nobody reads any more
            if any(events & select.POLLERR for _, events in poller.poll(0)):
                return True
        except (OSError, ValueError, AttributeError):  # no file descriptor behind it (captured output)
            continue
    return False


def reader_gone() -> int:
    """The exit status after the reader of stdout or stderr stopped reading (the command flushes stdout before
    it returns, so the error comes while the command runs); both now point at the null device, so that flushing
    them at exit raises nothing more."""
    for stream in (sys.stdout, sys.stderr):
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # no file descriptor behind it (captured output)
            pass
    return CLOSED_PIPE_STATUS
