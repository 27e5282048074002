"""HTTP-level checks: the status a step was expected to answer with."""

from __future__ import annotations

from typing import Any

from conformance.checks.findings import CheckFailure, HarnessError, Ignored, Unsupported
from conformance.checks.registry import CheckContext, check


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


@check("status", needs_success=False)
def status(ctx: CheckContext, code: Any = "2xx") -> None:
    """The step answered with the expected status.

    When success (2xx) was expected: a 4xx is an explicit rejection (unsupported),
    a 5xx a failure. When a 4xx rejection was expected (a request of the other API,
    a bad input): a 2xx means the server accepted what it should have refused
    (ignored), a 5xx is a failure.
    """
    exchange = ctx.exchange
    if exchange.status is None:
        if (exchange.transport_error or "").startswith(DROPPED):
            # connections are never reused, so this is the server hanging up on a request it accepted
            raise CheckFailure(f"the server closed the connection without a complete answer: {exchange.transport_error}")
        raise HarnessError(f"no answer: {exchange.transport_error}")
    got = exchange.status
    if status_matches(got, code):
        return
    message = error_message(exchange.json) or exchange.excerpt(200)
    evidence = {"status": got, "expected": code, "body": exchange.excerpt(400)}
    if got >= 500:
        raise CheckFailure(f"{exchange.method} {exchange.path} answered {got} (server error): {message}", evidence)
    wants_success = code == "2xx" or (isinstance(code, int) and code < 300)
    if wants_success and 400 <= got < 500:
        raise Unsupported(f"rejected with {got}: {message}", evidence)
    if not wants_success and 200 <= got < 300:
        raise Ignored(f"expected a {code} rejection, but the request was accepted with {got}", evidence)
    raise CheckFailure(f"expected status {code}, got {got}: {message}", evidence)
