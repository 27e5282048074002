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
from conformance.api.endpoints import api_tail
from conformance.checks.findings import Failure, absent
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


def prepare(document: dict[str, Any]) -> dict[str, Any]:
    """The document as the suite uses it (module docstring); ``OpenApiError`` when it describes no endpoint
    in scope."""
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
        raise OpenApiError("not an OpenAPI 3.x document (no 'openapi: 3.x' field)")
    if not model.operations_in_scope(document):
        raise OpenApiError("the document describes none of the endpoints in scope "
                           "(chat completions, responses and their stored objects)")
    return model.with_error_answers(model.adapt_event_streams(document))


def load_schema(document: dict[str, Any]) -> Any:
    """A schemathesis schema of a prepared document, with the suite's configuration."""
    import schemathesis

    try:
        return schemathesis.openapi.from_dict(document, config=schemathesis_config())
    except Exception as exc:  # noqa: BLE001  (schemathesis raises its own loader errors)
        raise OpenApiError(f"schemathesis cannot load the document: {str(exc).splitlines()[0]}") from None


def operations(schema: Any, document: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """``(METHOD, template) -> APIOperation`` for the operations in scope (template as the API model spells it)."""
    out = {}
    for method, path in model.operations_in_scope(document):
        template = re.sub(r"\{[^}]+\}", "{id}", path).strip("/")
        out[(method, template)] = schema[path][method]
    return out


def to_response(exchange: Exchange) -> Any:
    """A schemathesis Response holding a recorded or live answer."""
    import requests
    import schemathesis

    body = exchange.request_body
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    request = requests.Request(exchange.method, exchange.url, data=data).prepare()
    return schemathesis.Response(status_code=int(exchange.status or 0),
                                 headers={k: [v] for k, v in exchange.headers.items()},
                                 content=exchange.text.encode("utf-8", "surrogatepass"), request=request,
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
        self.document = prepare(document)
        self.source = source
        self.schema = load_schema(self.document)
        self.operations = operations(self.schema, self.document)
        self.answers = model.answer_schemas(self.document)

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
        failures = failures_of(operation.validate_response, to_response(exchange))
        return finding(name, schema_errors(failures), exchange)


def finding(name: str, errors: list[tuple[int | None, Any]], exchange: Exchange) -> list[Failure]:
    """The ``openapi`` Failure of an answer's schema errors ([] when there are none)."""
    if not errors:
        return []
    lines, missing, only_missing = [], [], True
    events = exchange.events
    for index, error in errors:
        if index is None:
            kind = "body"
        else:
            payload = events[index].json if index < len(events) else None
            kind = str(payload.get("type") or "chunk") if isinstance(payload, dict) else f"event {index}"
        message = error.validation_message.splitlines()[0] if error.validation_message else ""
        found = REQUIRED.match(message)
        if found and error.schema_path and error.schema_path[-1] == "required":
            missing.append(found.group(1))
        else:
            only_missing = False
        line = f"{kind} {where(error.instance_path)}: {_short(message)}"
        if line not in lines:
            lines.append(line)
    text = "; ".join(lines[:SHOWN]) + (f"; and {len(lines) - SHOWN} more" if len(lines) > SHOWN else "")
    return [Failure(CHECK, f"does not match OpenAPI schema {name}: {text}", evidence={"schema": name,
                                                                                     "errors": lines[:20]},
                    missing=absent(missing, only=only_missing))]


def path_in_document(exchange: Exchange) -> str:
    """The request path relative to the base URL (what a document's paths are written against)."""
    return api_tail(exchange.path)


def _short(message: str, limit: int = 160) -> str:
    return message if len(message) <= limit else message[:limit] + "..."
