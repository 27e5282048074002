"""SDK checks: what the official ``openai`` SDK makes of an answer (the SDK lane, ``--client sdk``).

They run on every step (implicit) and declare ``needs_sdk``: ``run_check`` skips them when the exchange
carries no ``SdkOutcome`` (``Exchange.sdk``, set by ``conformance.transport.sdk``), so the raw lane never sees
them (each still returns at once without one, when called some other way). A finding on
an answer the SDK cannot handle is a finding on the target that sent it, named by the check; what is the
SDK's own documented behaviour on a correct answer (the chat helper refusing a ``length`` finish) is a
``Note``. Request drift and a wrong error class are the SDK's doing: they fail the SDK gate.
"""

from __future__ import annotations

import json
from typing import Any

from conformance.checks.findings import CheckFailure, Note
from conformance.checks.registry import CheckContext, check
from conformance.observations.observation import json_texts, observe, output_text, result_object
from conformance.transport.sdk_outcome import SdkOutcome, drift_message, request_drift
from conformance.transport.vcr import normalise

# The exception class the SDK documents for each error status (openai-python README, "Handling errors").
ERROR_CLASSES = {400: "BadRequestError", 401: "AuthenticationError", 403: "PermissionDeniedError",
                 404: "NotFoundError", 409: "ConflictError", 422: "UnprocessableEntityError", 429: "RateLimitError"}
SERVER_ERROR_CLASS = "InternalServerError"  # every status >= 500
OTHER_STATUS_CLASS = "APIStatusError"
# What the chat helpers raise on a finish they refuse to turn into a final object: SDK behaviour, not a fault.
FINISH_REFUSALS = {"LengthFinishReasonError": "length", "ContentFilterFinishReasonError": "content_filter"}
PARSE_ERROR = "ValueError"  # .parse() and the helpers could not read the JSON (pydantic, json, jiter raise these)


def outcome_of(ctx: CheckContext) -> SdkOutcome | None:
    """The judged step's SDK outcome (None in the raw lane)."""
    return getattr(ctx.exchange, "sdk", None)


def documented_class(status: int) -> str:
    """The SDK exception class documented for an error status."""
    if status >= 500:
        return SERVER_ERROR_CLASS
    return ERROR_CLASSES.get(status, OTHER_STATUS_CLASS)


def _sdk(outcome: SdkOutcome) -> str:
    return f"openai {outcome.sdk_version} {outcome.method}"


@check("sdk_request", needs_success=False, implicit=True, needs_sdk=True)
def sdk_request(ctx: CheckContext) -> None:
    """The SDK puts the case's JSON body on the wire (no request drift; a diff of the two bodies if not).

    Bodies are compared as the cassette matcher compares them (``user``/``metadata`` ignored, ``stream:
    false`` as absent). Drift is the cell's root cause: in replay the drifted body also misses the cassette.
    A body the typed method refuses before sending (then sent generically) is a note.
    """
    outcome = outcome_of(ctx)
    if outcome is None:
        return
    drift = request_drift(outcome)
    if drift:
        raise CheckFailure(drift_message(drift), {"case": normalise(outcome.intended_body),
                                                  "sent": normalise(outcome.sent_body), "diff": drift}, root=True)
    if outcome.refused:
        raise Note(f"{_sdk(outcome)}: the typed method refuses this request before sending it ({outcome.refused}); "
                   "sent with the generic client instead")


@check("sdk_accepts", implicit=True, needs_sdk=True)
def sdk_accepts(ctx: CheckContext) -> None:
    """The SDK's types accept a 2xx answer at run time: the call returns (a stream is read to its end) without
    raising. An in-stream error event the SDK raises as ``APIError`` is its documented behaviour (a note)."""
    outcome = outcome_of(ctx)
    if outcome is None or outcome.exception is None:
        return
    error = outcome.exception
    if error.where == "helper" and outcome.parse_model:
        return  # .parse() could not read the answer's JSON: sdk_parse's finding
    if error.cls == "APIError" and ctx.exchange.is_sse:
        raise Note(f"{_sdk(outcome)} raised APIError for an error event inside the stream: {error.message}")
    raise CheckFailure(f"{_sdk(outcome)} raised {error} on this {ctx.exchange.status} answer",
                       {"exception": error.cls, "message": error.message, "cause": error.cause})


