"""OpenAPI documents through schemathesis: loading, and validating recorded answers (``audit --openapi``).

One machinery for the suite: ``conformance fuzz`` generates requests from a document loaded here, and
``conformance audit --openapi FILE`` validates answers with schemathesis' own ``validate_response`` on
the same kind of loaded schema; there is no hand-written OpenAPI-to-JSON-Schema bridge.

Reading a document (``read_document``): YAML or JSON, parsed once and cached on disk as JSON keyed by
the file's sha256 (the official document is a 3 MB YAML file that takes seconds to parse).
Preparing it (``prepare``), with the API model's helpers (``conformance.api.openapi``):

- ``text/event-stream`` answers that declare the event *payload* schema (as the official document does)
  are rewritten to describe one parsed event, dispatched on the event's ``type``;
- operations in scope that document no error answer get ``4XX``/``5XX`` answers of the document's
  ``ErrorResponse`` (OpenAI's envelope), which is how the audit judged error bodies before.

schemathesis reads OpenAPI 3.0 ``nullable`` in a 3.1 document itself. Formats are not validated (the
official document's ``format`` values describe, they do not constrain). Findings of one answer become at
most one ``openapi`` Failure listing the schema errors (jsonschema-rs messages).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml

from conformance.api import openapi as model
from conformance.checks.findings import Failure, absent
from conformance.parsing import pointer_token
from conformance.transport.exchange import Exchange

CHECK = "openapi"
CACHE_VERSION = 2  # bump when read_document's output changes, to invalidate caches
# schemathesis hides values of keys that contain "token" or "key" by default; here that would turn every
# ``max_completion_tokens`` in a reproducer into "[Filtered]". Only keys naming real secrets stay hidden.
SENSITIVE_MARKERS = ("secret", "password", "passwd", "authorization", "credential", "api-key", "api_key",
                     "apikey", "session", "cookie")
SHOWN = 3  # schema errors spelled out in a finding's message
REQUIRED = re.compile(r'^"(.+)" is a required property$')


class OpenApiError(Exception):
    """The OpenAPI document cannot be used (a usage error: exit status 2)."""


def schemathesis_config() -> Any:
    """The explicit schemathesis configuration (never a ``schemathesis.toml`` found in the working directory)."""
    import schemathesis

    return schemathesis.Config.from_dict({
        "generation": {"allow-x00": False},
        "output": {"sanitization": {"sensitive-markers": list(SENSITIVE_MARKERS)}},
        "checks": {"response_schema_conformance": {"validate-formats": False}},
    })


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "conformance"


def cache_file(data: bytes) -> Path:
    """Where the parsed form of a document with these bytes is cached."""
    return _cache_dir() / f"openapi-{hashlib.sha256(data).hexdigest()[:32]}-v{CACHE_VERSION}.json"


def read_document(path: str | Path, cache: bool = True) -> dict[str, Any]:
    """Parse an OpenAPI document (YAML or JSON), through the on-disk cache; ``OpenApiError`` when unusable."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise OpenApiError(f"cannot read {path}: {exc.strerror or exc}") from None
    cached = cache_file(data)
    if cache and cached.is_file():
        try:
            return json.loads(cached.read_text())
        except (OSError, ValueError):
            pass  # a broken cache entry: rebuild it
    try:
        document = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise OpenApiError(f"cannot parse {path}: {str(exc).splitlines()[0]}") from None
    if not isinstance(document, dict):
        raise OpenApiError(f"{path} is not an OpenAPI document")
    # YAML 1.1 reads some unquoted scalars as dates; JSON (and a JSON Schema validator) holds strings. The same
    # normalised form is returned whether or not it came from the cache.
    text = json.dumps(document, default=str)
    if cache:
        try:  # write atomically: parallel audits may race on the same entry
            cached.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=cached.parent, delete=False, suffix=".tmp") as handle:
                handle.write(text)
            os.replace(handle.name, cached)
        except OSError:
            pass  # no writable cache: fine, just slower next time
    return json.loads(text)


