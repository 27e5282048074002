"""HTTP-level checks: the status a step was expected to answer with."""

from __future__ import annotations

from typing import Any

from conformance.checks.findings import CheckFailure, HarnessError, Ignored, Unsupported
from conformance.checks.registry import CheckContext, check
from conformance.transport.exchange import DEADLINE, NEVER_CONNECTED, TOO_LARGE, Exchange


# Transport errors (exception class names) that mean the server dropped an accepted request.
DROPPED = ("RemoteProtocolError", "ReadError", "IncompleteRead")


def status_matches(status: int, expected: Any) -> bool:
    """True when ``status`` is what ``expected`` (int, list of ints, '2xx' or '4xx') allows."""
    if isinstance(expected, list):
        return status in expected
    if expected in ("2xx", "4xx"):
        return status // 100 == int(expected[0])
    return status == expected


def error_message(body: Any) -> str:
    """The message of an error body, whatever its envelope."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        for key in ("message", "detail", "error", "title"):
            if body.get(key):
                return str(body[key])
    return ""


def path_ids(exchange: Exchange) -> list[str]:
    """The ids in a request's path: the segments its endpoint template leaves as ``{...}``."""
    if exchange.route is None:
        return []
    template = exchange.route.template.split("/")
    segments = [part for part in exchange.path.split("/") if part]
    tail = segments[-len(template):] if len(segments) >= len(template) else []
    return [value for value, part in zip(tail, template) if part.startswith("{")]


def missing_route(exchange: Exchange) -> bool:
    """True when a 404/405 says the endpoint itself does not exist, not that an object or model was not found.

    OpenAI answers a missing model with ``model_not_found`` (404 on chat) and a missing object with a message
    naming its id or an id ``param`` (``completion_id``); a server without the route answers a bare "Not
    Found" that names neither. A 405 is a method the route does not offer.
    """
    if exchange.status == 405:
        return True
    if exchange.status != 404:
        return False
    body = exchange.json
    message = error_message(body).lower()
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    param = error.get("param") if isinstance(error.get("param"), str) else ""
    code = error.get("code") if isinstance(error.get("code"), str) else ""
    about_model = param == "model" or "model" in code or "model" in message
    about_object = param.endswith("id") or any(found.lower() in message for found in path_ids(exchange))
    return not (about_model or about_object)


@check("status", needs_success=False)
def status(ctx: CheckContext, code: Any = "2xx") -> None:
    """The step answered with the expected status (the root cause of a cell when it did not).

    When success (2xx) was expected: a 4xx is an explicit rejection (unsupported), a 5xx a failure.
    When a 4xx rejection was expected (a request of the other API, a bad input): a 2xx means the server
    accepted what it should have refused (ignored), a 5xx is a failure. Whatever was expected: a 404/405
    because the route does not exist is unsupported (the endpoint is absent); 401/403 is an error of the
    setup (the key); no answer within the deadline, or an answer over the size limit, is a failure; a
    connection that was never made, or a replay with no matching recording, is an error.
    """
    exchange = ctx.exchange
    error = exchange.transport_error or ""
    if error.startswith((DEADLINE, TOO_LARGE)):
        raise CheckFailure(f"{exchange.method} {exchange.path}: {error}", {"transport": error}, root=True)
    if exchange.status is None:
        if error.startswith(DROPPED):
            # connections are never reused, so this is the server hanging up on a request it accepted
            raise CheckFailure(f"the server closed the connection without a complete answer: {error}", root=True)
        if error.startswith("ReadTimeout"):
            raise CheckFailure(f"no answer within the read timeout: {error}", root=True)
        if error.startswith(NEVER_CONNECTED):
            raise HarnessError(f"no answer: the connection was never made ({error}); is the server running at "
                               f"this address?", {"setup": "connection"}, root=True)
        raise HarnessError(f"no answer: {error}", root=True)
    got = exchange.status
    message = error_message(exchange.json) or exchange.excerpt(200)
    evidence = {"status": got, "expected": code, "body": exchange.excerpt(400)}
    if got in (401, 403) and not status_matches(got, code):
        raise HarnessError(f"{exchange.method} {exchange.path} answered {got}: the target refused the credentials; "
                           f"check your key (the target's api_key_env, or --api-key-env): {message}",
                           {**evidence, "setup": "credentials"}, root=True)
    if missing_route(exchange):
        raise Unsupported(f"{exchange.method} {exchange.path} answered {got}: the target has no such route, so "
                          f"this endpoint is absent: {message}", evidence, root=True)
    if status_matches(got, code):
        return
    if got >= 500:
        raise CheckFailure(f"{exchange.method} {exchange.path} answered {got} (server error): {message}", evidence,
                           root=True)
    wants_success = code == "2xx" or (isinstance(code, int) and code < 300)
    if wants_success and 400 <= got < 500:
        raise Unsupported(f"rejected with {got}: {message}", evidence, root=True)
    if not wants_success and 200 <= got < 300:
        raise Ignored(f"expected a {code} rejection, but the request was accepted with {got}", evidence, root=True)
    raise CheckFailure(f"expected status {code}, got {got}: {message}", evidence, root=True)
