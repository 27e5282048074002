"""The documented shape differences between the two APIs, as implicit named checks.

Each runs on every 2xx answer and decides itself whether it applies:
  object_value, output_container  non-stream answers only (a reassembled stream has a made-up
                                  container; chunks and events belong to the stream checks)
  id_prefix, usage_fields,        non-stream answers and, through ``ctx.body``, the object a stream
  arguments_string,               reassembles to (ids, usage and arguments there come straight from
  output_text_derived             the wire)
"""

from __future__ import annotations

from typing import Any

from conformance.api.arguments import NOT_ALWAYS_JSON, parse_object, strict_tool
from conformance.api.endpoints import other_api
from conformance.api.vocabulary import (CALL_ID_ITEMS, CALL_ID_PREFIX, CHAT_ID_PREFIX, ITEM_ID_PREFIXES,
                                        RESPONSE_ID_PREFIX, USAGE_NAMES)
from conformance.checks.findings import CheckFailure, Note, absent
from conformance.checks.registry import CheckContext, check
from conformance.observations.observation import output_text

SHOWN = 3  # problems spelled out in a message


def _plain_body(ctx: CheckContext) -> dict[str, Any] | None:
    """The JSON object of a non-stream answer (None for streams and non-objects)."""
    exchange = ctx.exchange
    if exchange.is_sse:
        return None
    body = exchange.json
    return body if isinstance(body, dict) else None


def _result_body(ctx: CheckContext) -> dict[str, Any] | None:
    """The generation result of a create/retrieve answer: the JSON body or the reassembled stream."""
    route = ctx.exchange.route
    if route is None or not route.result:
        return None
    body = ctx.body
    return body if isinstance(body, dict) else None


def _summary(problems: list[str]) -> str:
    shown = "; ".join(problems[:SHOWN])
    return shown + (f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else "")


@check("object_value", implicit=True)
def object_value(ctx: CheckContext) -> None:
    """The body's ``object`` is the documented value for its endpoint (chat.completion, response, *.deleted, list).

    Non-stream answers only: chunk and event objects are the stream checks' business.
    """
    route = ctx.exchange.route
    expected = route.object if route else None
    body = _plain_body(ctx)
    if expected is None or body is None:
        return
    got = body.get("object")
    if got == expected:
        return
    if "object" not in body:
        raise CheckFailure(f"no `object` field (expected {expected!r})", {"expected": expected}, absent(["object"]))
    raise CheckFailure(f"`object` is {got!r}, expected {expected!r}", {"expected": expected, "got": got})


def _dicts(value: Any) -> list[tuple[int, dict[str, Any]]]:
    """(index, entry) for the dict entries of a list; [] for anything else."""
    return [(i, v) for i, v in enumerate(value) if isinstance(v, dict)] if isinstance(value, list) else []


def _chat_ids(body: dict[str, Any], list_items: bool) -> list[str]:
    """Prefix problems of a chat body (or of each item of a chat list page)."""
    problems = []
    objects = _dicts(body.get("data")) if list_items else [(0, body)]
    for index, obj in objects:
        where = f"data[{index}].id" if list_items else "id"
        if isinstance(obj.get("id"), str) and not obj["id"].startswith(CHAT_ID_PREFIX):
            problems.append(f"{where} {obj['id']!r} lacks {CHAT_ID_PREFIX!r}")
        for c, choice in _dicts(obj.get("choices")):
            message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
            for t, call in _dicts(message.get("tool_calls")):
                if isinstance(call.get("id"), str) and not call["id"].startswith(CALL_ID_PREFIX):
                    problems.append(f"choices[{c}].message.tool_calls[{t}].id {call['id']!r} lacks "
                                    f"{CALL_ID_PREFIX!r}")
    return problems


def _item_ids(items: Any, where: str) -> list[str]:
    """Prefix problems of Responses items (output or input_items data)."""
    problems = []
    for index, item in _dicts(items):
        kind = item.get("type")
        prefix = ITEM_ID_PREFIXES.get(kind)
        item_id = item.get("id")
        if prefix and isinstance(item_id, str) and not item_id.startswith(prefix):
            problems.append(f"{where}[{index}] ({kind}) id {item_id!r} lacks {prefix!r}")
        call_id = item.get("call_id")
        if kind in CALL_ID_ITEMS and isinstance(call_id, str) and not call_id.startswith(CALL_ID_PREFIX):
            problems.append(f"{where}[{index}] ({kind}) call_id {call_id!r} lacks {CALL_ID_PREFIX!r}")
    return problems


@check("id_prefix", implicit=True)
def id_prefix(ctx: CheckContext) -> None:
    """Ids carry OpenAI's prefixes: chatcmpl-, resp_, call_, and per item type msg_, fc_, rs_, ws_, ... (openai profile only).

    Prefixes are not in the spec: other profiles never fail. Absent ids are the schema check's business.
    """
    if ctx.profile != "openai":
        return
    route = ctx.exchange.route
    body = _result_body(ctx) or _plain_body(ctx)
    if body is None or route is None:
        return
    problems: list[str] = []
    if route.api == "chat":
        problems = _chat_ids(body, list_items=route.role in ("list", "list_items"))
    elif route.api == "responses" and route.result:
        if isinstance(body.get("id"), str) and not body["id"].startswith(RESPONSE_ID_PREFIX):
            problems.append(f"id {body['id']!r} lacks {RESPONSE_ID_PREFIX!r}")
        problems += _item_ids(body.get("output"), "output")
    elif route.api == "responses" and route.role == "list_items":
        problems = _item_ids(body.get("data"), "data")
    if problems:
        raise CheckFailure(f"ids without OpenAI's prefix: {_summary(problems)}", {"problems": problems})


