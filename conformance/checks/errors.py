"""The error envelope: what a 4xx/5xx body must look like for SDKs to report it.

Every genuine OpenAI error in the corpus (all statuses, both APIs) is
``{"error": {"message", "type", "param", "code"}}`` with all four keys present,
``message``/``type`` strings, ``param`` and ``code`` strings or null, sent as
``application/json`` (api-differences §3.7). Servers that answer another shape
make the SDKs print "400 status code (no body)" or crash (deviations row 19).
"""

from __future__ import annotations

import json
import re
from typing import Any

from conformance.api.vocabulary import ERROR_KEYS
from conformance.checks.findings import CheckFailure, absent
from conformance.checks.registry import CheckContext, check
from conformance.transport.exchange import Exchange

ENVELOPE_KEYS = ERROR_KEYS

# Per profile: which JSON types each envelope key may take (all four keys are required in every
# profile), whether the content type must be application/json, and whether the case's expected
# ``param``/``code`` are enforced.
#   openai          what OpenAI sends: the corpus shows the types below and application/json, always.
#   compat          what the SDKs read: the same types (openai-python declares ``APIError.code:
#                   Optional[str]``; it coerces an integer with ``str()``, a client deserialising
#                   strictly into that type does not), but SDKs parse the body whatever its content
#                   type, and other servers word their own params and codes.
#   open-responses  Open Responses' ``ErrorPayload``: type, code, message, param required;
#                   code and param ``string | null``.
STRING_OR_NULL = (str, type(None))
KEY_TYPES = {"message": (str,), "type": (str,), "param": STRING_OR_NULL, "code": STRING_OR_NULL}
ENVELOPE_RULES: dict[str, dict[str, Any]] = {
    "openai": {"key_types": KEY_TYPES, "json_content_type": True, "names": True},
    "compat": {"key_types": KEY_TYPES, "json_content_type": False, "names": False},
    "open-responses": {"key_types": KEY_TYPES, "json_content_type": False, "names": False},
}


def envelope_kind(exchange: Exchange) -> str:
    """A short name for the error body's envelope, for messages: 'openai', 'problem+json', 'detail', ..."""
    body = exchange.json
    if exchange.content_type == "application/problem+json" or (
        isinstance(body, dict) and {"title", "status"} <= set(body) and "error" not in body
    ):
        return "problem+json"
    if body is None:
        return "non-JSON" if exchange.text.strip() else "empty"
    if not isinstance(body, dict):
        return f"JSON {type(body).__name__}"
    if isinstance(body.get("error"), dict):
        return "openai"
    if "error" in body:
        return f"error-is-{type(body['error']).__name__}"
    if "detail" in body:
        return "detail"
    if "message" in body:
        return "flat"
    return "unknown"


DESCRIPTIONS = {
    "problem+json": "an RFC 7807 problem+json body",
    "non-JSON": "a non-JSON body",
    "empty": "an empty body",
    "detail": 'a {"detail": ...} body (FastAPI style)',
    "flat": "a flat error object without the 'error' wrapper",
}


def _type_name(value: Any) -> str:
    return "null" if value is None else {str: "string", bool: "boolean", int: "integer", float: "number"}.get(
        type(value), type(value).__name__)


def _names(error: dict[str, Any], wanted: str | list[str]) -> bool:
    """True when the error's ``param`` is (or is inside) one of ``wanted``, or its message names one
    as a whole token (OpenAI quotes it: "Unsupported parameter: 'stop' ...")."""
    options = [wanted] if isinstance(wanted, str) else list(wanted)
    param = error.get("param") if isinstance(error.get("param"), str) else ""
    message = error.get("message") if isinstance(error.get("message"), str) else ""
    for option in options:
        if param == option or param.startswith((option + ".", option + "[")):
            return True
        if re.search(rf"(?<![\w.\[-]){re.escape(option)}(?![\w-])", message):
            return True
    return False


@check("error_envelope", needs_success=False)
def error_envelope(ctx: CheckContext, param: str | list[str] | None = None,
                   code: str | list[str] | None = None) -> None:
    """A 4xx/5xx body is ``{"error": {message, type, param, code}}`` with all four keys.

    ``message`` and ``type`` are strings, ``param`` and ``code`` a string or null
    (an integer ``code``, as llama-server sends, is FAIL in every profile);
    problem+json (Prism), ``{"detail": ...}`` (FastAPI) or a flat object are FAIL
    naming the envelope seen. Profile ``openai`` also requires ``application/json``
    and, when given, that the error's ``param`` (or message) names ``param`` (e.g.
    ``messages`` matches ``messages[0].role``) and that ``code`` is ``code``. A 2xx
    answer is not judged here (the ``status`` check reports it).
    """
    exchange = ctx.exchange
    if exchange.status is None or exchange.ok:
        return
    rules = ENVELOPE_RULES.get(ctx.profile, ENVELOPE_RULES["compat"])
    kind = envelope_kind(exchange)
    evidence: dict[str, Any] = {"status": exchange.status, "envelope": kind, "body": exchange.excerpt(300)}
    if kind != "openai":
        description = DESCRIPTIONS.get(kind, f"a body whose 'error' is not an object ({kind})")
        raise CheckFailure(f"{exchange.status} answered {description}, not the OpenAI error envelope: "
                           f"{exchange.excerpt(160)}", evidence, absent(["error"], only=False))
    error = exchange.json["error"]
    missing = [key for key in ENVELOPE_KEYS if key not in error]
    problems = [f"error.{key} is missing" for key in missing]
    for key, allowed in rules["key_types"].items():
        if key in error and not isinstance(error[key], allowed):
            wanted = "string or null" if type(None) in allowed else "string"
            problems.append(f"error.{key} is {_type_name(error[key])} {json.dumps(error[key])[:40]}, expected {wanted}")
    if rules["json_content_type"] and exchange.content_type != "application/json":
        problems.append(f"content type is {exchange.content_type or 'absent'!r}, not application/json")
    if rules["names"] and param is not None and not _names(error, param):
        problems.append(f"the error does not name parameter {param!r} (param: {error.get('param')!r})")
    if rules["names"] and code is not None and error.get("code") not in ([code] if isinstance(code, str) else code):
        problems.append(f"error.code is {error.get('code')!r}, expected {code!r}")
    if problems:
        raise CheckFailure(f"{exchange.status} error envelope: " + "; ".join(problems), evidence,
                           absent(missing, only=len(missing) == len(problems)))
