"""Where a field stands in the official OpenAPI document: required, optional, or not there at all.

A *place* names a schema of the official document (``../shared/spec/openai/openapi.yaml``, third-party
data read at run time, never copied) and a walk into it, in a small path language:

    Root(.property | [] | [type=value])*     e.g.  OutputItem[type=message].content[][type=output_text]

``Root`` is a component schema; ``.property`` descends into a property, ``[]`` into array items,
``[type=value]`` keeps the union members whose ``type`` is ``value``. Several places separated by spaces
are read together (a contract node standing for several event schemas). ``$ref``, ``allOf``, ``anyOf`` and
``oneOf`` are resolved; ``null`` members of a union are ignored.

The contracts' ``x-evidence`` annotations name such a place (``x-evidence.place``); the self-tests use this
module to check that every entry claimed ``spec`` is required there, and that every entry claimed
``observed`` is at least documented there.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "openai" / "openapi.yaml"
TOKEN = re.compile(r"\.([A-Za-z_0-9]+)|\[\]|\[type=([^\]]+)\]")


def spec_available() -> bool:
    """True when the official document is present."""
    return SPEC.is_file()


@lru_cache(maxsize=1)
def _schemas() -> dict[str, Any]:
    with SPEC.open(encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return document["components"]["schemas"]


def _deref(node: Any) -> Any:
    for _ in range(20):
        if not (isinstance(node, dict) and "$ref" in node):
            break
        node = _schemas()[node["$ref"].rsplit("/", 1)[-1]]
    return node


def _members(node: Any) -> list[dict[str, Any]]:
    """The alternatives of a node (anyOf/oneOf flattened, null dropped), each with its allOf parts merged."""
    node = _deref(node)
    if not isinstance(node, dict):
        return []
    alternatives = node.get("anyOf") or node.get("oneOf")
    if alternatives and not node.get("properties"):
        out: list[dict[str, Any]] = []
        for alternative in alternatives:
            alternative = _deref(alternative)
            if isinstance(alternative, dict) and alternative.get("type") == "null":
                continue
            out += _members(alternative)
        return out
    return [_merged(node)]


def _merged(node: dict[str, Any]) -> dict[str, Any]:
    properties, required = dict(node.get("properties", {})), list(node.get("required", []))
    items = node.get("items")
    for part in node.get("allOf", []):
        for member in _members(part):
            properties.update(member["properties"])
            required += member["required"]
            items = items or member.get("items")
    return {"properties": properties, "required": required, "items": items}


def _type_values(member: dict[str, Any]) -> list[Any]:
    kind = _deref(member["properties"].get("type", {}))
    if not isinstance(kind, dict):
        return []
    return kind.get("enum") or ([kind["const"]] if "const" in kind else []) or (
        [kind["default"]] if "default" in kind else [])


def resolve(place: str) -> list[dict[str, Any]]:
    """The merged schema nodes one place reaches ([] when it leaves the document)."""
    found = re.match(r"([A-Za-z0-9_]+)(.*)", place)
    if found is None or found.group(1) not in _schemas():
        return []
    root, rest = found.groups()
    current = _members(_schemas()[root])
    for step in TOKEN.finditer(rest):
        prop, value = step.group(1), step.group(2)
        following: list[dict[str, Any]] = []
        for node in current:
            if prop is not None:
                if prop in node["properties"]:
                    following += _members(node["properties"][prop])
            elif value is not None:
                if value in _type_values(node):
                    following.append(node)
            elif node.get("items") is not None:
                following += _members(node["items"])
        current = following
    return current


def status(places: str, field: str) -> str:
    """``required`` (at every place), ``required-in-some``, ``optional`` (documented, not required),
    ``absent`` (not a property there) or ``no-schema`` (no place resolves)."""
    nodes = [node for place in places.split() for node in resolve(place)]
    if not nodes:
        return "no-schema"
    required = [field in node["required"] for node in nodes]
    if all(required):
        return "required"
    if any(required):
        return "required-in-some"
    if any(field in node["properties"] for node in nodes):
        return "optional"
    return "absent"
