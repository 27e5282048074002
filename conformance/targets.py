"""Targets: named servers the suite runs against, loaded from YAML.

A target declares what it lacks; declarations are shown beside observations and
never replace them (a case still runs unless the feature is in ``never_run``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

BUILTIN_TARGETS = Path(__file__).with_name("targets.yaml")
PROFILES = ("openai", "compat", "open-responses")
MODEL_ROLES = ("default", "vision", "reasoning", "audio", "search", "computer")


class TargetError(ValueError):
    """A bad target declaration or an unknown target name."""


@dataclass
class Target:
    name: str
    base_url: str
    api_key_env: str | None = None
    profile: str = "compat"
    models: dict[str, str] = field(default_factory=dict)
    lacks: dict[str, str] = field(default_factory=dict)
    never_run: list[str] = field(default_factory=list)
    server: str | None = None  # a local server the suite can start (see servers.py)
    resources: dict[str, str] = field(default_factory=dict)  # e.g. vector_store_id for file search cases
    deterministic: bool = False  # same answer to the same request (temperature 0, a mock): text parity is meaningful

    def model(self, role: str = "default") -> str:
        return self.models.get(role) or self.models["default"]

    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) if self.api_key_env else None


def _target(name: str, spec: dict[str, Any]) -> Target:
    if not isinstance(spec, dict) or "base_url" not in spec:
        raise TargetError(f"target {name!r}: needs at least base_url")
    unknown = set(spec) - {"base_url", "api_key_env", "profile", "models", "lacks", "never_run", "server", "resources",
                           "deterministic"}
    if unknown:
        raise TargetError(f"target {name!r}: unknown keys {sorted(unknown)}")
    profile = spec.get("profile", "compat")
    if profile not in PROFILES:
        raise TargetError(f"target {name!r}: profile must be one of {PROFILES}, not {profile!r}")
    models = dict(spec.get("models") or {})
    models.setdefault("default", "gpt-4o-mini")
    lacks = spec.get("lacks") or {}
    if isinstance(lacks, list):
        lacks = {feature: "declared missing" for feature in lacks}
    return Target(
        name=name,
        base_url=spec["base_url"].rstrip("/"),
        api_key_env=spec.get("api_key_env"),
        profile=profile,
        models=models,
        lacks=dict(lacks),
        never_run=list(spec.get("never_run") or []),
        server=spec.get("server"),
        resources=dict(spec.get("resources") or {}),
        deterministic=bool(spec.get("deterministic", False)),
    )


def load_targets(*paths: str | Path) -> dict[str, Target]:
    """The built-in targets, updated by each extra targets file in order."""
    targets: dict[str, Target] = {}
    for path in (BUILTIN_TARGETS, *paths):
        data = yaml.load(Path(path).read_text(), Loader=yaml.CSafeLoader) or {}
        for name, spec in (data.get("targets") or {}).items():
            targets[name] = _target(name, spec)
    return targets


def adhoc_target(base_url: str, model: str | None = None, api_key_env: str | None = None,
                 profile: str = "compat", name: str = "custom") -> Target:
    """A target for ``--base-url``: any OpenAI-compatible server."""
    return _target(name, {"base_url": base_url, "api_key_env": api_key_env, "profile": profile,
                          "models": {"default": model or "gpt-4o-mini"}})
