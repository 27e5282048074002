"""``--openapi FILE``: validate recorded answers against an OpenAPI document too.

The document (for instance the official one in ../shared/spec/openai/) is read
once and prepared for a JSON Schema 2020-12 validator:

- OpenAPI-3.0 ``nullable: true`` becomes a union with null (``type`` gets
  ``"null"``, an ``enum`` gets ``null``, a schema without ``type`` is wrapped in
  ``anyOf [..., {type: null}]``); boolean ``exclusiveMinimum``/``Maximum`` become numbers;
- ``x-*`` vendor keywords, ``discriminator``, ``format`` (``unixtime`` is a number
  on the wire), descriptions and examples are dropped: none of them constrains a payload;
- only the component schemas reachable from the answers of the audited endpoints are kept.

The prepared subset is cached on disk, keyed by the document's sha256, so later
runs skip the slow YAML parse. Each answer schema is compiled once per process.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conformance.api.endpoints import ENDPOINTS
from conformance.checks.findings import Failure, absent
from conformance.transport.exchange import Exchange

CHECK = "openapi"
DOC_URI = "urn:conformance:openapi"
PREPARED_VERSION = 1  # bump when prepare() changes, to invalidate caches
# Keywords whose value is one schema, a list of schemas, or a map of name -> schema.
ONE_SCHEMA = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
              "unevaluatedItems", "unevaluatedProperties", "additionalItems")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
DROPPED = ("description", "example", "examples", "title", "discriminator", "format", "deprecated", "default",
           "externalDocs", "xml", "readOnly", "writeOnly", "nullable")
# The audited endpoints (as conformance.exchanges labels them) and their OpenAPI path templates, by shape.
AUDITED = tuple(dict.fromkeys(e.template for e in ENDPOINTS if e.audited))


class OpenApiError(Exception):
    """The OpenAPI document cannot be used (a usage error: exit status 2)."""


def prepare(schema: Any) -> Any:
    """One schema rewritten for a 2020-12 validator (see the module docstring)."""
    if isinstance(schema, list):
        return [prepare(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-") or key in DROPPED:
            continue
        if key in ONE_SCHEMA or key in SCHEMA_LISTS:
            out[key] = prepare(value)
        elif key in SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: prepare(sub) for name, sub in value.items()}
        else:
            out[key] = value
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), bool):  # OpenAPI 3.0: a flag on minimum/maximum
            if out.pop(bound) and plain in out:
                out[bound] = out.pop(plain)
    if schema.get("nullable") is True:
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = types + (["null"] if "null" not in types else [])
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _refs(schema: Any, found: set[str]) -> None:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in schema.values():
            _refs(value, found)
    elif isinstance(schema, list):
        for value in schema:
            _refs(value, found)


def _endpoint_of(template: str) -> str:
    """'/responses/{response_id}' -> 'responses/{id}' (our endpoint labels)."""
    return re.sub(r"\{[^}]+\}", "{id}", template).strip("/")


def _answers(document: dict[str, Any]) -> dict[str, dict[str, dict[str, dict[str, str]]]]:
    """endpoint -> METHOD -> status ('200', '4XX', 'default') -> content type -> component name."""
    out: dict[str, Any] = {}
    for template, item in (document.get("paths") or {}).items():
        endpoint = _endpoint_of(template)
        if endpoint not in AUDITED or not isinstance(item, dict):
            continue
        for method, operation in item.items():
            if not isinstance(operation, dict) or not isinstance(operation.get("responses"), dict):
                continue
            for status, answer in operation["responses"].items():
                for content_type, media in ((answer or {}).get("content") or {}).items():
                    ref = ((media or {}).get("schema") or {}).get("$ref", "")
                    if ref.startswith("#/components/schemas/"):
                        slot = out.setdefault(endpoint, {}).setdefault(method.upper(), {}).setdefault(str(status), {})
                        slot[content_type] = ref.rsplit("/", 1)[1]
    return out


def prepare_document(document: dict[str, Any]) -> dict[str, Any]:
    """The prepared subset of an OpenAPI document: the audited answers and the schemas they reach."""
    if not isinstance(document, dict) or not isinstance((document.get("components") or {}).get("schemas"), dict):
        raise OpenApiError("not an OpenAPI document (no components.schemas)")
    schemas = document["components"]["schemas"]
    answers = _answers(document)
    wanted = {name for by_method in answers.values() for by_status in by_method.values()
              for by_type in by_status.values() for name in by_type.values()}
    if "ErrorResponse" in schemas:
        wanted.add("ErrorResponse")  # OpenAI's error envelope, for 4xx/5xx answers the paths leave undescribed
    if not answers:
        raise OpenApiError("the document describes none of the audited endpoints")
    keep: set[str] = set()
    todo = list(wanted)
    while todo:
        name = todo.pop()
        if name in keep or name not in schemas:
            continue
        keep.add(name)
        found: set[str] = set()
        _refs(schemas[name], found)
        todo.extend(found - keep)
    return {
        "version": PREPARED_VERSION,
        "answers": answers,
        "error": "ErrorResponse" if "ErrorResponse" in keep else None,
        "components": {"schemas": {name: prepare(schemas[name]) for name in sorted(keep)}},
    }


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "conformance"


def load_prepared(path: str | Path, cache: bool = True) -> dict[str, Any]:
    """Read and prepare an OpenAPI document (YAML or JSON), through the on-disk cache."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise OpenApiError(f"cannot read {path}: {exc.strerror or exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    cached = _cache_dir() / f"openapi-{digest[:32]}-v{PREPARED_VERSION}.json"
    if cache and cached.is_file():
        try:
            return json.loads(cached.read_text())
        except (OSError, ValueError):
            pass  # a broken cache entry: rebuild it
    try:
        document = yaml.load(data, Loader=yaml.CSafeLoader)  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise OpenApiError(f"cannot parse {path}: {str(exc).splitlines()[0]}") from None
    prepared = prepare_document(document)
    if cache:
        try:  # write atomically: parallel audits may race on the same entry
            cached.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=cached.parent, delete=False, suffix=".tmp") as handle:
                json.dump(prepared, handle)
            os.replace(handle.name, cached)
        except OSError:
            pass  # no writable cache: fine, just slower next time
    return prepared


