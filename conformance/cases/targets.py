"""Targets: named servers the suite runs against, loaded from YAML.

A target declares what it lacks; declarations are shown beside observations and
never replace them (a case still runs unless the feature is in ``never_run``).
Feature names are checked against the vocabulary when the file loads: a typo in
``never_run`` would otherwise silently re-enable a case the target must not run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from conformance.api.contracts import package_path
from conformance.api.vocabulary import FEATURES, MODEL_ROLES, PROFILES
from conformance.cases.loading import line_of, nearest
from conformance.parsing import ParseError, load_yaml

KEYS = ("base_url", "api_key_env", "profile", "models", "lacks", "never_run", "server", "resources",
        "deterministic", "scripted", "concurrency")
# In the base URL of a target whose server the suite starts: the port that server got (a free one, per start).
PORT = "{port}"
# Replay never connects (requests are matched on method, API path and body): the port is a placeholder.
REPLAY_PORT = 0


class TargetError(ValueError):
    """A bad target declaration or an unknown target name."""


def builtin_targets_file() -> Path:
    """The built-in targets shipped with the package."""
    return package_path("cases", "targets.yaml")


@dataclass
class Target:
    """A server to judge: where it is, how to authenticate, which models to ask, what it declares."""

    name: str
    base_url: str
    api_key_env: str | None = None
    profile: str = "compat"
    models: dict[str, str] = field(default_factory=dict)
    lacks: dict[str, str] = field(default_factory=dict)
    never_run: list[str] = field(default_factory=list)
    server: str | None = None  # a local server the suite starts (conformance/transport/servers); base_url has {port}
    resources: dict[str, str] = field(default_factory=dict)  # e.g. vector_store_id for file search cases
    deterministic: bool = False  # same answer to the same request (temperature 0, a mock): text parity is meaningful
    scripted: bool = False  # answers come from fixtures (aimock): behaviour cells judge envelopes, not a model
    server_key: str | None = None  # set by ``bound``: a key the started server insists on (any value passes)
    concurrency: int | None = None  # live runs with --concurrency: at most this many of its cases at once

    def model(self, role: str = "default") -> str:
        """The model name for a role (``default`` when the target names none for it)."""
        return self.models.get(role) or self.models["default"]

    def api_key(self) -> str | None:
        """The key, read from the environment variable the target names (else the started server's own)."""
        return (os.environ.get(self.api_key_env) if self.api_key_env else None) or self.server_key

    def bound(self, port: int, server_key: str | None = None) -> "Target":
        """This target with ``{port}`` of its base URL filled (the port its started server got)."""
        return replace(self, base_url=self.base_url.replace(PORT, str(port)), server_key=server_key)


def _features(name: str, key: str, values: Any, at: Callable[..., str]) -> list[str]:
    """Problems with the feature names under ``key`` (a list, or a mapping feature -> reason), each located."""
    if not isinstance(values, (list, dict)):
        return [f"{at(key)}target {name!r}: {key} must be a list of feature names, not {values!r}"]
    return [f"{at(key, i if isinstance(values, list) else feature)}target {name!r}: {key}: "
            f"{nearest(feature, FEATURES, 'feature')}"
            for i, feature in enumerate(values) if feature not in FEATURES]


def make_target(name: str, spec: Any, where: str = "", locate: Callable[..., str] | None = None) -> Target:
    """A Target from its YAML mapping; ``TargetError`` when bad, prefixed with ``where`` (``file:line: ``)
    or, for a problem under a key, ``locate(key, ...)`` (the path below the target)."""
    at = locate or (lambda *_keys: where)
    if not isinstance(spec, dict) or not isinstance(spec.get("base_url"), str):
        raise TargetError(f"{where}target {name!r}: needs at least base_url (a string)")
    unknown = sorted(set(spec) - set(KEYS))
    if unknown:
        raise TargetError(f"{where}target {name!r}: " + "; ".join(nearest(k, KEYS, "key") for k in unknown))
    profile = spec.get("profile", "compat")
    if profile not in PROFILES:
        raise TargetError(f"{where}target {name!r}: profile must be one of {PROFILES}, not {profile!r}")
    models = dict(spec.get("models") or {})
    models.setdefault("default", "gpt-4o-mini")
    bad_roles = [role for role in models if role not in MODEL_ROLES]
    declared = spec.get("lacks") or {}
    lacks = {feature: "declared missing" for feature in declared} if isinstance(declared, list) else declared
    never_run = spec.get("never_run") or []
    problems = [f"{at('models')}target {name!r}: models: {nearest(r, MODEL_ROLES, 'model role')}" for r in bad_roles]
    problems += _features(name, "lacks", declared, at) + _features(name, "never_run", never_run, at)
    if spec.get("server") and PORT not in spec["base_url"]:
        problems.append(f"{at('base_url')}target {name!r}: the suite starts its server on a free port: write "
                        f"base_url with {PORT} (e.g. http://127.0.0.1:{PORT}/v1)")
    if PORT in spec["base_url"] and not spec.get("server"):
        problems.append(f"{at('base_url')}target {name!r}: base_url has {PORT} but no server names where it comes from")
    shown = _credentials_in(spec["base_url"])
    if shown:
        problems.append(f"{at('base_url')}target {name!r}: base_url holds a user name or password ({shown}): it "
                        f"would be sent and recorded; put the key in the environment variable named by api_key_env")
    concurrency = spec.get("concurrency")
    if concurrency is not None and (type(concurrency) is not int or concurrency < 1):
        problems.append(f"{at('concurrency')}target {name!r}: concurrency must be a whole number of at least 1 "
                        f"(cases of this target run at once with --concurrency), not {concurrency!r}")
    if problems:
        raise TargetError("\n".join(problems))
    return Target(
        name=name,
        base_url=spec["base_url"].rstrip("/"),
        api_key_env=spec.get("api_key_env"),
        profile=profile,
        models={k: str(v) for k, v in models.items()},
        lacks={k: str(v) for k, v in lacks.items()},
        never_run=list(never_run),
        server=spec.get("server"),
        resources={k: str(v) for k, v in (spec.get("resources") or {}).items()},
        deterministic=bool(spec.get("deterministic", False)),
        scripted=bool(spec.get("scripted", False)),
        concurrency=concurrency,
    )


def _credentials_in(url: str) -> str | None:
    """The URL with its userinfo masked when it has one (never the password itself), else None."""
    netloc = url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0]
    if "@" not in netloc:
        return None
    return url.replace(netloc, "***@" + netloc.rpartition("@")[2], 1)