def prepare(document: dict[str, Any], endpoints: tuple[Any, ...] = model.SCOPE) -> dict[str, Any]:
    """The document as the suite uses it (module docstring); ``OpenApiError`` when it describes none of
    ``endpoints`` (default: the endpoints in scope of generated requests)."""
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
        raise OpenApiError("not an OpenAPI 3.x document (no 'openapi: 3.x' field)")
    if not model.operations_in_scope(document, endpoints):
        raise OpenApiError("the document describes none of the endpoints it is used for "
                           "(chat completions, responses and their stored objects)")
    return model.with_error_answers(model.adapt_event_streams(document), endpoints=endpoints)


def load_schema(document: dict[str, Any]) -> Any:
    """A schemathesis schema of a prepared document, with the suite's configuration."""
    import schemathesis

    try:
        return schemathesis.openapi.from_dict(document, config=schemathesis_config())
    except Exception as exc:  # noqa: BLE001  (schemathesis raises its own loader errors)
        raise OpenApiError(f"schemathesis cannot load the document: {str(exc).splitlines()[0]}") from None


def operations(schema: Any, document: dict[str, Any], endpoints: tuple[Any, ...] = model.SCOPE
               ) -> dict[tuple[str, str], Any]:
    """``(METHOD, template) -> APIOperation`` for the operations of ``endpoints`` (template as the API model
    spells it)."""
    out = {}
    for method, path in model.operations_in_scope(document, endpoints):
        template = re.sub(r"\{[^}]+\}", "{id}", path).strip("/")
        out[(method, template)] = schema[path][method]
    return out


def sse_text(event: Any) -> str:
    """One parsed SSE event written back as a stream of one event."""
    lines = ([f"event: {event.event}"] if event.event else []) + [f"data: {line}" for line in event.data.split("\n")]
    return "\n".join(lines) + "\n\n"


def to_response(exchange: Exchange, content: str | None = None) -> Any:
    """A schemathesis Response holding a recorded or live answer (or, with ``content``, another body)."""
    import requests
    import schemathesis

    body = exchange.request_body
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    request = requests.Request(exchange.method, exchange.url, data=data).prepare()
    return schemathesis.Response(status_code=int(exchange.status or 0),
                                 headers={k: [v] for k, v in exchange.headers.items()},
                                 content=(exchange.text if content is None else content).encode("utf-8", "surrogatepass"),
                                 request=request,
                                 elapsed=0.0, verify=True)


def failures_of(validate: Any, *args: Any, **kwargs: Any) -> list[Any]:
    """Call a schemathesis validation; the schemathesis Failures it raised, in a stable order ([] if none).

    schemathesis collects a response's failures in a set of objects whose hash is per process, so the raw
    order differs between runs: it is sorted here.
    """
    from schemathesis.core.failures import FailureGroup

    try:
        validate(*args, **kwargs)
    except FailureGroup as group:
        found = list(group.exceptions)
    except AssertionError as exc:
        found = [exc]
    else:
        return []
    return sorted(found, key=lambda f: (type(f).__name__, getattr(f, "title", ""), str(getattr(f, "message", f))))


