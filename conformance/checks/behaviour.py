"""Behavioural probes: what an answer means, not only its shape.

Output probes judge the generated result (JSON output, tool calls, text, usage,
finish class); state probes judge several steps of one case together (a stored
object can be fetched, a deleted one is gone, a chained turn recalls the first).

Verdicts follow deviations.md: FAIL when the feature works but the result is
wrong; IGNORED when the server answered 2xx yet the requested behaviour is
absent (format, tools, storage, chaining silently dropped); UNSUPPORTED when a
4xx is the evidence that the feature is not offered.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from conformance.api.arguments import clip, parse_object
from conformance.api.endpoints import endpoint
from conformance.api.vocabulary import USAGE_NAMES
from conformance.checks.findings import CheckFailure, HarnessError, Ignored, Unsupported, absent
from conformance.checks.http import error_message, missing_route
from conformance.checks.registry import CheckContext, check
from conformance.observations.observation import finish_class, json_texts, result_object
from conformance.transport.exchange import Exchange

# Usage field names per API, from the documented-shape table: (input, output, total, reasoning details)
USAGE_FIELDS = {api: (names["input"], names["output"], names["total"], names["output_details"])
                for api, names in USAGE_NAMES.items()}


# ---------------------------------------------------------------- helpers


def summarize(problems: list[str], limit: int = 3) -> str:
    """The first few problems joined, with a count of the rest."""
    head = "; ".join(problems[:limit])
    return head + (f"; and {len(problems) - limit} more" if len(problems) > limit else "")


def schema_problems(instance: Any, schema: dict[str, Any], source: str = "the case's JSON Schema") -> list[str]:
    """Validation errors of ``instance`` against a case-supplied JSON Schema, as short strings.

    ``source`` names the schema in the ERROR raised when it is not a valid JSON Schema.
    """
    validator, invalid = _case_validator(schema)
    if invalid is not None:
        raise HarnessError(f"{source} is invalid: {invalid}")
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


_CASE_VALIDATORS: dict[str, tuple[Any, str | None]] = {}  # repr of a schema -> its validator


def _case_validator(schema: dict[str, Any]) -> tuple[Any, str | None]:
    """(a validator for one case-supplied schema, None), or (None, why the schema is invalid). Checked against
    its metaschema once per distinct schema: that check costs more than validating an answer, and a run asks
    for the same few schemas on every cell. Keyed by ``repr``, which tells apart what YAML can build and JSON
    text would not (``1`` from ``"1"`` as a key, a date from a string)."""
    key = repr(schema)
    found = _CASE_VALIDATORS.get(key)
    if found is None:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        try:
            cls.check_schema(schema)
            found = (cls(schema), None)
        except jsonschema.SchemaError as exc:
            found = (None, exc.message)
        if len(_CASE_VALIDATORS) < 256:
            _CASE_VALIDATORS[key] = found
    return found


def declared_parameters(request: Any, api: str, name: str) -> dict[str, Any] | None:
    """The ``parameters`` schema of function ``name`` in the request's ``tools`` (chat nests it under
    ``function``; Responses' function tools are flat), or None when the request declares none."""
    tools = request.get("tools") if isinstance(request, dict) else None
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, dict) or tool.get("type") != "function":
            continue
        function = tool.get("function") if api == "chat" else tool
        if isinstance(function, dict) and function.get("name") == name and isinstance(function.get("parameters"), dict):
            return function["parameters"]
    return None


def reasoning_requested(api: str, request: Any) -> str | None:
    """How the request asked for reasoning (chat ``reasoning_effort``, Responses ``reasoning``), or None."""
    request = request if isinstance(request, dict) else {}
    key = "reasoning_effort" if api == "chat" else "reasoning"
    return f"{key}: {json.dumps(request[key])}" if request.get(key) is not None else None


def usage_of(ctx: CheckContext) -> dict[str, Any]:
    """The judged answer's raw ``usage`` object; a failure when it has none."""
    usage = (ctx.body or {}).get("usage")
    if isinstance(usage, dict):
        return usage
    request = ctx.exchange.request_body if isinstance(ctx.exchange.request_body, dict) else {}
    if ctx.api == "chat" and ctx.exchange.is_sse and not (request.get("stream_options") or {}).get("include_usage"):
        raise HarnessError("a chat stream reports usage only with stream_options.include_usage; the case did not ask")
    raise CheckFailure(f"the answer has no usage object (usage: {clip(usage, 60)})",
                       None, absent(["usage"], only=usage is None))