def load_targets(*paths: str | Path) -> dict[str, Target]:
    """The built-in targets, updated by each extra targets file in order."""
    targets: dict[str, Target] = {}
    for path in (builtin_targets_file(), *paths):
        try:
            text = Path(path).read_text(encoding="utf-8")
            data = load_yaml(text) or {}
        except (OSError, UnicodeDecodeError, ParseError) as exc:
            raise TargetError(f"{path}: {exc}") from None
        entries = data.get("targets") if isinstance(data, dict) else None
        if not isinstance(entries, dict):
            raise TargetError(f"{path}: expected a mapping `targets: {{name: {{base_url: ...}}}}`")
        for name, spec in entries.items():
            where = f"{path}:{line_of(text, ['targets', name]) or 0}: "
            locate = (lambda *keys, name=name: f"{path}:{line_of(text, ['targets', name, *keys]) or 0}: ")
            targets[name] = make_target(str(name), spec, where, locate)
    return targets


def adhoc_target(base_url: str, model: str | None = None, api_key_env: str | None = None,
                 profile: str = "compat", name: str = "custom") -> Target:
    """A target for ``--base-url``: any OpenAI-compatible server."""
    return make_target(name, {"base_url": base_url, "api_key_env": api_key_env, "profile": profile,
                              "models": {"default": model or "gpt-4o-mini"}})