@check("output_container", implicit=True)
def output_container(ctx: CheckContext) -> None:
    """Chat answers hold ``choices`` and no ``output``; Responses answers hold an ``output`` list of typed items and no ``choices``.

    Non-stream create/retrieve answers only.
    """
    body = _plain_body(ctx)
    route = ctx.exchange.route
    if body is None or route is None or not route.result:
        return
    api = route.api
    own, other = ("choices", "output") if api == "chat" else ("output", "choices")
    problems = []
    if other in body:
        problems.append(f"has `{other}`, the other API's container")
    if own not in body:
        problems.append(f"no `{own}`")
    elif not isinstance(body[own], list):
        problems.append(f"`{own}` is {type(body[own]).__name__}, not a list")
    elif api == "responses":
        untyped = [i for i, item in enumerate(body[own]) if not (isinstance(item, dict)
                                                                 and isinstance(item.get("type"), str))]
        if untyped:
            problems.append(f"output items without a string `type`: {untyped[:5]}")
    if problems:
        raise CheckFailure(f"{api} answer: {'; '.join(problems)}", None,
                           absent([own] if own not in body else [], only=problems == [f"no `{own}`"]), root=True)


@check("usage_fields", implicit=True)
def usage_fields(ctx: CheckContext) -> None:
    """Usage uses its own API's names (prompt/completion_tokens on chat, input/output_tokens on Responses), total = input + output, and reasoning tokens <= output tokens.

    Judges create/retrieve answers and reassembled streams; an absent or null usage is left to the schema check.
    """
    body = _result_body(ctx)
    api = ctx.exchange.api
    usage = body.get("usage") if body else None
    if not isinstance(usage, dict) or api not in USAGE_NAMES:
        return
    own = USAGE_NAMES[api]
    other = USAGE_NAMES[other_api(api)]
    problems = []
    foreign = [name for key, name in other.items() if key != "total" and name in usage]
    if foreign:
        problems.append(f"uses the other API's names {foreign} (expected {own['input']}/{own['output']})")
    missing = [name for name in (own["input"], own["output"], own["total"]) if name not in usage]
    if missing and not foreign:
        problems.append(f"missing {missing}")
    counts = {k: usage.get(own[k]) for k in ("input", "output")}
    total = usage.get(own["total"])
    if all(_is_int(v) for v in (*counts.values(), total)) and counts["input"] + counts["output"] != total:
        problems.append(f"total_tokens {total} != {own['input']} {counts['input']} + {own['output']} "
                        f"{counts['output']}")
    details = usage.get(own["output_details"])
    reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
    if _is_int(reasoning) and _is_int(counts["output"]) and reasoning > counts["output"]:
        problems.append(f"reasoning_tokens {reasoning} > {own['output']} {counts['output']}")
    if problems:
        raise CheckFailure(f"{api} usage: {'; '.join(problems)}", {"usage": usage},
                           absent(missing, only=len(problems) == 1 and not foreign))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@check("arguments_string", implicit=True)
def arguments_string(ctx: CheckContext) -> None:
    """Tool-call arguments are strings holding a JSON object: chat ``tool_calls[].function.arguments`` and Responses ``function_call.arguments`` (an object is a failure).

    Calls cut short (finish_reason length, item status incomplete) are skipped: their arguments may be truncated.
    Under the openai profile, a string that is not a JSON object is a note unless the tool was declared strict:
    OpenAI documents that the model does not always generate valid JSON.
    """
    body = _result_body(ctx)
    if body is None:
        return
    api = ctx.exchange.api
    problems: list[tuple[str, bool]] = []  # (problem, a note only)

    def judge(where: str, name: Any, arguments: Any) -> None:
        _, problem = parse_object(arguments)
        if problem:
            lenient = isinstance(arguments, str) and ctx.profile == "openai" and not strict_tool(
                api, name, ctx.exchange.request_body, body)
            problems.append((f"{where} ({name}) arguments {problem}", lenient))

    if api == "chat":
        for c, choice in _dicts(body.get("choices")):
            if choice.get("finish_reason") == "length":
                continue
            message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
            for t, call in _dicts(message.get("tool_calls")):
                function = call.get("function")
                if not isinstance(function, dict) or "arguments" not in function:
                    continue  # custom tool calls carry `input`; absence is the schema check's business
                judge(f"choices[{c}].message.tool_calls[{t}]", function.get("name"), function["arguments"])
    else:
        for i, item in _dicts(body.get("output")):
            if item.get("type") != "function_call" or "arguments" not in item:
                continue
            if item.get("status") in ("incomplete", "in_progress"):
                continue
            judge(f"output[{i}] function_call", item.get("name"), item["arguments"])
    if not problems:
        return
    texts = [text for text, _ in sorted(problems, key=lambda p: p[1])]
    if all(lenient for _, lenient in problems):
        raise Note(f"tool-call arguments ({NOT_ALWAYS_JSON}: not a failure): {_summary(texts)}", {"problems": texts})
    raise CheckFailure(f"tool-call arguments: {_summary(texts)}", {"problems": texts})


@check("output_text_derived", implicit=True, apis=("responses",))
def output_text_derived(ctx: CheckContext) -> None:
    """When a response carries ``output_text`` on the wire, it equals the text derived from its message items (as the SDKs derive it); its absence is fine."""
    body = _result_body(ctx)
    if body is None or body.get("output_text") is None:
        return
    wire = body["output_text"]
    derived = output_text(body) or ""
    if not isinstance(wire, str):
        raise CheckFailure(f"`output_text` is {type(wire).__name__}, not a string", {"got": wire})
    if wire != derived:
        raise CheckFailure(f"`output_text` {wire[:80]!r} differs from the text of the output items {derived[:80]!r}",
                           {"wire": wire[:500], "derived": derived[:500]})
