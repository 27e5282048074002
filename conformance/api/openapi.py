"""Our own OpenAPI 3.1 document of the endpoints in scope, generated from the API model.

Nothing here is written twice: paths and methods come from ``endpoints.ENDPOINTS``, the 2xx answers
from the profile's contracts (``conformance/specs/contracts/<profile>/``), error answers from the profile's
``error`` contract, and request bodies and query parameters from ``specs/requests/<api>.<role>.json``
(package data, JSON Schema 2020-12, kept to OpenAI's own ranges). ``conformance fuzz`` generates
requests from this document with schemathesis, ``conformance audit --openapi`` can validate against
it, and a copy per profile ships as ``specs/openapi/<profile>.json`` (a test keeps it current).

Conventions of the generated document:

- one operation per endpoint in ``SCOPE``; path parameters are named ``id``; ``operationId`` is
  ``<api>.<role>``;
- component schemas are named after their contract (``chat.completion``, ``events.event``) or request
  file (``request.chat.create``); file ``$ref``s become ``#/components/schemas/...`` refs;
- ``200`` is the endpoint's contract as JSON, plus ``text/event-stream`` where the request may ask for a
  stream: per OpenAPI 3.1 (no ``itemSchema``) that ``schema`` describes one parsed event
  ``{event, data}``, whose ``data`` is ``[DONE]`` or JSON (``contentMediaType``) matching the chunk or
  event contract (``contentSchema``); the detailed per-type event grammar is the stream checks' job;
- ``4XX`` and ``5XX`` carry the error envelope: any 4xx is a documented answer to a bad request, and a
  5xx is reported by the "no server error" check, not as an undocumented status.

``adapt_event_streams`` prepares another document (the official one) the same way: its SSE answers
declare the *payload* schema, which OpenAPI 3.1 tools read as the schema of the event object.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import Any

from conformance.api.contracts import package_path, schema_path, specs_path
from conformance.api.endpoints import APIS, ENDPOINTS, Endpoint
from conformance.api.vocabulary import DONE, PROFILES

OPENAPI_VERSION = "3.1.0"
JSON = "application/json"
SSE = "text/event-stream"
SCHEMAS_REF = "#/components/schemas/"
# The endpoints in scope, by API: create, retrieve, delete and input items of Responses; the whole of stored
# chat completions (list, retrieve, update, delete, messages) besides chat create.
SCOPE_ROLES = {
    "chat": ("create", "list", "list_items", "retrieve", "update", "delete"),
    "responses": ("create", "retrieve", "delete", "list_items"),
}
SCOPE: tuple[Endpoint, ...] = tuple(e for e in ENDPOINTS if e.api in APIS and e.role in SCOPE_ROLES[e.api])
# The endpoints `conformance audit` judges (``--openapi`` validates their answers too).
AUDITED: tuple[Endpoint, ...] = tuple(e for e in ENDPOINTS if e.audited)
# The contract one streamed event's JSON payload must match, per API (the stream checks judge each type).
STREAM_EVENT_CONTRACT = {"chat": "chat.completion.chunk", "responses": "events/event"}
ERROR_CONTRACT = "error"
ERROR_STATUSES = ("4XX", "5XX")
STREAM_FIELD = "stream"
# On an SSE media type object: the component its events' payload matches (a vendor extension, for reports).
PAYLOAD_KEY = "x-conformance-payload"


def operation_id(endpoint: Endpoint) -> str:
    """``<api>.<role>``, e.g. ``responses.list_items`` (unique in SCOPE)."""
    return f"{endpoint.api}.{endpoint.role}"


def openapi_path(endpoint: Endpoint) -> str:
    """The endpoint's OpenAPI path: ``/responses/{id}`` (relative to the base URL ending in ``/v1``)."""
    return "/" + endpoint.template


def request_file(endpoint: Endpoint) -> str | None:
    """The request schema of an endpoint (``specs/requests/<api>.<role>.json``), or None when it takes none."""
    path = specs_path("requests", f"{endpoint.api}.{endpoint.role}.json")
    return str(path) if path.is_file() else None


def component_name(contract: str) -> str:
    """A contract name as a component name: ``events/event`` -> ``events.event``."""
    return contract.replace("/", ".")


