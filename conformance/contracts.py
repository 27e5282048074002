"""Our contract schemas (``specs/contracts/<profile>/<name>.json``), compiled once.

Profiles:
  openai          what OpenAI sends today (required fields, enums, id formats it always uses)
  compat          what a client needs to work (the fields SDKs read, their types)
  open-responses  the Open Responses spec's rules (its ResponseResource, items, usage, error object)
A profile directory may omit a schema; lookup then falls back along PROFILE_FALLBACK. Open Responses
defines only POST /responses (and /responses/compact): for what it does not specify (Chat Completions,
stored-object endpoints, the stream events without an OR file) open-responses falls back to ``compat``,
what a client needs, never to ``openai``, which would demand OpenAI-only fields.
Schemas may ``$ref`` each other by relative file name (e.g. ``usage.chat.json``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

CONTRACTS = Path(__file__).resolve().parent.parent / "specs" / "contracts"
PROFILE_FALLBACK = {"openai": ["openai"], "compat": ["compat"], "open-responses": ["open-responses", "compat"]}


def schema_path(profile: str, name: str) -> Path | None:
    """The file holding contract ``name`` for ``profile`` (after fallback), or None."""
    for candidate in PROFILE_FALLBACK.get(profile, [profile]):
        path = CONTRACTS / candidate / f"{name}.json"
        if path.exists():
            return path
    return None


@lru_cache(maxsize=None)
def _registry(directory: str) -> Registry:
    resources = []
    for path in Path(directory).rglob("*.json"):
        rel = path.relative_to(directory).as_posix()
        resources.append((rel, Resource(contents=json.loads(path.read_text()), specification=DRAFT202012)))
    return Registry().with_resources(resources)


@lru_cache(maxsize=None)
def validator(profile: str, name: str) -> jsonschema.Draft202012Validator | None:
    """A compiled validator for contract ``name`` under ``profile`` (None when no schema exists)."""
    path = schema_path(profile, name)
    if path is None:
        return None
    schema: dict[str, Any] = json.loads(path.read_text())
    schema.setdefault("$id", path.relative_to(path.parent).as_posix())
    return jsonschema.Draft202012Validator(schema, registry=_registry(str(path.parent)))


def errors(profile: str, name: str, instance: Any, limit: int = 20) -> list[jsonschema.ValidationError]:
    """Validation errors of ``instance`` against contract ``name`` ([] when valid or no schema)."""
    v = validator(profile, name)
    if v is None:
        return []
    out = []
    for error in v.iter_errors(instance):
        out.append(error)
        if len(out) >= limit:
            break
    return out
