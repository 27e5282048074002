"""Pydantic models built from a case's JSON schema, for the SDK's ``.parse()`` and stream helpers.

A structured-output request (chat ``response_format: {type: json_schema, json_schema: {schema}}``,
Responses ``text: {format: {type: json_schema, schema}}``) is sent through ``.parse()`` with a model
built here from that schema, so the SDK parses the answer into it as an application would. The
subset covered is the one Structured Outputs accepts: objects (properties, required,
``additionalProperties: false``), strings, numbers, integers, booleans, null, arrays, enums and
``const``, ``anyOf`` and type lists, local ``$ref`` to ``$defs``/``definitions``; anything else is
``Any`` (accepted as it comes).
"""

from __future__ import annotations

import keyword
import re
from typing import Any, Literal, Optional, Union

import pydantic

SCALARS: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool, "null": type(None)}


def structured_schema(api: str, body: Any) -> tuple[str, dict[str, Any]] | None:
    """The (name, JSON schema) a create request asks the answer to follow, or None when it asks for none."""
    if not isinstance(body, dict):
        return None
    if api == "chat":
        fmt = body.get("response_format")
        spec = fmt.get("json_schema") if isinstance(fmt, dict) and fmt.get("type") == "json_schema" else None
    else:
        text = body.get("text")
        fmt = text.get("format") if isinstance(text, dict) else None
        spec = fmt if isinstance(fmt, dict) and fmt.get("type") == "json_schema" else None
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return None
    return str(spec.get("name") or "Answer"), schema


def _class_name(name: str) -> str:
    words = re.split(r"[^0-9A-Za-z]+", name)
    text = "".join(word[:1].upper() + word[1:] for word in words if word) or "Answer"
    return text if text[0].isalpha() else "M" + text


def _field_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"\W", "_", name) or "field"
    if base[0].isdigit() or keyword.iskeyword(base) or base.startswith(("_", "model_")) or \
            hasattr(pydantic.BaseModel, base):
        base = "f_" + base.lstrip("_")
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate


class _Builder:
    def __init__(self, root: dict[str, Any]):
        self.root = root
        self.count = 0

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target.get(part) if isinstance(target, dict) else None
            return target if isinstance(target, dict) else {}
        return schema

    def type_of(self, schema: Any, name: str, depth: int = 0) -> Any:
        if not isinstance(schema, dict) or depth > 20:
            return Any
        schema = self.resolve(schema)
        if "const" in schema:
            return Literal[schema["const"]] if _literal_ok([schema["const"]]) else Any
        if isinstance(schema.get("enum"), list) and schema["enum"] and _literal_ok(schema["enum"]):
            return Literal[tuple(schema["enum"])]
        choices = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(choices, list) and choices:
            return _union([self.type_of(c, f"{name}_{i}", depth + 1) for i, c in enumerate(choices)])
        kind = schema.get("type")
        if isinstance(kind, list):
            return _union([self.type_of({**schema, "type": k}, name, depth + 1) for k in kind])
        if kind in SCALARS:
            return SCALARS[kind]
        if kind == "array":
            return list[self.type_of(schema.get("items"), name + "_item", depth + 1)]  # type: ignore[misc]
        if kind == "object" and isinstance(schema.get("properties"), dict):
            return self.model(schema, name, depth)
        if kind == "object":
            return dict[str, Any]
        return Any

    def model(self, schema: dict[str, Any], name: str, depth: int = 0) -> type[pydantic.BaseModel]:
        required = set(schema.get("required") or [])
        taken: set[str] = set()
        fields: dict[str, Any] = {}
        for prop, sub in schema["properties"].items():
            annotation = self.type_of(sub, f"{name}_{prop}", depth + 1)
            field_name = _field_name(str(prop), taken)
            if prop in required:
                fields[field_name] = (annotation, pydantic.Field(alias=str(prop)))
            else:
                fields[field_name] = (Optional[annotation], pydantic.Field(default=None, alias=str(prop)))
        extra = "forbid" if schema.get("additionalProperties") is False else "allow"
        config = pydantic.ConfigDict(extra=extra, populate_by_name=True)
        self.count += 1
        return pydantic.create_model(_class_name(name), __config__=config, **fields)


def _literal_ok(values: list[Any]) -> bool:
    return all(isinstance(v, (str, int, bool)) or v is None for v in values)


def _union(types: list[Any]) -> Any:
    if Any in types:
        return Any
    unique = list(dict.fromkeys(types))
    return unique[0] if len(unique) == 1 else Union[tuple(unique)]


def model_from_schema(name: str, schema: dict[str, Any]) -> type[pydantic.BaseModel]:
    """A pydantic model for an object JSON schema (dump it with ``by_alias=True`` to get the JSON's keys)."""
    return _Builder(schema).model(schema, name)