def _rewrite_refs(node: Any, here: str, folder: str, wanted: set[str]) -> Any:
    """A copy of a schema whose ``$ref``s point into ``#/components/schemas``; contracts referenced are added
    to ``wanted`` (as contract names, relative to ``folder``)."""
    if isinstance(node, list):
        return [_rewrite_refs(item, here, folder, wanted) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$schema":
            continue  # the document's dialect is 2020-12 already
        if key == "$ref" and isinstance(value, str):
            target, _, pointer = value.partition("#")
            if target:
                name = (folder + "/" if folder else "") + target.removesuffix(".json")
                wanted.add(name)
                out[key] = SCHEMAS_REF + component_name(name) + pointer
            else:
                out[key] = SCHEMAS_REF + here + pointer
            continue
        out[key] = _rewrite_refs(value, here, folder, wanted)
    return out


def _contract_components(profile: str, roots: set[str]) -> dict[str, Any]:
    """The contracts ``roots`` and every contract they reference, as components (profile fallback applies)."""
    components: dict[str, Any] = {}
    todo = sorted(roots)
    while todo:
        name = todo.pop()
        if component_name(name) in components:
            continue
        path = schema_path(profile, name)
        if path is None:
            raise LookupError(f"no contract {name!r} for profile {profile!r}")
        folder = name.rsplit("/", 1)[0] if "/" in name else ""
        found: set[str] = set()
        components[component_name(name)] = _rewrite_refs(json.loads(path.read_text()), component_name(name),
                                                         folder, found)
        todo.extend(sorted(found - set(components)))
    return dict(sorted(components.items()))


def _ref(name: str) -> dict[str, str]:
    return {"$ref": SCHEMAS_REF + name}


def _data_or_done(payload: dict[str, Any]) -> dict[str, Any]:
    """An event's ``data``: the ``[DONE]`` terminator, else JSON matching ``payload``. Written as if/else rather
    than a union, so a payload's own error is reported, not "no branch matched"."""
    return {"if": {"const": DONE}, "else": {"contentMediaType": JSON, "contentSchema": payload}}


def _event_stream(contract: str) -> dict[str, Any]:
    """The SSE media type object: one parsed event whose data is ``[DONE]`` or JSON matching ``contract``."""
    return {PAYLOAD_KEY: component_name(contract), "schema": {
        "type": "object",
        "required": ["data"],
        "properties": {
            "event": {"type": "string"},
            "data": _data_or_done(_ref(component_name(contract))),
        },
    }}


def _operation(endpoint: Endpoint, requests: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """One operation object and the contracts its answers reference."""
    contracts = {ERROR_CONTRACT}
    operation: dict[str, Any] = {"operationId": operation_id(endpoint),
                                 "summary": f"{endpoint.api} {endpoint.role}".replace("_", " ")}
    parameters = []
    if "{id}" in endpoint.template:
        parameters.append({"name": "id", "in": "path", "required": True,
                           "schema": {"type": "string", "minLength": 1}})
    request_name = f"request.{endpoint.api}.{endpoint.role}"
    streams = False
    if request_name in requests:
        schema = requests[request_name]
        if endpoint.method == "GET":  # each property of a GET's request schema is a query parameter
            required = set(schema.get("required", ()))
            parameters += [{"name": name, "in": "query", "required": name in required, "schema": prop}
                           for name, prop in schema.get("properties", {}).items()]
        else:
            operation["requestBody"] = {"required": True, "content": {JSON: {"schema": _ref(request_name)}}}
            streams = endpoint.streams and STREAM_FIELD in schema.get("properties", {})
    if parameters:
        operation["parameters"] = parameters
    content: dict[str, Any] = {}
    if endpoint.contract:
        contracts.add(endpoint.contract)
        content[JSON] = {"schema": _ref(component_name(endpoint.contract))}
    if streams:
        contracts.add(STREAM_EVENT_CONTRACT[endpoint.api])
        content[SSE] = _event_stream(STREAM_EVENT_CONTRACT[endpoint.api])
    error = {"description": "An error, in OpenAI's envelope",
             "content": {JSON: {"schema": _ref(component_name(ERROR_CONTRACT))}}}
    operation["responses"] = {"200": {"description": "OK", "content": content},
                              **{status: copy.deepcopy(error) for status in ERROR_STATUSES}}
    return operation, contracts


def _request_components() -> dict[str, Any]:
    """Every request schema of SCOPE as a component ``request.<api>.<role>``."""
    out = {}
    for endpoint in SCOPE:
        path = request_file(endpoint)
        if path is None:
            continue
        name = f"request.{endpoint.api}.{endpoint.role}"
        with open(path, encoding="utf-8") as handle:
            out[name] = _rewrite_refs(json.load(handle), name, "", set())
    return out


def build_document(profile: str = "openai") -> dict[str, Any]:
    """The OpenAPI 3.1 document of SCOPE whose answers are judged by ``profile``'s contracts."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    requests = _request_components()
    paths: dict[str, dict[str, Any]] = {}
    wanted: set[str] = set()
    for endpoint in SCOPE:
        operation, contracts = _operation(endpoint, requests)
        wanted |= contracts
        paths.setdefault(openapi_path(endpoint), {})[endpoint.method.lower()] = operation
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": f"OpenAI Chat Completions and Responses, as judged by conformance ({profile} profile)",
                 "version": "1",
                 "description": "Generated by conformance.api.openapi from the suite's API model, its "
                                f"'{profile}' contracts and its request schemas. Do not edit by hand."},
        "servers": [{"url": "https://api.openai.com/v1"}],
        "paths": paths,
        "components": {"schemas": {**requests, **_contract_components(profile, wanted)}},
    }


def shipped_path(profile: str):
    """Where the generated document of ``profile`` ships in the package."""
    return package_path("specs", "openapi", f"{profile}.json")


def dumps(document: dict[str, Any]) -> str:
    """The canonical text of a document (what ships; stable, so a test can compare it)."""
    return json.dumps(document, indent=1, ensure_ascii=False, sort_keys=False) + "\n"


def digest(document: dict[str, Any]) -> str:
    """A short sha256 of a document's canonical JSON."""
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:16]


def request_digest(document: dict[str, Any]) -> str:
    """The digest of what request generation reads: the operations without their answers, and the component
    schemas they reach. Editing a contract (an answer schema) does not change it; editing a request does."""
    paths = {path: {method: {k: v for k, v in operation.items() if k != "responses"}
                    if isinstance(operation, dict) else operation for method, operation in item.items()}
             for path, item in (document.get("paths") or {}).items() if isinstance(item, dict)}
    schemas = (document.get("components") or {}).get("schemas") or {}
    reached: dict[str, Any] = {}
    todo = _refs_in(paths)
    while todo:
        name = todo.pop()
        if name in reached or name not in schemas:
            continue
        reached[name] = schemas[name]
        todo += _refs_in(schemas[name])
    return digest({"paths": paths, "schemas": reached})


def _refs_in(node: Any) -> list[str]:
    """Names of the component schemas ``node`` refers to."""
    text = json.dumps(node)
    return re.findall(r'"\$ref": "#/components/schemas/([^"/]+)', text)


def pin_model(document: dict[str, Any], model: str) -> dict[str, Any]:
    """A copy whose request bodies' ``model`` must be ``model`` (so valid requests reach a real model)."""
    out = copy.deepcopy(document)
    for name, schema in out.get("components", {}).get("schemas", {}).items():
        if name.startswith("request.") and "model" in schema.get("properties", {}):
            schema["properties"]["model"] = {"type": "string", "enum": [model]}
    return out


def omit_fields(document: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """A copy whose request bodies lack ``fields`` (cost control for slow targets; never a narrower range)."""
    out = copy.deepcopy(document)
    for name, schema in out.get("components", {}).get("schemas", {}).items():
        if name.startswith("request."):
            for field in fields:
                schema.get("properties", {}).pop(field, None)
                if field in schema.get("required", ()):
                    schema["required"] = [r for r in schema["required"] if r != field]
    return out


def _event_dispatch(payload: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """For a union of event schemas with a constant ``type``: ``if type == T then member`` for each member,
    and the whole union for any other type. Equivalent to the union for valid events, much faster to judge,
    and an error names the broken field of the event's own schema, not "no branch matched"."""
    union = payload
    if "$ref" in union and union["$ref"].startswith(SCHEMAS_REF):
        union = schemas.get(union["$ref"][len(SCHEMAS_REF):], {})
    members = union.get("anyOf") or union.get("oneOf") or []
    branches, known = [], []
    for member in members:
        ref = member.get("$ref", "") if isinstance(member, dict) else ""
        target = schemas.get(ref[len(SCHEMAS_REF):], {}) if ref.startswith(SCHEMAS_REF) else member
        kind = ((target.get("properties") or {}).get("type") or {}) if isinstance(target, dict) else {}
        values = kind.get("enum") or ([kind["const"]] if "const" in kind else [])
        for value in values:
            if isinstance(value, str):
                known.append(value)
                branches.append({"if": {"properties": {"type": {"const": value}}, "required": ["type"]},
                                 "then": member})
    if not branches:
        return payload
    return {"allOf": branches + [{"if": {"properties": {"type": {"enum": known}}, "required": ["type"]},
                                  "else": payload}]}


def adapt_event_streams(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of another document whose ``text/event-stream`` answers describe one event (see the module doc).

    A payload schema that is a union of typed events is dispatched on ``type`` (``_event_dispatch``).
    Media types that already have ``itemSchema`` (OpenAPI 3.2) or describe ``data`` are left alone.
    """
    out = copy.deepcopy(document)
    schemas = (out.get("components") or {}).get("schemas") or {}
    for item in (out.get("paths") or {}).values():
        for operation in (item or {}).values() if isinstance(item, dict) else ():
            if not isinstance(operation, dict):
                continue
            for answer in (operation.get("responses") or {}).values():
                media = ((answer or {}).get("content") or {}).get(SSE) if isinstance(answer, dict) else None
                if not isinstance(media, dict) or "schema" not in media or "itemSchema" in media:
                    continue
                payload = media["schema"]
                if isinstance(payload, dict) and "data" in (payload.get("properties") or {}):
                    continue
                ref = payload.get("$ref", "") if isinstance(payload, dict) else ""
                if ref.startswith(SCHEMAS_REF):
                    media[PAYLOAD_KEY] = ref[len(SCHEMAS_REF):]
                media["schema"] = {"type": "object", "required": ["data"],
                                   "properties": {"data": _data_or_done(_event_dispatch(payload, schemas))}}
    return out


def with_error_answers(document: dict[str, Any], component: str = "ErrorResponse",
                       endpoints: tuple[Endpoint, ...] = SCOPE) -> dict[str, Any]:
    """A copy where each operation of ``endpoints`` without a ``4XX``/``5XX`` (or ``default``) answer gets one, of
    the document's error envelope ``component`` (OpenAI's own document describes almost no error, yet every
    error OpenAI sends has that envelope); statuses it names keep their own answers. Without the component
    the document is returned unchanged."""
    out = copy.deepcopy(document)
    if component not in ((out.get("components") or {}).get("schemas") or {}):
        return out
    error = {"description": "An error, in OpenAI's envelope", "content": {JSON: {"schema": _ref(component)}}}
    for method, path in operations_in_scope(out, endpoints):
        answers = out["paths"][path][method.lower()].setdefault("responses", {})
        for status in ERROR_STATUSES:  # a specific status (429) still leaves the others of its class undescribed
            if status not in answers and status.lower() not in answers and "default" not in answers:
                answers[status] = copy.deepcopy(error)
    return out


def answer_schemas(document: dict[str, Any], endpoints: tuple[Endpoint, ...] = SCOPE
                   ) -> dict[tuple[str, str], dict[str, dict[str, str]]]:
    """``(METHOD, template) -> status key -> media type -> component name`` for the operations of ``endpoints``
    (``template`` as the API model spells it, e.g. ``responses/{id}``): names answers in reports."""
    out: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    for method, path in operations_in_scope(document, endpoints):
        template = re.sub(r"\{[^}]+\}", "{id}", path).strip("/")
        for status, answer in (document["paths"][path][method.lower()].get("responses") or {}).items():
            for media_type, media in ((answer or {}).get("content") or {}).items():
                ref = ((media or {}).get("schema") or {}).get("$ref", "") if isinstance(media, dict) else ""
                name = ref[len(SCHEMAS_REF):] if ref.startswith(SCHEMAS_REF) else "(inline schema)"
                if isinstance(media, dict) and PAYLOAD_KEY in media:
                    name = media[PAYLOAD_KEY]
                out.setdefault((method, template), {}).setdefault(str(status), {})[media_type] = name
    return out


def operations_in_scope(document: dict[str, Any], endpoints: tuple[Endpoint, ...] = SCOPE) -> list[tuple[str, str]]:
    """``(METHOD, path)`` of the document's operations that are ``endpoints`` (default SCOPE) of the API model."""
    found = []
    for path, item in (document.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        template = re.sub(r"\{[^}]+\}", "{id}", path).strip("/")
        for method in item:
            if any(e.method == method.upper() and e.template == template for e in endpoints):
                found.append((method.upper(), path))
    return found


def write_shipped() -> list[str]:
    """Regenerate every shipped document (``python -m conformance.api.openapi``); the paths written."""
    written = []
    for profile in PROFILES:
        path = shipped_path(profile)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(build_document(profile)), encoding="utf-8")
        written.append(str(path))
    return written


if __name__ == "__main__":
    print("\n".join(write_shipped()))
