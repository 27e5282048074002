"""Processes the suite owns: started in their own session, recorded in a pid file, stopped by PID only.

A pid file (``<run dir>/<name>-<pid>.pid``, JSON) records the process (pid, start time, command line), its
port and state directory, and the suite process that owns it. A run that was killed (SIGKILL) leaves its
pid files behind; the next start finds them (their owner no longer runs) and stops each recorded process,
but only after checking that the pid still runs the same command line since the same start time. Nothing is
ever stopped by name, and a process that merely listens on a port is never used (``owns_port``).

Process facts come from ``/proc`` (Linux). Where it is absent, identities cannot be checked: left-overs are
then reported, never stopped, and port ownership is not verified.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PROC = Path("/proc")
STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL


@dataclass(frozen=True)
class Identity:
    """What makes a pid the same process later: its start time (clock ticks since boot) and command line."""

    pid: int
    start: int | None
    argv: tuple[str, ...]


def identity(pid: int) -> Identity | None:
    """The identity of a running pid, or None when it does not run (a zombie counts as not running)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        argv = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    fields = stat[stat.rfind(")") + 2:].split()  # after "pid (comm) "
    if fields[0] == "Z":
        return None
    return Identity(pid, int(fields[19]), tuple(a.decode(errors="replace") for a in argv if a))


def same_process(recorded: Identity) -> bool:
    """True when ``recorded.pid`` still runs since the recorded start time with the recorded command line.

    The command is compared by its arguments: a script started through its ``#!`` line (``node``,
    ``/usr/bin/env node``) shows the interpreter first, so the current command line must end with the
    launched one's arguments (which include the server's own port)."""
    now = identity(recorded.pid)
    if now is None or recorded.start is None or now.start != recorded.start:
        return False
    args = recorded.argv[1:]
    return len(now.argv) > len(args) and tuple(now.argv[len(now.argv) - len(args):]) == tuple(args)


def process_group(pgid: int) -> list[int]:
    """The pids of the processes in process group ``pgid`` (Linux; [] elsewhere)."""
    found = []
    for entry in PROC.glob("[0-9]*") if PROC.is_dir() else ():
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rfind(")") + 2:].split()[2]) == pgid:
            found.append(int(entry.name))
    return found


def _listening_inodes(port: int) -> set[str]:
    """The socket inodes listening on ``port`` (IPv4 and IPv6), from /proc/net/tcp*."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 9 and parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(parts[9])
    return inodes


def owns_port(pgid: int, port: int) -> bool:
    """True when the socket listening on ``port`` belongs to a process of group ``pgid`` (always True where
    /proc cannot tell)."""
    if not (PROC / "net" / "tcp").exists():
        return True
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    for pid in process_group(pgid):
        try:
            fds = list((PROC / str(pid) / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in wanted:
                    return True
            except OSError:
                continue
    return False


def free_port() -> int:
    """A loopback port nobody listens on right now (the server binds it next; a lost race is detected)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(port: int, path: str, headers: dict[str, str] | None = None) -> int | None:
    """GET ``path`` on loopback over a raw socket; the status, or None. (Not through an HTTP client library:
    vcrpy patches those while recording, and a readiness probe must never end up in a cassette.)"""
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.settimeout(5)
            sock.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode())
            return int(sock.recv(64).split(b" ")[1])
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class PidRecord:
    """The content of a pid file."""

    name: str
    pid: int
    start: int | None
    argv: list[str]
    port: int
    state_dir: str
    owner_pid: int
    owner_start: int | None

    @property
    def process(self) -> Identity:
        return Identity(self.pid, self.start, tuple(self.argv))


def _me() -> Identity | None:
    return identity(os.getpid())


def _read(path: Path) -> PidRecord | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        return PidRecord(**data)
    except (OSError, ValueError, TypeError):
        return None


def _owner_alive(record: PidRecord) -> bool:
    now = identity(record.owner_pid)
    return now is not None and now.start == record.owner_start


def _remove_state(record: PidRecord, run_dir: Path) -> None:
    state = Path(record.state_dir)
    if state.is_dir() and run_dir.resolve() in state.resolve().parents:
        shutil.rmtree(state, ignore_errors=True)


def terminate_group(pid: int, grace: float = STOP_GRACE) -> None:
    """SIGTERM the process group led by ``pid``, then SIGKILL it if the leader is still there after ``grace``."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and identity(pid) is not None:
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def reap_leftovers(run_dir: Path) -> list[str]:
    """Stop what killed runs left: every pid file whose owner no longer runs. Its process is stopped only if
    it still runs the recorded command (else the pid was reused: left alone). Returns what was done."""
    done = []
    for path in sorted(run_dir.glob("*.pid")):
        record = _read(path)
        if record is None:
            path.unlink(missing_ok=True)
            done.append(f"removed unreadable pid file {path.name}")
            continue
        if _owner_alive(record):
            continue  # another run, still going: its servers are its own
        if not PROC.is_dir():
            done.append(f"left-over {record.name} (pid {record.pid}) cannot be verified here; not stopped")
            continue
        if same_process(record.process):
            terminate_group(record.pid)
            done.append(f"stopped left-over {record.name} (pid {record.pid}, port {record.port}) of a killed run")
        _remove_state(record, run_dir)
        path.unlink(missing_ok=True)
    return done


class OwnedProcess:
    """A process this suite started in its own session (so its whole group can be stopped), with a pid file."""

    def __init__(self, name: str, run_dir: Path):
        self.name = name
        self.run_dir = run_dir
        self.popen: subprocess.Popen | None = None
        self.pid_file: Path | None = None

    def launch(self, argv: list[str], env: dict[str, str], log: Path, cwd: Path, port: int, state_dir: Path) -> int:
        """Start ``argv`` and write its pid file; returns the pid."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as handle:  # the child keeps its own handle
            self.popen = subprocess.Popen(argv, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, cwd=str(cwd), start_new_session=True)
        started = identity(self.popen.pid)
        me = _me()
        record = PidRecord(self.name, self.popen.pid, started.start if started else None, list(argv), port,
                           str(state_dir), os.getpid(), me.start if me else None)
        self.pid_file = self.run_dir / f"{self.name}-{self.popen.pid}.pid"
        temporary = self.pid_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(record)))
        temporary.replace(self.pid_file)
        return self.popen.pid

    def exit_code(self) -> int | None:
        """The exit code when the process has ended, else None."""
        return self.popen.poll() if self.popen else None

    def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop the process group (SIGTERM, SIGKILL after ``grace``) and remove the pid file."""
        if self.popen is not None:
            if self.popen.poll() is None:
                try:
                    os.killpg(self.popen.pid, signal.SIGTERM)
                    self.popen.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                    self.popen.wait()
                except ProcessLookupError:
                    pass
            if process_group(self.popen.pid):  # helpers the server spawned in its group may outlive it
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)
        self.popen = None