class OpenApiSpec:
    """Validates answers of the audited endpoints against a prepared OpenAPI document."""

    def __init__(self, prepared: dict[str, Any]):
        self.prepared = prepared
        resource = Resource(contents={"components": prepared["components"]}, specification=DRAFT202012)
        self.registry = Registry().with_resource(DOC_URI, resource)
        self.schemas = prepared["components"]["schemas"]

    @classmethod
    def load(cls, path: str | Path) -> "OpenApiSpec":
        """Read (through the cache) and compile lazily the document at ``path``."""
        return cls(load_prepared(path))

    @lru_cache(maxsize=None)
    def validator(self, name: str) -> jsonschema.Draft202012Validator:
        """The compiled validator of component schema ``name`` (once per process)."""
        return jsonschema.Draft202012Validator({"$ref": f"{DOC_URI}#/components/schemas/{name}"},
                                               registry=self.registry)

    @lru_cache(maxsize=None)
    def dispatch(self, name: str) -> dict[str, str]:
        """For a union of event schemas (anyOf/oneOf of $refs with a constant ``type``): type -> member.

        Validating one stream event against its own member is much faster than
        against the 58-way union, and its errors name the real problem.
        """
        members = self.schemas.get(name, {}).get("anyOf") or self.schemas.get(name, {}).get("oneOf") or []
        table = {}
        for member in members:
            target = str(member.get("$ref", "")).rsplit("/", 1)[-1]
            kind = ((self.schemas.get(target) or {}).get("properties") or {}).get("type") or {}
            values = kind.get("enum") or ([kind["const"]] if "const" in kind else [])
            for value in values:
                table[value] = target
        return table

    def schema_for(self, exchange: Exchange) -> str | None:
        """The component schema describing this answer (None when the document has none)."""
        by_status = self.prepared["answers"].get(exchange.endpoint or "", {}).get(exchange.method, {})
        status = str(exchange.status)
        content_type = "text/event-stream" if exchange.is_sse else "application/json"
        for key in (status, status[:1] + "XX", "default"):
            if content_type in by_status.get(key, {}):
                return by_status[key][content_type]
        if not exchange.ok and not exchange.is_sse:
            return self.prepared.get("error")
        return None

    def check(self, exchange: Exchange) -> list[Failure]:
        """Findings (at most one, named ``openapi``) for one answer."""
        name = self.schema_for(exchange)
        if name is None:
            return []
        problems: list[tuple[str, jsonschema.ValidationError]] = []
        if exchange.is_sse:
            table = self.dispatch(name)
            for event in exchange.events:
                if event.is_done or not isinstance(event.json, dict):
                    continue  # stream grammar is the stream checks' business
                member = table.get(event.json.get("type"), name)
                problems += [(f"event {event.index} ({event.json.get('type') or 'chunk'})", error)
                             for error in _errors(self.validator(member), event.json)]
        else:
            body = exchange.json
            if body is None:
                return []  # no JSON: the envelope and schema checks report it
            problems += [("body", error) for error in _errors(self.validator(name), body)]
        if not problems:
            return []
        missing = sorted({m for _, e in problems for m in _missing(e)})
        only_missing = all(e.validator == "required" for _, e in problems)
        # The same error on many events (every chunk, say) is one line with a count.
        lines: dict[str, list[str]] = {}
        for where, error in problems:
            kind = where.split("(", 1)[-1].rstrip(")") if where != "body" else "body"
            lines.setdefault(f"{kind} {_where(error)}: {_short(error.message)}", []).append(where)
        shown = [line if len(seen) == 1 else f"{line} ({len(seen)} events)" for line, seen in lines.items()]
        text = "; ".join(shown[:3]) + (f"; and {len(shown) - 3} more" if len(shown) > 3 else "")
        evidence = {"schema": name, "errors": shown[:20]}
        return [Failure(CHECK, f"does not match OpenAPI schema {name}: {text}", evidence=evidence,
                        missing=absent(missing, only=only_missing))]


