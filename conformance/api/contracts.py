"""Our contract schemas (``conformance/specs/contracts/<profile>/<name>.json``), compiled once.

Profiles:
  openai          what OpenAI sends today (required fields, enums, id formats it always uses)
  compat          what a client needs to work (the fields SDKs read, their types)
  open-responses  the Open Responses spec's rules (its ResponseResource, items, usage, error object)
A profile directory may omit a schema; lookup then falls back along PROFILE_FALLBACK. Open Responses
defines only POST /responses (and /responses/compact): for what it does not specify (Chat Completions,
stored-object endpoints, the stream events without an OR file) open-responses falls back to ``compat``,
what a client needs, never to ``openai``, which would demand OpenAI-only fields.
Schemas may ``$ref`` each other by relative file name (e.g. ``usage.chat.json``).

The schemas ship inside the package and are found through ``importlib.resources``, so a wheel installed
anywhere judges exactly as a checkout does. A contract that cannot be found is ``ContractMissing``: the
caller reports it as an error, never as a pass.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

PROFILE_FALLBACK = {"openai": ["openai"], "compat": ["compat"], "open-responses": ["open-responses", "compat"]}


class ContractMissing(LookupError):
    """No schema file for a contract under a profile: the package is incomplete, or the name is wrong."""


def package_path(*parts: str) -> Path:
    """A file or folder shipped inside the ``conformance`` package (as a filesystem path)."""
    return Path(str(files("conformance").joinpath(*parts)))


def specs_path(*parts: str) -> Path:
    """A file under the package's ``specs/`` folder (contracts, the case schema, report schemas)."""
    return package_path("specs", *parts)


def contracts_root() -> Path:
    """The folder holding one contracts folder per profile."""
    return specs_path("contracts")


def schema_path(profile: str, name: str) -> Path | None:
    """The file holding contract ``name`` for ``profile`` (after fallback), or None."""
    root = contracts_root()
    for candidate in PROFILE_FALLBACK.get(profile, [profile]):
        path = root / candidate / f"{name}.json"
        if path.is_file():
            return path
    return None


def require_path(profile: str, name: str) -> Path:
    """Like ``schema_path``, but a missing contract raises ``ContractMissing``."""
    path = schema_path(profile, name)
    if path is None:
        raise ContractMissing(f"no contract {name!r} for profile {profile!r} under {contracts_root()}")
    return path


@lru_cache(maxsize=None)
def _registry(directory: str) -> Registry:
    resources = []
    for path in Path(directory).rglob("*.json"):
        rel = path.relative_to(directory).as_posix()
        resources.append((rel, Resource(contents=json.loads(path.read_text()), specification=DRAFT202012)))
    return Registry().with_resources(resources)


@lru_cache(maxsize=None)
def validator(profile: str, name: str) -> jsonschema.Draft202012Validator:
    """A compiled validator for contract ``name`` under ``profile``; ``ContractMissing`` when there is none."""
    path = require_path(profile, name)
    schema: dict[str, Any] = json.loads(path.read_text())
    schema.setdefault("$id", path.relative_to(path.parent).as_posix())
    return jsonschema.Draft202012Validator(schema, registry=_registry(str(path.parent)))


def errors(profile: str, name: str, instance: Any, limit: int = 20) -> list[jsonschema.ValidationError]:
    """Validation errors of ``instance`` against contract ``name`` ([] when valid)."""
    out = []
    for error in validator(profile, name).iter_errors(instance):
        out.append(error)
        if len(out) >= limit:
            break
    return out
