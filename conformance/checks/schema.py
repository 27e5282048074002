"""The implicit ``schema`` check: every 2xx JSON body against its contract in ``specs/contracts/``.

The contract is chosen from the endpoint and method (``CONTRACTS_BY_ENDPOINT``). Error bodies
belong to the error-envelope check and SSE answers to the stream checks, which validate the
objects embedded in events with ``validate_object``.

Absent fields are reported with the missing-field evidence convention
(``{"missing": [...], "only_missing": bool, ...}``) so the audit can tell an old recording
that lacks a field OpenAI added later (``conformance/history.py``) from a body that is wrong.

Most bodies are valid, or valid but for such fields, so ``validate_object`` asks the fast
checks of ``conformance.streams.fastschema`` first and jsonschema only for the rest.
"""

from __future__ import annotations

from typing import Any, Iterable

from conformance import contracts
from conformance.checks.registry import CheckContext, check
from conformance.exchanges import Exchange
from conformance.history import appeared, first_seen_any_api
from conformance.streams import fastschema
from conformance.verdicts import CheckFailure

# (api, endpoint, method) -> contract name, for 2xx non-stream answers.
CONTRACTS_BY_ENDPOINT = {
    ("chat", "chat/completions", "POST"): "chat.completion",
    ("chat", "chat/completions", "GET"): "list.chat.completions",
    ("chat", "chat/completions/{id}", "GET"): "chat.completion.stored",
    ("chat", "chat/completions/{id}", "POST"): "chat.completion.stored",
    ("chat", "chat/completions/{id}", "DELETE"): "chat.completion.deleted",
    ("chat", "chat/completions/{id}/messages", "GET"): "list.chat.messages",
    ("responses", "responses", "POST"): "response.create",
    ("responses", "responses/{id}", "GET"): "response",
    ("responses", "responses/{id}/cancel", "POST"): "response",
    ("responses", "responses/{id}", "DELETE"): "response.deleted",
    ("responses", "responses/{id}/input_items", "GET"): "list.input_items",
}

# Contract name -> its API (the contracts of both APIs share this module).
API_OF_CONTRACT = {name: api for (api, _, _), name in CONTRACTS_BY_ENDPOINT.items()}

# Field -> the month OpenAI first sent it, in either API: a view of conformance/history.py (the one table
# of late additions, per API), kept for callers that do not know the API.
LATER_FIELDS = first_seen_any_api()

SHOWN = 4  # problems spelled out in a message; the rest are counted


def contract_for(exchange: Exchange) -> str | None:
    """The contract name for a 2xx non-stream answer of ``exchange``, or None when we have none."""
    return CONTRACTS_BY_ENDPOINT.get((exchange.api, exchange.endpoint, exchange.method.upper()))


def _pointer(path: Any) -> str:
    return "/" + "/".join(str(part) for part in path)


def validate_object(profile: str, name: str, instance: Any, limit: int = 100) -> list[dict[str, Any]]:
    """Problems of ``instance`` against contract ``name`` under ``profile`` ([] when valid or no contract).

    Each problem is ``{"path": JSON pointer, "message": str}``; an absent required field also has
    ``"missing": field name``. Non-missing problems come first (they matter more).
    """
    validator = contracts.validator(profile, name)
    if validator is None:
        return []
    # jsonschema is the slow part of the checks, so the exact fast paths go first (tests/test_perf_equivalence.py):
    # a valid body, then a body whose only problem is absent fields (old recordings), then jsonschema
    fast = fastschema.checker(profile, name)
    if fast is not None and fast(instance):
        return []
    return problems_of(fastschema.absent(profile, name, instance) or validator.iter_errors(instance), limit)


def problems_of(errors: Iterable[Any], limit: int = 100) -> list[dict[str, Any]]:
    """jsonschema's errors (or ``fastschema.Absent`` records standing for its ``required`` ones) as problems."""
    wrong: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for error in errors:
        path = _pointer(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            # jsonschema reports one error per absent name; derive the names from the instance itself
            for field in error.validator_value:
                if field not in error.instance and (path, field) not in seen:
                    seen.add((path, field))
                    missing.append({"path": path, "message": f"missing required field {field!r}", "missing": field})
        else:
            wrong.append({"path": path, "message": error.message if len(error.message) <= 200
                          else error.message[:200] + "..."})
        if len(wrong) + len(missing) >= limit:
            break
    return wrong + missing


def describe(problems: list[dict[str, Any]], shown: int = SHOWN) -> str:
    """The first few problems as ``path: message``, then "and N more"."""
    parts = [f"{p['path']}: {p['message']}" for p in problems[:shown]]
    if len(problems) > shown:
        parts.append(f"and {len(problems) - shown} more")
    return "; ".join(parts)


def evidence(profile: str, name: str, problems: list[dict[str, Any]]) -> dict[str, Any]:
    """Structured evidence of a schema finding, following the missing-field convention."""
    missing = list(dict.fromkeys(p["missing"] for p in problems if "missing" in p))
    return {
        "contract": f"{profile}/{name}",
        "missing": missing,
        "only_missing": bool(missing) and all("missing" in p for p in problems),
        "later": {field: entry.first_seen for field in missing
                  if (entry := appeared(API_OF_CONTRACT.get(name), field)) is not None},
        "errors": problems[:20],
    }


@check("schema", needs_success=False, implicit=True)
def schema(ctx: CheckContext) -> None:
    """A 2xx non-stream body matches the profile's contract for its endpoint (chat.completion, response, lists, deleted objects).

    Error bodies are judged by the error-envelope check and streams by the stream checks; endpoints
    without a contract are not judged.
    """
    exchange = ctx.exchange
    if not exchange.ok or exchange.is_sse:
        return
    name = contract_for(exchange)
    if name is None:
        return
    body = exchange.json
    if not isinstance(body, dict):
        raise CheckFailure(f"{exchange.method} {exchange.path} answered {exchange.status} without a JSON object "
                           f"body (expected {name}): {exchange.excerpt(200)!r}",
                           {"contract": f"{ctx.profile}/{name}", "missing": [], "only_missing": False})
    problems = validate_object(ctx.profile, name, body)
    if problems:
        raise CheckFailure(f"{name} does not match the {ctx.profile} contract: {describe(problems)}",
                           evidence(ctx.profile, name, problems))