@check("sdk_strict", implicit=True, needs_sdk=True)
def sdk_strict(ctx: CheckContext) -> None:
    """Information: what strict validation of the SDK's models says of the answer (what
    ``_strict_response_validation=True`` would raise). Never a failure: the SDK does not validate by default."""
    outcome = outcome_of(ctx)
    if outcome is None or not outcome.strict:
        return
    shown = "; ".join(outcome.strict[:3]) + (f" (+{len(outcome.strict) - 3} more)" if len(outcome.strict) > 3 else "")
    raise Note(f"openai {outcome.sdk_version}'s models reject this answer under strict validation: {shown}",
               {"errors": outcome.strict})


def _derived_text(ctx: CheckContext) -> str:
    body = result_object(ctx.exchange)
    try:
        return (output_text(body) if isinstance(body, dict) else None) or ""
    except TypeError:  # a text part that is not a string: the suite's shape checks report it
        return ""


@check("sdk_output_text", implicit=True, needs_sdk=True, apis=("responses",))
def sdk_output_text(ctx: CheckContext) -> None:
    """The SDK's ``Response.output_text`` reads without raising and equals the text the suite derives from the
    output items (``output_text`` parts of ``message`` items, concatenated)."""
    outcome = outcome_of(ctx)
    if outcome is None:
        return
    if outcome.output_text_error is not None:
        raise CheckFailure(f"reading {_sdk(outcome)}'s output_text raises {outcome.output_text_error}")
    if outcome.output_text is None:
        return  # no Response was returned (an exception, or another endpoint)
    derived = _derived_text(ctx)
    if outcome.output_text != derived:
        raise CheckFailure(f"output_text {outcome.output_text[:120]!r} differs from the text of the output items "
                           f"{derived[:120]!r}", {"sdk": outcome.output_text, "derived": derived})


def _items(items: Any) -> list[Any]:
    return items if isinstance(items, list) else []


def digest(api: str, body: Any) -> Any:
    """What a final object and the reassembled stream must agree on: ids, status, items, texts and calls."""
    if not isinstance(body, dict):
        return None
    if api == "chat":
        return {"id": body.get("id"), "choices": [_message(choice) for choice in _items(body.get("choices"))]}
    out = []
    for item in _items(body.get("output")):
        if not isinstance(item, dict):
            continue
        texts = [part.get("text") for part in _items(item.get("content")) if isinstance(part, dict)]
        out.append({k: item.get(k) for k in ("type", "id", "name", "arguments", "call_id") if item.get(k)}
                   | ({"texts": texts} if texts else {}))
    return {"id": body.get("id"), "status": body.get("status"), "output": out}


def _message(choice: Any) -> Any:
    if not isinstance(choice, dict):
        return None
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    calls = [{"id": c.get("id"), "name": (c.get("function") or {}).get("name"),
              "arguments": (c.get("function") or {}).get("arguments")}
             for c in _items(message.get("tool_calls")) if isinstance(c, dict)]
    return {"index": choice.get("index"), "finish_reason": choice.get("finish_reason"),
            "content": message.get("content") or None, "refusal": message.get("refusal") or None,
            "tool_calls": calls or None}


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(dict.fromkeys([*a, *b])):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path or '(object)'}: {json.dumps(a, default=str)[:120]} vs {json.dumps(b, default=str)[:120]}"


def _finish(ctx: CheckContext) -> str | None:
    found = observe(ctx.exchange)
    return found.finish if found else None


@check("sdk_stream_helper", implicit=True, needs_sdk=True)
def sdk_stream_helper(ctx: CheckContext) -> None:
    """The SDK's stream helper (``chat.completions.stream``, ``responses.stream``) reads the stream to its end
    without crashing and its final object (``get_final_completion``/``get_final_response``) equals the stream
    the suite reassembles. The chat helper's refusal of a ``length``/``content_filter`` finish is SDK
    behaviour on a correct answer: a note."""
    outcome = outcome_of(ctx)
    stream = outcome.stream if outcome else None
    if outcome is None or stream is None or stream.helper is None:
        return
    error = stream.helper_error
    if error is not None:
        if outcome.parse_model and error.is_a(PARSE_ERROR):
            return  # the answer's JSON does not fit the model: sdk_parse's finding
        if error.cls in FINISH_REFUSALS and _finish(ctx) == FINISH_REFUSALS[error.cls]:
            raise Note(f"{stream.helper} (openai {outcome.sdk_version}) raises {error.cls} because the stream ended "
                       f"with finish_reason {FINISH_REFUSALS[error.cls]}: SDK behaviour, not a fault of the stream")
        raise CheckFailure(f"{stream.helper} (openai {outcome.sdk_version}) crashes on this stream: {error}",
                           {"exception": error.cls, "message": error.message})
    if stream.final is None:
        raise CheckFailure(f"{stream.helper} (openai {outcome.sdk_version}) gave no final object")
    api = outcome.api or ctx.api
    mine, theirs = digest(api, stream.final), digest(api, result_object(ctx.exchange))
    if mine != theirs:
        raise CheckFailure(f"{stream.helper}'s final object differs from the reassembled stream at "
                           f"{_first_difference(mine, theirs)}", {"helper": mine, "reassembled": theirs})


