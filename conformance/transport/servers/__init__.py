"""Start and stop the real local servers the suite records from (aimock, llama-server, LiteLLM, Llama Stack,
Prism).

They are installed under ``.servers/`` by ``scripts/install-servers.sh``. The suite starts one only when asked
to talk to it (live or recording): on a free loopback port it picks, with a fresh state directory, after
stopping whatever a killed earlier run left behind (``processes.reap_leftovers``). It waits for readiness
with a time limit, and it is ready only when the process it started answers on that port: a process that
merely listens there is never used. It stops what it started by PID at the end, and on SIGINT/SIGTERM too.

    server = RunningServer("llama-stack").start()   # its backends first
    server.base_url                                  # http://127.0.0.1:PORT/v1/openai/v1
    server.stop()
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from conformance.transport.servers.catalog import CATALOG, Launch, ServerError, ServerSpec, installed, servers_dir
from conformance.transport.servers.processes import (OwnedProcess, free_port, http_status, owns_port,
                                                     reap_leftovers)

__all__ = ["CATALOG", "RunningServer", "ServerError", "ServerSpec", "installed", "run_dir", "servers_dir", "stop_all"]

LAUNCH_ATTEMPTS = 3  # a port taken between picking and binding: try another


def run_dir() -> Path:
    """Where pid files and per-run state directories live: $CONFORMANCE_SERVERS_RUN or <servers dir>/run."""
    return Path(os.environ.get("CONFORMANCE_SERVERS_RUN") or servers_dir() / "run")


_running: list["RunningServer"] = []  # started by this process and not yet stopped, in start order
_handlers_installed = False


def stop_all() -> None:
    """Stop every server this process started (latest first)."""
    for server in reversed(list(_running)):
        server.stop()


def _on_signal(previous: Any):
    def handle(signum: int, frame: Any) -> None:
        stop_all()
        if callable(previous):
            previous(signum, frame)  # e.g. pytest's KeyboardInterrupt: the run ends and writes its reports
        elif previous != signal.SIG_IGN:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
    return handle


def _install_handlers() -> None:
    """Stop started servers on SIGINT and SIGTERM (then do what the signal did before), and at exit."""
    global _handlers_installed
    if _handlers_installed or threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _on_signal(signal.getsignal(signum)))
    atexit.register(stop_all)
    _handlers_installed = True


class RunningServer:
    """A server process this run started (with its backends), on a port of its own."""

    def __init__(self, name: str):
        if name not in CATALOG:
            raise ServerError(f"unknown server {name!r}; known: {', '.join(sorted(CATALOG))}")
        self.spec = CATALOG[name]
        self.backends = [RunningServer(need) for need in self.spec.needs]
        self.port: int | None = None
        self.state_dir: Path | None = None
        self.process: OwnedProcess | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL of the started server."""
        if self.port is None:
            raise ServerError(f"{self.name} is not started")
        return f"http://127.0.0.1:{self.port}{self.spec.base_path}"

    @property
    def api_key(self) -> str | None:
        """The key the server insists on (any value passes), or None."""
        return self.spec.api_key

    @property
    def pid(self) -> int | None:
        return self.process.popen.pid if self.process and self.process.popen else None

    def start(self) -> "RunningServer":
        """Start the backends, then this server; return when it answers (``ServerError`` otherwise)."""
        _install_handlers()
        reap_leftovers(run_dir())
        try:
            for backend in self.backends:
                backend.start()
            backends = {b.name: b for b in self.backends}
            for attempt in range(1, LAUNCH_ATTEMPTS + 1):
                if self._launch(backends, last=attempt == LAUNCH_ATTEMPTS):
                    return self
        except BaseException:
            self.stop()
            raise
        raise AssertionError("unreachable")

    def _launch(self, backends: dict[str, "RunningServer"], last: bool) -> bool:
        """One try on a fresh port: True when ready; False when the port was lost to another process."""
        run = run_dir()
        run.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.state_dir = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir=run))
        argv, env = self.spec.build(Launch(self.port, self.state_dir, backends))
        log = servers_dir() / f"{self.name}.log"
        self.process = OwnedProcess(self.name, run)
        pid = self.process.launch(argv, env, log, servers_dir(), self.port, self.state_dir)
        _running.append(self)
        deadline = time.monotonic() + self.spec.ready_timeout
        while time.monotonic() < deadline:
            code = self.process.exit_code()
            if code is not None:
                taken = http_status(self.port, self.spec.ready_path) is not None
                self._stop_own()
                if taken and not last:
                    return False  # someone else bound the port first: another port
                raise ServerError(f"{self.name} exited with {code}; see {log}")
            if http_status(self.port, self.spec.ready_path, self.spec.ready_headers()) == 200:
                if owns_port(pid, self.port):
                    return True
                self._stop_own()
                if last:
                    raise ServerError(f"port {self.port} answers, but not from the {self.name} the suite started")
                return False
            time.sleep(0.2)
        self._stop_own()
        raise ServerError(f"{self.name} not ready after {self.spec.ready_timeout:g} s; see {log}")

    def stop(self) -> None:
        """Stop this server (by its PID, its process group included), then its backends; remove its state."""
        self._stop_own()
        for backend in self.backends:
            backend.stop()

    def _stop_own(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        if self in _running:
            _running.remove(self)
        if self.state_dir is not None:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            self.state_dir = None
