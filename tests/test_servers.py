"""Server lifecycle: free ports the suite owns, pid files, left-overs of killed runs, signals.

Tests that start a real server are skipped when it is not installed (scripts/install-servers.sh aimock). Every
test uses its own run directory (CONFORMANCE_SERVERS_RUN), so parallel tests never see each other's pid files.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.cases.targets import TargetError, make_target
from conformance.transport import servers
from conformance.transport.servers import RunningServer, installed, processes
from support.replay import sigint_reaches_children
from support.server import answer, serve

ROOT = Path(__file__).resolve().parents[1]


needs_aimock = pytest.mark.skipif(not installed("aimock"), reason="aimock not installed (scripts/install-servers.sh aimock)")


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "run"
    monkeypatch.setenv("CONFORMANCE_SERVERS_RUN", str(folder))
    return folder


def running(pid: int) -> bool:
    return processes.identity(pid) is not None


def wait_for(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def pid_records(folder: Path) -> list[dict]:
    found = []
    for path in folder.glob("*.pid"):
        try:
            found.append(json.loads(path.read_text()))
        except ValueError:
            pass  # being written
    return found


def live_run(folder: Path, reports: Path) -> subprocess.Popen:
    """``conformance run --target aimock --live`` in the background, its servers recorded in ``folder``."""
    env = dict(os.environ, CONFORMANCE_SERVERS_RUN=str(folder))
    with sigint_reaches_children():  # one of the tests stops it with SIGINT
        return subprocess.Popen([sys.executable, "-m", "conformance", "run", "--target", "aimock", "--live",
                                 "--reports", str(reports)], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ------------------------------------------------------------------ targets take their port from the server


def test_a_target_with_a_server_must_take_its_port_from_it():
    with pytest.raises(TargetError, match=r"\{port\}"):
        make_target("t", {"base_url": "http://127.0.0.1:4020/v1", "server": "aimock"})
    with pytest.raises(TargetError, match="no server"):
        make_target("t", {"base_url": "http://127.0.0.1:{port}/v1"})
    target = make_target("t", {"base_url": "http://127.0.0.1:{port}/v1", "server": "aimock"})
    bound = target.bound(43210, "any-key")
    assert bound.base_url == "http://127.0.0.1:43210/v1" and bound.api_key() == "any-key"
    assert target.base_url.endswith("{port}/v1")  # the loaded target is unchanged


# ------------------------------------------------------------------ process identity and left-overs


def test_a_leftover_is_stopped_only_while_it_runs_the_recorded_command(run_dir: Path):
    run_dir.mkdir(parents=True)
    owner = subprocess.Popen(["true"])
    owner.wait()  # a suite process that is gone (killed)
    sleeper = subprocess.Popen(["sleep", "60"], start_new_session=True)
    other = subprocess.Popen(["sleep", "61"], start_new_session=True)
    try:
        me = processes.identity(sleeper.pid)
        state = run_dir / "aimock-state"
        state.mkdir()
        record = processes.PidRecord("aimock", sleeper.pid, me.start, ["sleep", "60"], 1, str(state),
                                     owner.pid, 1)
        (run_dir / f"aimock-{sleeper.pid}.pid").write_text(json.dumps(record.__dict__))
        # a pid file whose pid now runs another command (pid reuse): the process is left alone
        them = processes.identity(other.pid)
        stale = processes.PidRecord("litellm", other.pid, them.start, ["sleep", "99"], 2, str(run_dir / "x"),
                                    owner.pid, 1)
        (run_dir / f"litellm-{other.pid}.pid").write_text(json.dumps(stale.__dict__))
        done = processes.reap_leftovers(run_dir)
        assert sleeper.wait(timeout=15) is not None and not running(sleeper.pid)
        assert other.poll() is None, "a process that does not run the recorded command was stopped"
        assert not state.exists() and list(run_dir.glob("*.pid")) == []
        assert any("stopped left-over aimock" in line for line in done)
    finally:
        for process in (sleeper, other):
            process.kill()
            process.wait()


def test_the_pid_files_of_a_run_still_going_are_left_alone(run_dir: Path):
    run_dir.mkdir(parents=True)
    sleeper = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        me, owner = processes.identity(sleeper.pid), processes.identity(os.getpid())
        record = processes.PidRecord("aimock", sleeper.pid, me.start, ["sleep", "60"], 1, str(run_dir / "s"),
                                     os.getpid(), owner.start)  # owned by this live process
        (run_dir / f"aimock-{sleeper.pid}.pid").write_text(json.dumps(record.__dict__))
        assert processes.reap_leftovers(run_dir) == []
        assert sleeper.poll() is None and len(list(run_dir.glob("*.pid"))) == 1
    finally:
        sleeper.kill()
        sleeper.wait()


# ------------------------------------------------------------------ never adopt a process that listens


@needs_aimock
def test_a_process_that_merely_listens_is_never_used(run_dir: Path, monkeypatch: pytest.MonkeyPatch):
    """Another process answers 200 on the port the suite picked: aimock cannot bind it, and the suite moves to
    another port instead of judging whatever listens there."""
    with serve({("GET", "/v1/models"): answer(200, {"object": "list", "data": []})}) as (base, seen):
        taken = int(base.split(":")[2].split("/")[0])
        ports = iter([taken])
        real = processes.free_port
        monkeypatch.setattr(servers, "free_port", lambda: next(ports, None) or real())
        server = RunningServer("aimock").start()
        try:
            assert server.port != taken and server.base_url.startswith(f"http://127.0.0.1:{server.port}/")
            assert processes.owns_port(server.pid, server.port)
            assert not processes.owns_port(server.pid, taken)
        finally:
            server.stop()
    assert list(run_dir.glob("*.pid")) == [] and not any(run_dir.iterdir())


@needs_aimock
def test_start_stop_leaves_nothing_behind(run_dir: Path):
    server = RunningServer("aimock").start()
    pid = server.pid
    (record,) = pid_records(run_dir)
    assert record["pid"] == pid and record["port"] == server.port and record["owner_pid"] == os.getpid()
    assert Path(record["state_dir"]).is_dir()
    server.stop()
    assert not running(pid) and not any(run_dir.iterdir())


# ------------------------------------------------------------------ killed and interrupted runs


@needs_aimock
@pytest.mark.servers
def test_a_leftover_of_a_sigkilled_run_is_stopped_at_the_next_start(run_dir: Path, tmp_path: Path):
    run = live_run(run_dir, tmp_path / "reports")
    try:
        (record,) = wait_for(lambda: pid_records(run_dir), timeout=120)
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    leftover = record["pid"]
    assert running(leftover), "the killed run's aimock should outlive it (this is what the next start fixes)"
    server = RunningServer("aimock").start()
    try:
        assert not running(leftover) and server.pid != leftover
        assert [r["pid"] for r in pid_records(run_dir)] == [server.pid]
        assert not Path(record["state_dir"]).exists()
    finally:
        server.stop()


@needs_aimock
@pytest.mark.servers
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_a_live_run_stops_the_started_server(run_dir: Path, tmp_path: Path, signum: int):
    run = live_run(run_dir, tmp_path / "reports")
    try:
        (record,) = wait_for(lambda: pid_records(run_dir), timeout=120)
        wait_for(lambda: processes.http_status(record["port"], "/v1/models") == 200, timeout=60)
        run.send_signal(signum)
        run.wait(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    wait_for(lambda: not running(record["pid"]), timeout=15)
    assert not any(run_dir.glob("*.pid")) and not Path(record["state_dir"]).exists()