@check("sdk_chat_accumulation", implicit=True, needs_sdk=True, apis=("chat",))
def sdk_chat_accumulation(ctx: CheckContext) -> None:
    """The chat stream helper's accumulated message (its snapshot: content, refusal, tool calls, finish
    reason per choice) equals the message the suite reassembles from the same chunks."""
    outcome = outcome_of(ctx)
    stream = outcome.stream if outcome else None
    if outcome is None or stream is None or stream.helper is None:
        return
    refused = stream.helper_error is not None and stream.helper_error.cls in FINISH_REFUSALS
    accumulated = stream.final if stream.final is not None else stream.snapshot if refused else None
    if accumulated is None:
        return  # the helper crashed part way: sdk_stream_helper (or sdk_parse) reports it
    mine, theirs = digest("chat", accumulated), digest("chat", result_object(ctx.exchange))
    if mine != theirs:
        raise CheckFailure(f"the chat helper's accumulated message differs from the reassembled chunks at "
                           f"{_first_difference(mine, theirs)}", {"helper": mine, "reassembled": theirs})


@check("sdk_parse", implicit=True, needs_sdk=True)
def sdk_parse(ctx: CheckContext) -> None:
    """``.parse()`` (or the stream helper given the model) returns the object of the case's JSON schema: a
    pydantic model built from that schema, equal to the JSON the answer holds. The SDK's refusal to parse an
    answer cut by its token limit is a note."""
    outcome = outcome_of(ctx)
    if outcome is None or not outcome.parse_model:
        return
    error = outcome.stream.helper_error if outcome.stream else outcome.exception
    if outcome.stream and error is not None and not (error.cls in FINISH_REFUSALS or error.is_a(PARSE_ERROR)):
        return  # the helper crashed on the stream itself: sdk_stream_helper's finding
    if error is not None and error.cls in FINISH_REFUSALS:
        raise Note(f"{outcome.method} refuses to parse an answer that ended with finish_reason "
                   f"{FINISH_REFUSALS[error.cls]} ({error.cls}): SDK behaviour")
    if error is not None and (error.where == "helper" or error.is_a(PARSE_ERROR)):
        raise CheckFailure(f"{_sdk(outcome)} cannot parse the answer into the schema's model "
                           f"{outcome.parse_model}: {error}", {"exception": error.cls, "message": error.message})
    if error is not None:
        return  # the call itself failed: sdk_accepts or sdk_stream_helper report it
    found = observe(ctx.exchange)
    if found is None or found.refusal:
        return  # a refusal carries no object
    texts = json_texts(found)
    if outcome.parsed is None:
        if texts:
            raise CheckFailure(f"{_sdk(outcome)} returned no parsed object for the answer {texts[0][:120]!r}")
        return
    try:
        expected = json.loads(texts[0]) if texts else None
    except ValueError:
        expected = None
    if outcome.parsed != expected:
        raise CheckFailure(f"{_sdk(outcome)} parsed {json.dumps(outcome.parsed, default=str)[:160]}, not the "
                           f"answer's JSON {texts[0][:160] if texts else None!r}")


@check("sdk_error", needs_success=False, implicit=True, needs_sdk=True)
def sdk_error(ctx: CheckContext) -> None:
    """An error answer (4xx/5xx) raises the exception class the SDK documents for its status (400
    BadRequestError, 401 AuthenticationError, 403 PermissionDeniedError, 404 NotFoundError, 409
    ConflictError, 422 UnprocessableEntityError, 429 RateLimitError, 5xx InternalServerError, else
    APIStatusError) carrying that status."""
    outcome = outcome_of(ctx)
    status = ctx.exchange.status
    if outcome is None or status is None or status < 400:
        return
    wanted = documented_class(status)
    error = outcome.exception
    if error is None:
        raise CheckFailure(f"{_sdk(outcome)} returned normally on a {status} answer; {wanted} expected")
    if error.cls != wanted or error.status_code != status:
        raise CheckFailure(f"{_sdk(outcome)} raised {error.cls} (status_code {error.status_code}) on a {status} "
                           f"answer; {wanted} with status_code {status} expected")


# Every SDK check, in the order reports show them.
SDK_CHECKS = ("sdk_request", "sdk_accepts", "sdk_error", "sdk_strict", "sdk_output_text", "sdk_stream_helper",
              "sdk_chat_accumulation", "sdk_parse")