def where(path: Any) -> str:
    """A JSON instance path as ``.a.b[0]`` (``(root)`` for the top)."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path or ()) or "(root)"


def schema_errors(failures: list[Any]) -> list[tuple[int | None, Any]]:
    """``(event index or None, failure)`` for the schema violations among schemathesis failures."""
    out = []
    for failure in failures:
        if type(failure).__name__ != "JsonSchemaError":
            continue  # bodies that are not JSON, missing content types: the suite's own checks report those
        match = re.match(r"Event #(\d+): ", getattr(failure, "message", ""))
        out.append((int(match.group(1)) if match else None, failure))
    return out


class OpenApiSpec:
    """Validates answers of the audited endpoints against an OpenAPI document, with schemathesis."""

    def __init__(self, document: dict[str, Any], source: str = ""):
        self.document = prepare(document, model.AUDITED)
        self.source = source
        self.schema = load_schema(self.document)
        self.operations = operations(self.schema, self.document, model.AUDITED)
        self.answers = model.answer_schemas(self.document, model.AUDITED)

    @classmethod
    def load(cls, path: str | Path) -> "OpenApiSpec":
        """Read (through the cache) and load the document at ``path``."""
        return cls(read_document(path), str(path))

    def schema_name(self, exchange: Exchange) -> str | None:
        """The component that describes this answer (None when the document has none)."""
        by_status = self.answers.get((exchange.method, exchange.endpoint or ""), {})
        status = str(exchange.status)
        media = model.SSE if exchange.is_sse else model.JSON
        for key in (status, status[:1] + "XX", "default"):
            if media in by_status.get(key, {}):
                return by_status[key][media]
        return None

    def check(self, exchange: Exchange) -> list[Failure]:
        """Findings (at most one, named ``openapi``) for one answer."""
        route = exchange.route
        if route is None or not route.audited or exchange.status is None:
            return []
        operation = self.operations.get((exchange.method, route.template))
        name = self.schema_name(exchange)
        if operation is None or name is None:
            return []
        if not exchange.is_sse:
            return finding(name, schema_errors(failures_of(operation.validate_response, to_response(exchange))),
                           exchange)
        # One event at a time: schemathesis reports one failure per schema location in a response, so a stream
        # judged whole would show only the first event that breaks each rule.
        errors = []
        for event in exchange.events:
            single = to_response(exchange, content=sse_text(event))
            errors += [(event.index, error) for _, error in
                       schema_errors(failures_of(operation.validate_response, single))]
        return finding(name, errors, exchange)


def finding(name: str, errors: list[tuple[int | None, Any]], exchange: Exchange) -> list[Failure]:
    """The ``openapi`` Failure of an answer's schema errors ([] when there are none)."""
    if not errors:
        return []
    seen: dict[str, set[int | None]] = {}
    missing: list[str] = []
    only_missing = True
    events = exchange.events
    for index, error in errors:
        if index is None:
            kind = "body"
        else:
            payload = events[index].json if index < len(events) else None
            kind = str(payload.get("type") or "chunk") if isinstance(payload, dict) else f"event {index}"
        for path, message, keyword in leaves(error):
            found = REQUIRED.match(message)
            if keyword == "required" and found:
                missing.append(found.group(1))
            else:
                only_missing = False
            line = f"{kind} {where(path)}: {_short(message)}"
            seen.setdefault(line, set()).add(index)
    # the same error on many events (every chunk, say) is one line with a count
    lines = [line if len(where_seen) == 1 else f"{line} ({len(where_seen)} events)"
             for line, where_seen in seen.items()]
    text = "; ".join(lines[:SHOWN]) + (f"; and {len(lines) - SHOWN} more" if len(lines) > SHOWN else "")
    return [Failure(CHECK, f"does not match OpenAPI schema {name}: {text}",
                    evidence={"schema": name, "errors": lines[:20]}, missing=absent(missing, only=only_missing))]