def is_count(value: Any) -> bool:
    """A token count: a non-negative int (bool is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# ---------------------------------------------------------------- output probes


@check("json_output")
def json_output(ctx: CheckContext, schema: dict[str, Any] | None = None) -> None:
    """The output parses as a JSON object and, with ``schema``, validates against it.

    Chat judges ``message.content``; Responses each ``output_text`` part. Free
    text, fenced JSON or an invalid object means the format request was accepted
    and not honoured: IGNORED (deviations row 12), and so is JSON cut off at the
    token limit (finish ``length``): no complete object came within the case's
    budget (the message says so, in case the cap is too low). A refusal with no
    text is an ERROR: the case's prompt, not the server, prevented judging.
    """
    obs = ctx.observation
    texts = json_texts(obs)
    if not texts:
        if obs.refusal:
            raise HarnessError(f"the model refused, so the format cannot be judged: {clip(obs.refusal)}")
        raise Ignored(f"no output text to hold the requested JSON (finish: {obs.finish}, "
                      f"tool calls: {len(obs.tool_calls)})", {"texts": 0})
    problems = []
    for i, text in enumerate(texts):
        where = "" if len(texts) == 1 else f"output text part {i}: "
        value, why = parse_object(text)
        if value is None:
            problems.append(f"{where}the output {why}")
        elif schema is not None:
            problems += [f"{where}{p}" for p in schema_problems(value, schema)]
    truncated = obs.finish == "length" and any(text.lstrip().startswith("{") for text in texts)
    if problems and truncated:
        raise Ignored(f"no complete JSON object within the token limit (finish length; raise the case's cap if it "
                      f"is too low for its prompt): {summarize(problems)}", {"problems": problems[:10]})
    if problems:
        raise Ignored(f"the output does not honour the requested JSON format: {summarize(problems)}",
                      {"problems": problems[:10], "excerpt": clip(texts[0], 300)})


@check("tool_called")
def tool_called(ctx: CheckContext, name: str, parameters: dict[str, Any] | None = None, min_calls: int = 1) -> None:
    """The answer calls function ``name`` (at least ``min_calls`` times) with arguments that are a
    JSON-object string.

    Arguments given as an object (not a string), not JSON, or invalid under
    ``parameters`` are FAIL (deviations row 15); so is a call without its id
    (chat ``tool_calls[].id``, Responses ``call_id``) or, on chat, a finish
    reason other than ``tool_calls`` (or ``stop``, which OpenAI sends for a named
    ``tool_choice``). Without ``parameters`` the arguments are judged against
    the judged request's own definition of ``name`` (chat
    ``tools[].function.parameters``, Responses ``tools[].parameters``), so the
    check is never looser than the tool the case sent. A 2xx with no tool call
    at all is IGNORED, and so are fewer than ``min_calls`` well-formed calls
    (parallel calls requested, not made).
    """
    obs = ctx.observation
    if not obs.tool_calls:
        hint = " (a tool call seems to be written as text)" if "tool_call" in (obs.text or "") else ""
        raise Ignored(f"tools were accepted but no function was called{hint}; text: {clip(obs.text)}",
                      {"finish": obs.finish})
    calls = [call for call in obs.tool_calls if call.name == name]
    if not calls:
        raise CheckFailure(f"expected a call of {name!r}, got calls of {[c.name for c in obs.tool_calls]}")
    source = "the case's JSON Schema"
    if parameters is None:
        parameters = declared_parameters(ctx.exchange.request_body, obs.api, name)
        source = f"the request's parameters schema of tool {name!r}"
    problems: list[str] = []
    missing: list[str] = []
    id_field = "id" if obs.api == "chat" else "call_id"
    for i, call in enumerate(calls):
        label = f"call {i} of {name!r}"
        if not (isinstance(call.call_id, str) and call.call_id):
            missing.append(id_field)
            problems.append(f"{label} has no {id_field}")
        arguments, why = parse_object(call.arguments)
        if arguments is None:
            problems.append(f"{label}: arguments {why}")
        elif parameters is not None:
            problems += [f"{label}: arguments {p}" for p in schema_problems(arguments, parameters, source)]
    if obs.api == "chat" and obs.finish not in ("tool_calls", "stop"):
        problems.append(f"finish_reason is {obs.finish!r}, expected 'tool_calls'")
    if problems:
        raise CheckFailure(summarize(problems), {"problems": problems[:10]},
                           absent(sorted(set(missing)), only=len(missing) == len(problems)))
    if len(calls) < min_calls:
        raise Ignored(f"{len(calls)} call(s) of {name!r}, expected at least {min_calls}", {"calls": len(calls)})


@check("text_contains")
def text_contains(ctx: CheckContext, value: str | list[str], ignore_case: bool = True) -> None:
    """The output text (chat ``content``; Responses' derived ``output_text``) contains ``value``, or any
    one of a list of values (synonyms, e.g. ``[red, crimson]`` for a vision answer).

    Absent, the answer did not do what the case asked (an instruction not followed, an image not read):
    IGNORED, like every behavioural check whose behaviour is absent after a 2xx."""
    wanted = [value] if isinstance(value, str) else value
    if not isinstance(wanted, list) or not wanted or not all(isinstance(v, str) and v for v in wanted):
        raise HarnessError(f"text_contains needs a non-empty string or list of strings, got {value!r}")
    text = ctx.observation.text or ""
    haystack = text.lower() if ignore_case else text
    if not any((v.lower() if ignore_case else v) in haystack for v in wanted):
        expected = repr(wanted[0]) if len(wanted) == 1 else "any of " + ", ".join(map(repr, wanted))
        raise Ignored(f"the output text does not contain {expected}: {clip(text)}", {"values": wanted})


@check("text_nonempty")
def text_nonempty(ctx: CheckContext) -> None:
    """The answer has non-blank output text, or a refusal."""
    obs = ctx.observation
    if not (obs.text or "").strip() and not (obs.refusal or "").strip():
        raise CheckFailure(f"the answer has no output text and no refusal (finish: {obs.finish}, "
                           f"tool calls: {len(obs.tool_calls)})", {"text": obs.text})


@check("finish")
def finish(ctx: CheckContext, value: str | list[str]) -> None:
    """The API-neutral finish class (stop, length, tool_calls, content_filter...) is ``value``.

    Responses' class is derived from ``status``/``incomplete_details``; chat's
    ``stop`` with calls for a named ``tool_choice`` counts as ``tool_calls``.
    """
    allowed = [value] if isinstance(value, str) else list(value)
    got = finish_class(ctx.observation, ctx.exchange.request_body)
    if got not in allowed:
        raise CheckFailure(f"finish class is {got!r}, expected {' or '.join(map(repr, allowed))}",
                           {"finish": got, "expected": allowed})


@check("single_choice", apis=("chat",))
def single_choice(ctx: CheckContext) -> None:
    """Chat answers exactly ``n`` choices: one when ``n`` is 1 or absent (deviations row 22)."""
    request = ctx.exchange.request_body if isinstance(ctx.exchange.request_body, dict) else {}
    expected = request.get("n") or 1
    got = ctx.observation.choices
    if got != expected:
        raise CheckFailure(f"{got} choices for n={expected}", {"choices": got, "expected": expected})


# ---------------------------------------------------------------- usage and reasoning


@check("usage_plausible")
def usage_plausible(ctx: CheckContext) -> None:
    """Token counts are plausible: input > 0 for a prompt, output > 0 when something was produced.
    All-zero usage (aimock) is FAIL. (The arithmetic total = input + output is ``usage_fields``'s.)"""
    usage = usage_of(ctx)
    in_name, out_name, total_name, _ = USAGE_FIELDS[ctx.api]
    obs = ctx.observation
    request = ctx.exchange.request_body if isinstance(ctx.exchange.request_body, dict) else {}
    problems, missing = [], []
    counts = {key: usage.get(key) for key in (in_name, out_name, total_name)}
    for key, value in counts.items():
        if key not in usage:
            missing.append(key)
        elif not is_count(value):
            problems.append(f"{key} is {value!r}, not a token count")
    has_prompt = any(request.get(key) for key in ("messages", "input", "instructions", "previous_response_id"))
    if has_prompt and is_count(counts[in_name]) and counts[in_name] == 0:
        problems.append(f"{in_name} is 0 for a non-empty prompt")
    produced = bool((obs.text or "").strip() or obs.tool_calls or obs.refusal)
    if produced and is_count(counts[out_name]) and counts[out_name] == 0:
        problems.append(f"{out_name} is 0 although output was produced")
    if problems or missing:
        message = summarize(problems + [f"{key} is missing" for key in missing])
        raise CheckFailure(f"implausible usage: {message}", {"usage": counts}, absent(missing, only=not problems))


@check("reasoning_usage")
def reasoning_usage(ctx: CheckContext) -> None:
    """Reasoning tokens are accounted: ``usage.output_tokens_details.reasoning_tokens`` (Responses)
    or ``usage.completion_tokens_details.reasoning_tokens`` (chat) is an integer <= output tokens.

    No accounting at all (the details object or its ``reasoning_tokens`` absent
    or null) in a 2xx to a request that asked for reasoning (chat
    ``reasoning_effort``, Responses ``reasoning``) means the request was accepted
    and the behaviour is absent: IGNORED; without such a request it is FAIL.
    Wrong types, and reasoning tokens above the output tokens, are FAIL.
    """
    usage = usage_of(ctx)
    _, out_name, _, details_name = USAGE_FIELDS[ctx.api]
    asked = reasoning_requested(ctx.api, ctx.exchange.request_body)

    def unaccounted(what: str, missing: str) -> CheckFailure:
        if asked:
            return Ignored(f"reasoning was requested ({asked}) and accepted, but {what}: no reasoning-token "
                           f"accounting", None, absent([missing]))
        return CheckFailure(what, None, absent([missing]))

    details = usage.get(details_name)
    if details is None:
        raise unaccounted(f"usage has no {details_name}", details_name)
    if not isinstance(details, dict):
        raise CheckFailure(f"usage.{details_name} is {clip(details, 60)}, not an object")
    if details.get("reasoning_tokens") is None:
        raise unaccounted(f"usage.{details_name} has no reasoning_tokens", "reasoning_tokens")
    tokens, output = details["reasoning_tokens"], usage.get(out_name)
    if not is_count(tokens):
        raise CheckFailure(f"reasoning_tokens is {tokens!r}, not a token count")
    if is_count(output) and tokens > output:
        raise CheckFailure(f"reasoning_tokens {tokens} exceeds {out_name} {output}",
                           {"reasoning_tokens": tokens, out_name: output})


@check("reasoning_items", apis=("responses",))
def reasoning_items(ctx: CheckContext, min: int = 1) -> None:  # noqa: A002  (the YAML parameter name)
    """The Responses output holds at least ``min`` ``reasoning`` items, each with a ``summary`` list.

    None at all is IGNORED (reasoning requested, nothing returned; gateways drop
    these items, deviations row 22); a malformed item is FAIL.
    """
    items = [item for item in (ctx.body or {}).get("output") or [] if isinstance(item, dict)]
    reasoning = [item for item in items if item.get("type") == "reasoning"]
    bad = [i for i, item in enumerate(reasoning) if not isinstance(item.get("summary"), list)]
    if bad:
        only_absent = all("summary" not in reasoning[i] for i in bad)
        raise CheckFailure(f"reasoning item(s) {bad} have no summary list", None,
                           absent(["summary"] if only_absent else []))
    if len(reasoning) < min:
        raise Ignored(f"{len(reasoning)} reasoning item(s), expected at least {min} "
                      f"(output item types: {[item.get('type') for item in items]})")


# ---------------------------------------------------------------- state probes


def created_id(ctx: CheckContext, of: str) -> str:
    """The id of the object step ``of`` created."""
    created = ctx.get(of)
    if not created.ok:
        raise HarnessError(f"step {of!r} answered {created.status}; there is no object to judge")
    body = result_object(created)
    value = body.get("id") if isinstance(body, dict) else None
    if not isinstance(value, str) or not value:
        raise CheckFailure(f"step {of!r} created an object without an id", None, absent(["id"]))
    return value


def _answered(exchange: Exchange) -> int:
    if exchange.status is None:
        raise HarnessError(f"no answer to {exchange.method} {exchange.path}: {exchange.transport_error}")
    return exchange.status


def lookup_404(exchange: Exchange, object_id: str) -> bool:
    """True when the answer is a 404 from an object lookup, not from a missing route: an error whose
    message names ``object_id`` or whose ``param`` is an id parameter. OpenAI answers both ways
    ("Response with id '…' not found."; ``param: completion_id``); servers without the route answer a
    bare "Not found" (aimock) or "File Not Found" (llama-server). The envelope's shape is
    ``error_envelope``'s business, not this one's."""
    return exchange.status == 404 and (object_id in error_message(exchange.json) or not missing_route(exchange))


@check("retrievable", needs_success=False)
def retrievable(ctx: CheckContext, of: str) -> None:
    """The judged GET returns the object step ``of`` created (same ``id``).

    A 404 from an object lookup (a JSON error naming the id, or with an id
    ``param``) is IGNORED: the store was accepted but nothing was kept
    (deviations row 1). Any other 4xx, including
    a bare 404 from a server without the route, is UNSUPPORTED (deviations
    §2.1, §2.2); 5xx is FAIL. The runner polls eventually consistent
    stored chat completions; only the final answer is judged.
    """
    object_id = created_id(ctx, of)
    fetched = ctx.exchange
    status = _answered(fetched)
    evidence = {"status": status, "id": object_id, "body": fetched.excerpt(300)}
    if 200 <= status < 300:
        body = result_object(fetched)
        got = body.get("id") if isinstance(body, dict) else None
        if got != object_id:
            raise CheckFailure(f"GET returned a different object: id {got!r}, created {object_id!r}", evidence)
        return
    message = error_message(fetched.json) or fetched.excerpt(120)
    if lookup_404(fetched, object_id):
        raise Ignored(f"step {of!r} was accepted, but its object is not retrievable (404: {message})", evidence)
    if 400 <= status < 500:
        raise Unsupported(f"retrieval rejected with {status}: {message}", evidence)
    raise CheckFailure(f"retrieval answered {status}: {message}", evidence)


@check("not_retrievable", needs_success=False)
def not_retrievable(ctx: CheckContext, of: str) -> None:
    """GET of step ``of``'s object answers an object-lookup 404 (a JSON error naming the id, or
    with an id ``param``): after ``store: false``, or after a DELETE.

    200 is IGNORED (``store: false`` accepted, the object stored anyway), or FAIL
    when an earlier step of the case deleted the object with a 2xx (the delete
    did not delete). Any other 4xx, including a bare 404 from a server without
    the route, is UNSUPPORTED: retrieval is not offered, so storage cannot be
    judged. 5xx is FAIL. The error body's details are ``error_envelope``'s job.
    """
    object_id = created_id(ctx, of)
    fetched = ctx.exchange
    status = _answered(fetched)
    evidence = {"status": status, "id": object_id, "body": fetched.excerpt(300)}
    if lookup_404(fetched, object_id):
        return
    if 200 <= status < 300:
        removed = [name for name, ex in ctx.exchanges.items()
                   if ex.method == "DELETE" and ex.ok and object_id in ex.url]
        if removed:
            raise CheckFailure(f"step {removed[0]!r} deleted the object, but GET still answers {status}", evidence)
        request = ctx.get(of).request_body if isinstance(ctx.get(of).request_body, dict) else {}
        store = json.dumps(request["store"]) if "store" in request else "(absent)"
        raise Ignored(f"the object was created with store: {store} but GET answered {status}", evidence)
    message = error_message(fetched.json) or fetched.excerpt(120)
    if 400 <= status < 500:
        why = " (not an object lookup: no id named)" if status == 404 else ""
        raise Unsupported(f"retrieval rejected with {status}{why}: {message}", evidence)
    raise CheckFailure(f"retrieval answered {status}: {message}", evidence)


@check("deleted", needs_success=False)
def deleted(ctx: CheckContext, of: str) -> None:
    """The judged DELETE answers ``{id: <of's id>, object: "response.deleted" | "chat.completion.deleted",
    deleted: true}``.

    404 is UNSUPPORTED (deletion not offered, or the object was never kept, which
    ``retrievable`` judges) unless an earlier step of the case fetched the same
    object: then the object existed and the 404 is FAIL. Other 4xx UNSUPPORTED,
    5xx FAIL.
    """
    object_id = created_id(ctx, of)
    answer = ctx.exchange
    status = _answered(answer)
    evidence: dict[str, Any] = {"status": status, "id": object_id, "body": answer.excerpt(300)}
    if 200 <= status < 300:
        body = answer.json if isinstance(answer.json, dict) else {}
        expected = {"id": object_id, "object": endpoint(ctx.api, "delete").object, "deleted": True}
        wrong = {k: body.get(k) for k, v in expected.items() if body.get(k) != v}
        if wrong:
            missing = [k for k in wrong if k not in body]
            raise CheckFailure(f"DELETE answered {clip(wrong, 160)}, expected {expected}", evidence,
                               absent(missing, only=len(missing) == len(wrong)))
        return
    message = error_message(answer.json) or answer.excerpt(120)
    if status == 404:
        fetched = [name for name, ex in ctx.exchanges.items()
                   if ex is not answer and ex.method == "GET" and ex.ok and isinstance(ex.json, dict)
                   and ex.json.get("id") == object_id]
        if fetched:
            raise CheckFailure(f"step {fetched[0]!r} retrieved the object, but DELETE answered 404: {message}",
                               evidence)
    if 400 <= status < 500:
        raise Unsupported(f"DELETE rejected with {status}: {message}", evidence)
    raise CheckFailure(f"DELETE answered {status}: {message}", evidence)


@check("recalls")
def recalls(ctx: CheckContext, value: str, ignore_case: bool = True) -> None:
    """A chained turn's output text contains ``value`` planted in the earlier turn.

    Absent means ``previous_response_id`` was accepted but the earlier context was
    not replayed: IGNORED (deviations row 2).
    """
    text = ctx.observation.text or ""
    found = value.lower() in text.lower() if ignore_case else value in text
    if not found:
        raise Ignored(f"the earlier turn was not recalled: {value!r} is not in {clip(text)}")


@check("instructions_not_carried", apis=("responses",))
def instructions_not_carried(ctx: CheckContext, of: str) -> None:
    """A turn chained with ``previous_response_id`` does not inherit step ``of``'s ``instructions``.

    The documented rule: instructions are not carried over. The chained answer
    must first show the chain was honoured: its ``previous_response_id`` is
    step ``of``'s id (absent or another id: the parameter was accepted but the
    answer does not show it honoured, IGNORED; a server may still apply the
    chain without echoing it, which the recall cases judge), and it carries
    an ``instructions`` field (null is fine; absent is FAIL, as without it nothing shows what the turn ran
    under). Its ``instructions`` must be what the chained request sent (null
    when it sent none); equal to the earlier turn's is FAIL.
    """
    earlier_id = created_id(ctx, of)
    earlier = result_object(ctx.get(of)) or {}
    earlier_request = ctx.get(of).request_body if isinstance(ctx.get(of).request_body, dict) else {}
    carried = earlier.get("instructions") or earlier_request.get("instructions")
    request = ctx.exchange.request_body if isinstance(ctx.exchange.request_body, dict) else {}
    if not carried:
        raise HarnessError(f"step {of!r} had no instructions, so carrying them over cannot be judged")
    if not request.get("previous_response_id"):
        raise HarnessError("the judged step is not chained with previous_response_id")
    body = ctx.body or {}
    linked = body.get("previous_response_id")
    if linked != earlier_id:
        shown = "absent" if "previous_response_id" not in body else repr(linked)
        raise Ignored(f"previous_response_id accepted but not shown honoured: the chained answer's "
                      f"previous_response_id is {shown}, not step {of!r}'s id {earlier_id!r} (whether the earlier "
                      f"turn was applied is what the recall cases show; what this turn ran under is not shown)",
                      {"previous_response_id": linked, "expected": earlier_id})
    if "instructions" not in body:
        raise CheckFailure("the chained answer has no instructions field, so what the turn ran under is not shown",
                           None, absent(["instructions"]))
    got = body["instructions"]
    if got == carried and request.get("instructions") != carried:
        raise CheckFailure(f"the chained answer carries step {of!r}'s instructions {clip(carried, 80)}",
                           {"instructions": clip(got, 200)})
