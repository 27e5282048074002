"""The implicit ``schema`` check: every 2xx JSON body against its contract in ``conformance/specs/contracts/``.

The contract comes from the endpoint table of the API model. Error bodies belong to the
error-envelope check and SSE answers to the stream checks. Absent fields are reported as
``Missing`` evidence, so the audit can tell an old recording that lacks a field OpenAI
added later (``conformance/api/history.py``) from a body that is wrong. A body that only lacks
fields its contract marks informational (``x-evidence``: OpenAI does not always send them) gets a
``Note``, never a failure.
"""

from __future__ import annotations

from typing import Any

from conformance.api.contracts import ContractMissing
from conformance.api.history import appeared
from conformance.api.validation import describe, validate_object
from conformance.checks.findings import CheckFailure, HarnessError, Note, absent
from conformance.checks.registry import CheckContext, check


def evidence(profile: str, name: str, api: str | None, problems: list[dict[str, Any]]) -> dict[str, Any]:
    """Structured evidence of a schema finding: the contract, the errors and the first-seen month of absent fields."""
    missing = list(dict.fromkeys(p["missing"] for p in problems if "missing" in p))
    return {
        "contract": f"{profile}/{name}",
        "later": {field: entry.first_seen for field in missing if (entry := appeared(api, field)) is not None},
        "errors": problems[:20],
    }


def missing_of(problems: list[dict[str, Any]]):
    """The Missing evidence of schema problems: the absent fields, whether nothing else is wrong, and which
    absences are informational (a field absent at one place where it is protocol counts as protocol)."""
    missing = [p["missing"] for p in problems if "missing" in p]
    protocol = {p["missing"] for p in problems if "missing" in p and p.get("role") != "informational"}
    return absent(missing, only=all("missing" in p for p in problems),
                  informational=[name for name in missing if name not in protocol],
                  roles=all(p.get("role") for p in problems if "missing" in p))


def only_informational(problems: list[dict[str, Any]]) -> bool:
    """True when every problem is the absence of an informational field."""
    return bool(problems) and all(p.get("role") == "informational" for p in problems)


@check("schema", needs_success=False, implicit=True)
def schema(ctx: CheckContext) -> None:
    """A 2xx non-stream body matches the profile's contract for its endpoint (chat.completion, response, lists, deleted objects).

    Error bodies are judged by the error-envelope check and streams by the stream checks; requests to
    endpoints the API model does not judge (support endpoints, unknown paths) are not judged here.
    """
    exchange = ctx.exchange
    route = exchange.route
    if not exchange.ok or exchange.is_sse or route is None or not route.judged:
        return
    name = route.contract
    body = exchange.json
    if not isinstance(body, dict):
        raise CheckFailure(f"{exchange.method} {exchange.path} answered {exchange.status} without a JSON object "
                           f"body (expected {name}): {exchange.excerpt(200)!r}", {"contract": f"{ctx.profile}/{name}"},
                           root=True)
    try:
        problems = validate_object(ctx.profile, name, body)
    except ContractMissing as exc:
        raise HarnessError(f"cannot judge the body: {exc}")
    if only_informational(problems):
        names = ", ".join(dict.fromkeys(p["missing"] for p in problems))
        raise Note(f"{name} lacks informational fields OpenAI does not always send ({names}): not a failure; "
                   f"{describe(problems)}", evidence(ctx.profile, name, route.api, problems), missing_of(problems))
    if problems:
        raise CheckFailure(f"{name} does not match the {ctx.profile} contract: {describe(problems)}",
                           evidence(ctx.profile, name, route.api, problems), missing_of(problems))