def leaves(error: Any) -> list[tuple[list[Any], str, str]]:
    """``(instance path, message, keyword)`` of a schemathesis schema error; an ``anyOf``/``oneOf`` error is
    narrowed to the errors of the branch the value was meant for (``narrow``), so an OpenAPI 3.0 ``nullable``
    (a union with null) or a union of item types names the broken field, not "no branch matched"."""
    path = list(error.instance_path or [])
    keyword = str(error.schema_path[-1]) if error.schema_path else ""
    message = (error.validation_message or "").splitlines()[0] if error.validation_message else ""
    if keyword not in ("anyOf", "oneOf"):
        return [(path, message, keyword)]
    try:
        root, location, instance = error._root_schema, tuple(error.schema_path[:-1]), error.instance
        narrowed = list(_sub_validator(root, location).iter_errors(instance))
        if not narrowed and isinstance(instance, str):
            # an SSE event's `data`: schemathesis judged its JSON payload against a contentSchema (a keyword
            # plain JSON Schema only annotates); judge the decoded payload against that schema here. Paths
            # are then the payload's own, as a reader of the event expects.
            inner = _content_schema(root, location)
            if inner is not None:
                narrowed = list(_sub_validator(root, inner).iter_errors(json.loads(instance)))
                path = []
    except Exception:  # noqa: BLE001  (narrowing only improves a message; the finding stands without it)
        return [(path, message, keyword)]
    found = [(path + list(p), m, k) for sub in narrowed for p, m, k in narrow(sub)]
    return found or [(path, message, keyword)]


def _content_schema(root: Any, location: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The location of the first ``contentSchema`` at or below ``location`` in ``root`` (None if there is none)."""
    node: Any = root
    for part in location:
        node = node[part]
    todo: list[tuple[Any, tuple[Any, ...]]] = [(node, location)]
    while todo:
        node, at = todo.pop(0)
        if isinstance(node, dict):
            if "contentSchema" in node:
                return at + ("contentSchema",)
            todo += [(value, at + (key,)) for key, value in node.items()]
        elif isinstance(node, list):
            todo += [(value, at + (index,)) for index, value in enumerate(node)]
    return None


def narrow(error: Any) -> list[tuple[list[Any], str, str]]:
    """A jsonschema-rs error as leaf errors: for a union, those of its most plausible branch. A branch is ruled
    out when the value is not even of its JSON type, or its ``type``/``object`` constant differs (a
    discriminator miss); of the rest, the branch with the fewest errors wins."""
    kind = error.kind.name
    context = getattr(error.kind, "context", None) if kind in ("anyOf", "oneOf") else None
    if not context:
        return [(list(error.instance_path), error.message, kind)]
    depth = len(error.instance_path)
    viable = [branch for branch in context if branch and not any(_ruled_out(sub, depth) for sub in branch)]
    if not viable:
        # every branch wants another JSON type (e.g. a nullable string given a number): name the types
        types = [sub.message.split(" is not of type ", 1)[1] for branch in context for sub in branch
                 if sub.kind.name == "type" and len(sub.instance_path) == depth and " is not of type " in sub.message]
        if len(types) == len(context):
            value = error.message.split(" is not valid under ", 1)[0]
            return [(list(error.instance_path), f"{value} is not of type {' or '.join(types)}", "type")]
        return [(list(error.instance_path), error.message, kind)]
    return [leaf for sub in min(viable, key=len) for leaf in narrow(sub)]


def _ruled_out(sub: Any, depth: int) -> bool:
    below = len(sub.instance_path) - depth
    if below == 0 and sub.kind.name in ("type", "not"):  # "not": the other side of an if/then (the if held)
        return True
    return below == 1 and sub.kind.name in ("enum", "constant") and str(sub.instance_path[-1]) in ("type", "object")


_VALIDATORS: dict[tuple[int, tuple[Any, ...]], tuple[Any, Any]] = {}


def _sub_validator(root: Any, location: tuple[Any, ...]) -> Any:
    """A jsonschema-rs validator of the schema at ``location`` inside ``root`` (refs resolve against root)."""
    import jsonschema_rs

    key = (id(root), location)
    if key not in _VALIDATORS:
        pointer = "".join("/" + pointer_token(p) for p in location)
        registry = jsonschema_rs.Registry([("urn:conformance:answer", root)])
        validator = jsonschema_rs.validator_for({"$ref": "urn:conformance:answer#" + pointer}, registry=registry)
        _VALIDATORS[key] = (root, validator)  # the root is kept alive so its id stays unique
    return _VALIDATORS[key][1]


def _short(message: str, limit: int = 160) -> str:
    return message if len(message) <= limit else message[:limit] + "..."