def _errors(validator: jsonschema.Draft202012Validator, instance: Any, limit: int = 20) -> list:
    """Validation errors, each narrowed to the branch of a union the instance was meant for."""
    out = []
    for error in validator.iter_errors(instance):
        out.extend(_narrow(error))
        if len(out) >= limit:
            break
    return out


def _narrow(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """For an anyOf/oneOf failure: the errors of the branch the instance was meant to match.

    A branch is ruled out when its ``type``/``object`` constant differs from the
    instance's (a discriminator miss) or when the instance is not even of its JSON
    type; of the rest, the branch with the fewest errors wins.
    """
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    branches: dict[Any, list] = defaultdict(list)
    for sub in error.context:
        branches[sub.relative_schema_path[0]].append(sub)
    viable = [subs for subs in branches.values() if not any(_ruled_out(sub, error) for sub in subs)]
    if not viable:
        return [error]
    best = min(viable, key=len)
    return [leaf for sub in best for leaf in _narrow(sub)]


def _ruled_out(sub: jsonschema.ValidationError, parent: jsonschema.ValidationError) -> bool:
    depth = len(sub.absolute_path) - len(parent.absolute_path)
    if depth == 0 and sub.validator == "type":
        return True
    return depth == 1 and sub.validator in ("enum", "const") and list(sub.absolute_path)[-1] in ("type", "object")


def _missing(error: jsonschema.ValidationError) -> list[str]:
    if error.validator != "required" or not isinstance(error.instance, dict):
        return []
    return [name for name in error.validator_value if name not in error.instance]


def _where(error: jsonschema.ValidationError) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path) or "(root)"


def _short(message: str, limit: int = 160) -> str:
    return message if len(message) <= limit else message[:limit] + "..."
