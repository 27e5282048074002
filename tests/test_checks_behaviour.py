"""Behavioural probes (conformance/checks/behaviour.py): each passes on real OpenAI answers from the
corpus and reports the right verdict on deviant answers built here by mutating real ones."""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from functools import lru_cache
from typing import Any, Callable

import pytest

from support.findings import missing_fields, only_missing
from conformance.checks import CheckContext, run_check
from conformance.checks.behaviour import schema_problems
from conformance.observations.observation import json_texts
from conformance.transport.exchange import Exchange
from conformance.observations.observation import observe
from conformance.checks.findings import HarnessError, Verdict
from corpus import CORPUS_MISSING, assert_finding, corpus_available, exchange_from_record, load_corpus

pytestmark = [pytest.mark.corpus, pytest.mark.skipif(not corpus_available(), reason=CORPUS_MISSING)]

CREATE = {"chat": "chat/completions", "responses": "responses"}


# ---------------------------------------------------------------- helpers


def run(check_name: str, exchanges: dict[str, Exchange] | Exchange, api: str, /, profile: str = "openai",
        deterministic: bool = False, **params: Any):
    """Run a check on one exchange (step 'main') or on several steps (judging the last)."""
    if isinstance(exchanges, Exchange):
        exchanges = {"main": exchanges}
    ctx = CheckContext(api=api, exchanges=exchanges, profile=profile, deterministic=deterministic)
    return run_check(check_name, ctx, params)



@lru_cache(maxsize=None)
def creates(api: str, stream: bool | None = None) -> tuple[dict[str, Any], ...]:
    """Genuine 200 create answers of ``api`` whose object can be observed."""
    out = []
    for record in load_corpus(api=api, stream=stream):
        if record["method"] == "POST" and record["endpoint"] == CREATE[api] and record["status"] == 200:
            if observed(record) is not None:
                out.append(record)
    return tuple(out)


_SEEN: dict[tuple[int, str], tuple[dict[str, Any], Exchange, Any]] = {}


def exchange(record: dict[str, Any], step: str = "main") -> Exchange:
    """The Exchange of a corpus record, built once (parsing streams is the slow part of these tests)."""
    key = (id(record), step)
    if key not in _SEEN:
        built = exchange_from_record(record, step)
        _SEEN[key] = (record, built, observe(built))  # holding the record keeps its id unique
    return _SEEN[key][1]


def observed(record: dict[str, Any]):
    """The Observation of a corpus record (cached with its Exchange)."""
    exchange(record)
    return _SEEN[(id(record), "main")][2]


def mutate(record: dict[str, Any], change: Callable[[dict[str, Any]], Any], step: str = "main") -> Exchange:
    """An Exchange of a deep copy of a non-stream ``record`` whose body ``change`` edited in place."""
    record = copy.deepcopy(record)
    change(record["response_body"])
    return exchange_from_record(record, step)


def mutate_request(record: dict[str, Any], change: Callable[[dict[str, Any]], Any],
                   body_change: Callable[[dict[str, Any]], Any] | None = None, step: str = "main") -> Exchange:
    """An Exchange of a deep copy of a non-stream ``record`` whose request (and, optionally, body) was edited."""
    record = copy.deepcopy(record)
    change(record["request_body"])
    if body_change is not None:
        body_change(record["response_body"])
    return exchange_from_record(record, step)


def first_text_part(body: dict[str, Any]) -> dict[str, Any]:
    """The first ``output_text`` part of a Responses body."""
    return next(part for item in body["output"] if item.get("type") == "message"
                for part in item["content"] if part.get("type") == "output_text")


def set_text(api: str, text: str) -> Callable[[dict[str, Any]], None]:
    """A body edit replacing the answer's text (chat content, or every Responses message)."""
    def change(body: dict[str, Any]) -> None:
        if api == "chat":
            body["choices"][0]["message"]["content"] = text
        else:
            body["output"] = [item for item in body["output"] if item.get("type") != "message"]
            body["output"].append({"type": "message", "id": "msg_x", "role": "assistant", "status": "completed",
                                   "content": [{"type": "output_text", "text": text, "annotations": []}]})
    return change


def text_answers(api: str) -> list[dict[str, Any]]:
    return [r for r in creates(api, False) if (observed(r).text or "").strip() and not observed(r).tool_calls]


# ---------------------------------------------------------------- json_output


def format_schema(api: str, request: dict[str, Any]) -> tuple[str | None, dict | None, bool]:
    """(format type, schema, strict) of a request's structured-output setting."""
    fmt = request.get("response_format") if api == "chat" else (request.get("text") or {}).get("format")
    fmt = fmt or {}
    inner = fmt.get("json_schema") or {} if api == "chat" else fmt
    return fmt.get("type"), inner.get("schema"), bool(inner.get("strict"))


def structured(api: str, strict_only: bool = True) -> list[dict[str, Any]]:
    """Genuine answers to a JSON-format request that produced text (no tool call, no refusal)."""
    out = []
    for record in creates(api):
        kind, schema, strict = format_schema(api, record["request_body"])
        obs = observed(record)
        if kind in ("json_object", "json_schema") and json_texts(obs) and not obs.tool_calls and not obs.refusal:
            if kind == "json_object" or strict or not strict_only:
                out.append(record)
    return out


def several_values(text: str) -> bool:
    """True when ``text`` is JSON values written back to back (``{...}\\n{...}``)."""
    decoder, text = json.JSONDecoder(), text.strip()
    try:
        _, end = decoder.raw_decode(text)
    except ValueError:
        return False
    return end < len(text)


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_json_output_passes_on_real_structured_answers(api):
    records = [r for r in structured(api) if not any(several_values(t) for t in json_texts(observed(r)))]
    assert records, "the corpus has structured-output answers"
    for record in records:
        _, schema, _ = format_schema(api, record["request_body"])
        assert run("json_output", exchange(record), api, schema=schema) == [], record["cassette_path"]


def test_json_output_flags_two_objects_in_one_chat_message():
    # gpt-4o, answering a tool result under a strict schema, sometimes writes two objects into one
    # chat message; the SDK's parse() cannot read that either, so the check must not accept it.
    records = [r for r in structured("chat") if several_values(observed(r).text)]
    if not records:
        pytest.skip("no such answer in the corpus")
    for record in records:
        assert_finding(run("json_output", exchange(record), "chat"), "json_output", Verdict.IGNORED)


def test_json_output_judges_each_responses_message_like_the_sdk():
    # OpenAI sometimes answers two message items, each one JSON object: their concatenation is not JSON.
    records = [r for r in structured("responses") if len(json_texts(observed(r))) > 1]
    if not records:
        pytest.skip("no multi-message structured answer in the corpus")
    for record in records:
        assert run("json_output", exchange(record), "responses") == []


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_json_output_ignored_on_free_text_or_schema_violation(api):
    record = next(r for r in structured(api) if not r["stream"])
    text = json_texts(observed(record))[0]
    prose = mutate(record, set_text(api, "Sure! Here it is:\n```json\n" + text + "\n```"))
    assert_finding(run("json_output", prose, api), "json_output", Verdict.IGNORED)
    needs_more = {"type": "object", "required": ["a_key_the_model_never_sent"]}
    assert_finding(run("json_output", exchange(record), api, schema=needs_more),
                   "json_output", Verdict.IGNORED)
    array = mutate(record, set_text(api, "[" + text + "]"))
    assert_finding(run("json_output", array, api), "json_output", Verdict.IGNORED)


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_json_output_cut_at_the_token_limit_is_ignored_and_says_so(api):
    record = next(r for r in structured(api) if not r["stream"])
    text = json_texts(observed(record))[0]

    def cut(body):
        set_text(api, text[: len(text) // 2])(body)
        if api == "chat":
            body["choices"][0]["finish_reason"] = "length"
        else:
            body.update(status="incomplete", incomplete_details={"reason": "max_output_tokens"})

    (finding,) = run("json_output", mutate(record, cut), api)
    assert finding.verdict is Verdict.IGNORED and "token limit" in finding.message

    def rambling(body):  # free text that hit the cap: the format was ignored, whatever the cap
        cut(body)
        set_text(api, "Sure, here is a colour for you: " + text[:10])(body)

    assert_finding(run("json_output", mutate(record, rambling), api), "json_output", Verdict.IGNORED)


def test_json_output_with_no_text_is_ignored_and_refusal_is_an_error():
    record = next(r for r in structured("chat") if not r["stream"])
    tools_only = mutate(record, lambda b: b["choices"][0]["message"].update(content=None))
    assert_finding(run("json_output", tools_only, "chat"), "json_output", Verdict.IGNORED)
    refused = mutate(record, lambda b: b["choices"][0]["message"].update(content=None, refusal="No."))
    assert_finding(run("json_output", refused, "chat"), "json_output", Verdict.ERROR)


# ---------------------------------------------------------------- tool_called


def tool_parameters(api: str, request: dict[str, Any], name: str) -> tuple[dict | None, bool]:
    for tool in request.get("tools") or []:
        spec = tool.get("function") or {} if api == "chat" else tool
        if tool.get("type") == "function" and spec.get("name") == name:
            return spec.get("parameters"), bool(spec.get("strict"))
    return None, False


def tool_answers(api: str, stream: bool | None = None) -> list[dict[str, Any]]:
    """Genuine complete answers holding function calls."""
    return [r for r in creates(api, stream) if observed(r).tool_calls and observed(r).finish in ("stop", "tool_calls")]


@pytest.mark.parametrize("api", ["chat", "responses"])
@pytest.mark.parametrize("stream", [False, True])
def test_tool_called_passes_on_real_calls(api, stream):
    records = tool_answers(api, stream)
    assert records
    for record in records:
        name = observed(record).tool_calls[0].name
        parameters, strict = tool_parameters(api, record["request_body"], name)
        params = {"name": name, "parameters": parameters} if strict else {"name": name}
        assert run("tool_called", exchange(record), api, **params) == [], record["cassette_path"]


def test_tool_called_accepts_stop_for_a_named_tool_choice():
    named = [r for r in tool_answers("chat") if isinstance(r["request_body"].get("tool_choice"), dict)]
    assert any(observed(r).finish == "stop" for r in named), "OpenAI answers stop for a named tool_choice"
    for record in named:
        assert run("tool_called", exchange(record), "chat", name=observed(record).tool_calls[0].name) == []
        assert run("finish", exchange(record), "chat", value="tool_calls") == []


def chat_call(body: dict[str, Any]) -> dict[str, Any]:
    return body["choices"][0]["message"]["tool_calls"][0]


def responses_call(body: dict[str, Any]) -> dict[str, Any]:
    return next(item for item in body["output"] if item.get("type") == "function_call")


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_tool_called_fails_on_broken_calls(api):
    record = next(r for r in tool_answers(api, False))
    name = observed(record).tool_calls[0].name

    def args(value):
        def change(body):
            call = chat_call(body)["function"] if api == "chat" else responses_call(body)
            call["arguments"] = value
        return change

    as_object = mutate(record, args({"city": "Paris"}))  # llama.cpp #20198: an object, not a string
    assert_finding(run("tool_called", as_object, api, name=name), "tool_called", Verdict.FAIL)
    not_json = mutate(record, args("{city: Paris"))
    assert_finding(run("tool_called", not_json, api, name=name), "tool_called", Verdict.FAIL)
    invalid = mutate(record, args(json.dumps({"unexpected": 1})))
    schema = {"type": "object", "required": ["a_required_key"], "additionalProperties": False}
    assert_finding(run("tool_called", invalid, api, name=name, parameters=schema), "tool_called", Verdict.FAIL)
    assert_finding(run("tool_called", exchange(record), api, name=name + "_other"),
                   "tool_called", Verdict.FAIL)
    id_field = "id" if api == "chat" else "call_id"

    def drop_id(body):
        (chat_call(body) if api == "chat" else responses_call(body)).pop(id_field)

    assert_finding(run("tool_called", mutate(record, drop_id), api, name=name), "tool_called", Verdict.FAIL,
                   missing=[id_field])


def rejects(schema: dict[str, Any] | None, arguments: dict[str, Any]) -> bool:
    """True when ``schema`` is a valid JSON Schema that rejects ``arguments``."""
    if not isinstance(schema, dict):
        return False
    try:
        return bool(schema_problems(arguments, schema))
    except HarnessError:  # an invalid schema: not a useful example
        return False


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_tool_called_judges_arguments_by_the_requests_own_tool(api):
    # Without `parameters`, the request's own definition of the tool is the schema: the check is never
    # looser than what the case sent (the corpus answers above pass under their own requests' schemas).
    unexpected = {"an_argument_no_tool_declares": 1}
    record = next(r for r in tool_answers(api, False)
                  if rejects(tool_parameters(api, r["request_body"], observed(r).tool_calls[0].name)[0], unexpected))
    name = observed(record).tool_calls[0].name

    def wrong_args(body):
        call = chat_call(body)["function"] if api == "chat" else responses_call(body)
        call["arguments"] = json.dumps(unexpected)

    wrong = mutate(record, wrong_args)
    failures = run("tool_called", wrong, api, name=name)
    assert_finding(failures, "tool_called", Verdict.FAIL)
    assert "arguments" in failures[0].message
    # A case's explicit `parameters` still decides (here a looser one).
    assert run("tool_called", wrong, api, name=name, parameters={"type": "object"}) == []

    def undeclare(request):  # no definition of the tool in the request: only "a JSON object" is required
        request["tools"] = [t for t in request["tools"]
                            if (t.get("function") or {} if api == "chat" else t).get("name") != name]

    assert run("tool_called", mutate_request(record, undeclare, wrong_args), api, name=name) == []

    def broken_schema(request):
        for tool in request["tools"]:
            spec = tool.get("function") or {} if api == "chat" else tool
            if spec.get("name") == name:
                spec["parameters"] = {"type": "no-such-type"}

    failures = run("tool_called", mutate_request(record, broken_schema, wrong_args), api, name=name)
    assert_finding(failures, "tool_called", Verdict.ERROR)
    assert "the request's parameters schema" in failures[0].message


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_tool_called_min_calls(api):
    parallel = [r for r in tool_answers(api) if len(observed(r).tool_calls) >= 2
                and len({c.name for c in observed(r).tool_calls}) == 1]
    assert parallel, "the corpus has parallel calls of one function"
    for record in parallel:
        name = observed(record).tool_calls[0].name
        assert run("tool_called", exchange(record), api, name=name, min_calls=2) == [], record["cassette_path"]
    single = next(r for r in tool_answers(api) if len(observed(r).tool_calls) == 1)
    failures = run("tool_called", exchange(single), api, name=observed(single).tool_calls[0].name, min_calls=2)
    assert_finding(failures, "tool_called", Verdict.IGNORED)  # parallel calls asked for, one made


def test_tool_called_fails_on_a_wrong_chat_finish_reason():
    record = next(r for r in tool_answers("chat", False))
    truncated = mutate(record, lambda b: b["choices"][0].update(finish_reason="length"))
    name = observed(record).tool_calls[0].name
    assert_finding(run("tool_called", truncated, "chat", name=name), "tool_called", Verdict.FAIL)


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_tool_called_ignored_when_the_answer_is_text(api):
    record = text_answers(api)[0]
    assert_finding(run("tool_called", exchange(record), api, name="get_weather"),
                   "tool_called", Verdict.IGNORED)
    written = mutate(record, set_text(api, '<tool_call>{"name": "get_weather"}</tool_call>'))  # vLLM PR #36445
    failures = run("tool_called", written, api, name="get_weather")
    assert_finding(failures, "tool_called", Verdict.IGNORED)
    assert "written as text" in failures[0].message


# ---------------------------------------------------------------- text, finish, choices


@pytest.mark.parametrize("api", ["chat", "responses"])
@pytest.mark.parametrize("stream", [False, True])
def test_text_checks_pass_on_real_text(api, stream):
    records = [r for r in creates(api, stream) if (observed(r).text or "").strip()]
    assert records
    for record in records:
        word = observed(record).text.split()[-1]
        assert run("text_nonempty", exchange(record), api) == []
        assert run("text_contains", exchange(record), api, value=word.upper()) == []
        assert run("text_contains", exchange(record), api, value=word, ignore_case=False) == []


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_text_checks_fail_on_missing_text(api):
    # an instruction not followed after a 2xx is ignored, as for every behavioural check (the verdict policy)
    record = text_answers(api)[0]
    assert_finding(run("text_contains", exchange(record), api, value="a phrase no answer holds 7f3e"),
                   "text_contains", Verdict.IGNORED)
    word = max(observed(record).text.split(), key=len)
    if word.upper() != word:
        assert_finding(run("text_contains", exchange(record), api, value=word.upper(), ignore_case=False),
                       "text_contains", Verdict.IGNORED)
    assert_finding(run("text_nonempty", mutate(record, set_text(api, "  \n")), api), "text_nonempty", Verdict.FAIL)


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_text_contains_accepts_any_of_a_list(api):
    record = text_answers(api)[0]
    word = max(observed(record).text.split(), key=len)
    assert run("text_contains", exchange(record), api, value=["synonym-absent-91c2", word]) == []
    assert run("text_contains", exchange(record), api, value=[word]) == []
    failures = run("text_contains", exchange(record), api, value=["synonym-absent-91c2", "another-absent-5d0e"])
    assert_finding(failures, "text_contains", Verdict.IGNORED)
    assert "synonym-absent-91c2" in failures[0].message and "another-absent-5d0e" in failures[0].message
    for bad in ([], [""], 42, [word, 7]):  # a case error, not a finding about the target
        assert_finding(run("text_contains", exchange(record), api, value=bad), "text_contains", Verdict.ERROR)


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_finish_matches_the_real_class_and_fails_otherwise(api):
    stops = [r for r in text_answers(api) if observed(r).finish == "stop"]
    assert stops
    for record in stops:
        assert run("finish", exchange(record), api, value="stop") == []
        assert run("finish", exchange(record), api, value=["length", "stop"]) == []
    assert_finding(run("finish", exchange_from_record(stops[0]), api, value="length"), "finish", Verdict.FAIL)


def test_finish_stop_with_calls_is_not_tool_calls_without_a_named_choice():
    record = next(r for r in tool_answers("chat", False) if r["request_body"].get("tool_choice") in (None, "auto"))
    stop = mutate(record, lambda b: b["choices"][0].update(finish_reason="stop"))
    assert_finding(run("finish", stop, "chat", value="tool_calls"), "finish", Verdict.FAIL)


@pytest.mark.parametrize("stream", [False, True])
def test_single_choice_passes_on_real_chat(stream):
    records = [r for r in creates("chat", stream) if not r["request_body"].get("n")]
    assert records
    for record in records:
        assert run("single_choice", exchange(record), "chat") == []


def test_single_choice_fails_on_extra_choices_and_skips_responses():
    record = text_answers("chat")[0]

    def split(body):  # litellm #37299: one choice per output message
        extra = copy.deepcopy(body["choices"][0])
        extra["index"] = 1
        body["choices"].append(extra)

    assert_finding(run("single_choice", mutate(record, split), "chat"), "single_choice", Verdict.FAIL)
    assert run("single_choice", exchange_from_record(text_answers("responses")[0]), "responses") == []


# ---------------------------------------------------------------- usage and reasoning


def with_usage(api: str) -> list[dict[str, Any]]:
    return [r for r in creates(api) if isinstance((observed(r).body or {}).get("usage"), dict)]


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_usage_checks_pass_on_real_usage(api):
    records = with_usage(api)
    assert len(records) > 100
    for record in records:
        assert run("usage_plausible", exchange(record), api) == [], record["cassette_path"]
        if observed(record).usage.reasoning_tokens is not None:
            assert run("reasoning_usage", exchange(record), api) == [], record["cassette_path"]


def usage_names(api: str) -> tuple[str, str, str, str]:
    if api == "chat":
        return "prompt_tokens", "completion_tokens", "total_tokens", "completion_tokens_details"
    return "input_tokens", "output_tokens", "total_tokens", "output_tokens_details"


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_usage_plausible_fails_on_zero_or_malformed_usage(api):
    record = next(r for r in with_usage(api) if not r["stream"] and (observed(r).text or "").strip())
    inp, out, total, _ = usage_names(api)
    zero = mutate(record, lambda b: b["usage"].update({inp: 0, out: 0, total: 0}))  # aimock
    failures = run("usage_plausible", zero, api)
    assert_finding(failures, "usage_plausible", Verdict.FAIL)
    assert inp in failures[0].message and out in failures[0].message
    off = mutate(record, lambda b: b["usage"].update({total: b["usage"][total] + 5}))
    assert run("usage_plausible", off, api) == []  # the arithmetic is usage_fields's: one defect, one finding
    assert_finding(run("usage_fields", off, api), "usage_fields", Verdict.FAIL)
    text = mutate(record, lambda b: b["usage"].update({inp: "12"}))
    assert_finding(run("usage_plausible", text, api), "usage_plausible", Verdict.FAIL)
    gone = mutate(record, lambda b: b.pop("usage"))
    assert_finding(run("usage_plausible", gone, api), "usage_plausible", Verdict.FAIL, missing=["usage"])
    partial = mutate(record, lambda b: b["usage"].pop(total))
    failures = run("usage_plausible", partial, api)
    assert_finding(failures, "usage_plausible", Verdict.FAIL, missing=[total])
    assert only_missing(failures[0]) is True


def test_usage_of_a_chat_stream_without_include_usage_is_a_case_error():
    records = [r for r in creates("chat", True)
               if not (r["request_body"].get("stream_options") or {}).get("include_usage")]
    assert records
    assert_finding(run("usage_plausible", exchange_from_record(records[0]), "chat"), "usage_plausible", Verdict.ERROR)


REASONING_REQUEST = {"chat": ("reasoning_effort", "low"), "responses": ("reasoning", {"effort": "low"})}


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_reasoning_usage_absent_is_ignored_when_reasoning_was_requested(api):
    record = next(r for r in with_usage(api) if not r["stream"] and observed(r).usage.reasoning_tokens is not None)
    _, _, _, details = usage_names(api)
    key, value = REASONING_REQUEST[api]

    def asked(request):
        request[key] = value

    def not_asked(request):
        request.pop(key, None)

    for drop, missing in ((lambda b: b["usage"].pop(details), details),
                          (lambda b: b["usage"][details].pop("reasoning_tokens"), "reasoning_tokens"),
                          (lambda b: b["usage"][details].update(reasoning_tokens=None), "reasoning_tokens")):
        # accepted with 2xx, no reasoning-token accounting: the behaviour is absent
        failures = run("reasoning_usage", mutate_request(record, asked, drop), api)
        assert_finding(failures, "reasoning_usage", Verdict.IGNORED, missing=[missing])
        assert only_missing(failures[0]) is True and key in failures[0].message
        # not asked for: the accounting field is simply missing
        failures = run("reasoning_usage", mutate_request(record, not_asked, drop), api)
        assert_finding(failures, "reasoning_usage", Verdict.FAIL, missing=[missing])
        assert only_missing(failures[0]) is True


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_reasoning_usage_fails_when_wrong(api):
    record = next(r for r in with_usage(api) if not r["stream"] and observed(r).usage.reasoning_tokens is not None)
    _, out, _, details = usage_names(api)
    key, value = REASONING_REQUEST[api]

    def asked(request):
        request[key] = value

    too_many = mutate_request(record, asked, lambda b: b["usage"][details].update(reasoning_tokens=b["usage"][out] + 1))
    assert_finding(run("reasoning_usage", too_many, api), "reasoning_usage", Verdict.FAIL)
    wrong_type = mutate_request(record, asked, lambda b: b["usage"][details].update(reasoning_tokens="3"))
    failures = run("reasoning_usage", wrong_type, api)
    assert_finding(failures, "reasoning_usage", Verdict.FAIL)
    assert only_missing(failures[0]) is False
    not_object = mutate_request(record, asked, lambda b: b["usage"].update({details: [0]}))
    assert_finding(run("reasoning_usage", not_object, api), "reasoning_usage", Verdict.FAIL)


def reasoning_answers() -> list[dict[str, Any]]:
    return [r for r in creates("responses") if observed(r).reasoning_items]


def test_reasoning_items_pass_on_real_reasoning_answers():
    records = reasoning_answers()
    assert records
    for record in records:
        assert run("reasoning_items", exchange(record), "responses") == []
        assert run("reasoning_items", exchange(record), "responses", min=observed(record).reasoning_items) == []


def test_reasoning_items_ignored_when_dropped_and_fail_when_malformed():
    record = next(r for r in reasoning_answers() if not r["stream"])
    dropped = mutate(record, lambda b: b.update(output=[i for i in b["output"] if i.get("type") != "reasoning"]))
    assert_finding(run("reasoning_items", dropped, "responses"), "reasoning_items", Verdict.IGNORED)

    def no_summary(body):
        next(i for i in body["output"] if i.get("type") == "reasoning").pop("summary")

    assert_finding(run("reasoning_items", mutate(record, no_summary), "responses"), "reasoning_items",
                   Verdict.FAIL, missing=["summary"])
    assert run("reasoning_items", exchange_from_record(text_answers("chat")[0]), "chat") == []  # Responses only


# ---------------------------------------------------------------- state probes (multi-step)


@lru_cache(maxsize=1)
def cassettes() -> tuple[tuple[dict[str, Any], ...], ...]:
    """Genuine official interactions grouped by cassette, in recorded order."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in load_corpus():
        groups[(record["source_repo"], record["cassette_path"])].append(record)
    return tuple(tuple(sorted(g, key=lambda r: r["index"])) for g in groups.values())


def body_id(record: dict[str, Any]) -> str | None:
    body = record["response_body"]
    return body.get("id") if isinstance(body, dict) else None


def sequences(api: str, method: str, status: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(create, later call) pairs in one cassette: a 200 non-stream create and a later ``method``
    on ``<create>/{id}`` that answered ``status`` and is about the created object."""
    out = []
    for group in cassettes():
        for i, created in enumerate(group):
            if (created["api"], created["endpoint"], created["method"], created["status"], created["stream"]) != (
                    api, CREATE[api], "POST", 200, False):
                continue
            object_id = body_id(created)
            for later in group[i + 1:]:
                if (later["endpoint"], later["method"], later["status"]) == (CREATE[api] + "/{id}", method, status) \
                        and object_id and object_id in later["url"]:
                    out.append((created, later))
                    break
    return out


def steps(**records: dict[str, Any] | Exchange) -> dict[str, Exchange]:
    return {name: r if isinstance(r, Exchange) else exchange_from_record(r, name) for name, r in records.items()}


def answer(status: int, body: Any, template: dict[str, Any], content_type: str = "application/json") -> Exchange:
    """A code-built answer to the same request as ``template`` (a corpus record)."""
    text = body if isinstance(body, str) else json.dumps(body)
    return Exchange(method=template["method"], url=template["url"], status=status,
                    headers={"content-type": content_type}, text=text, step="fetch")


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_retrievable_passes_on_real_create_then_get(api):
    pairs = sequences(api, "GET", 200)
    assert pairs
    for created, fetched in pairs:
        assert run("retrievable", steps(create=created, fetch=fetched), api, of="create") == []


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_retrievable_verdicts_on_deviant_gets(api):
    created, fetched = sequences(api, "GET", 200)[0]
    other = copy.deepcopy(fetched)
    other["response_body"]["id"] = body_id(created) + "x"  # Prism: the same static example for any id
    assert_finding(run("retrievable", steps(create=created, fetch=other), api, of="create"),
                   "retrievable", Verdict.FAIL)
    object_id = body_id(created)
    lookup = answer(404, {"error": {"message": f"No object with id '{object_id}'.", "type": "invalid_request_error",
                                    "param": None, "code": None}}, fetched)
    assert_finding(run("retrievable", steps(create=created, fetch=lookup), api, of="create"),
                   "retrievable", Verdict.IGNORED)
    no_route = answer(404, {"error": {"message": "Not found", "type": "not_found"}}, fetched)  # aimock
    assert_finding(run("retrievable", steps(create=created, fetch=no_route), api, of="create"),
                   "retrievable", Verdict.UNSUPPORTED)
    crashed = answer(500, "Internal Server Error", fetched, "text/plain")  # LiteLLM forwarding offline
    assert_finding(run("retrievable", steps(create=created, fetch=crashed), api, of="create"),
                   "retrievable", Verdict.FAIL)


def test_retrievable_ignored_on_a_real_404_naming_the_id():
    # A real 404 from OpenAI names the id: that is how an accepted-but-unstored object looks.
    pairs = sequences("responses", "GET", 404)
    assert pairs
    for created, fetched in pairs:
        assert_finding(run("retrievable", steps(create=created, fetch=fetched), "responses", of="create"),
                       "retrievable", Verdict.IGNORED)


def test_not_retrievable_passes_on_real_store_false():
    pairs = [(c, f) for c, f in sequences("responses", "GET", 404) if c["request_body"].get("store") is False]
    assert pairs
    for created, fetched in pairs:
        assert run("not_retrievable", steps(create=created, fetch=fetched), "responses", of="create") == []


def delete_then_get() -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(create, DELETE 200, later GET 404) of one object, in one cassette."""
    out = []
    for created, removed in sequences("responses", "DELETE", 200) + sequences("chat", "DELETE", 200):
        group = next(g for g in cassettes() if removed in g)
        later = [r for r in group[group.index(removed) + 1:]
                 if r["method"] == "GET" and r["status"] == 404 and body_id(created) in r["url"]]
        if later:
            out.append((created, removed, later[0]))
    return out


def test_not_retrievable_after_a_real_delete():
    found = delete_then_get()
    assert found
    for created, removed, fetched in found:
        api = created["api"]
        assert run("not_retrievable", steps(create=created, delete=removed, fetch=fetched), api, of="create") == []
        still_there = answer(200, created["response_body"], fetched)  # Prism: static answers after DELETE
        assert_finding(run("not_retrievable", steps(create=created, delete=removed, fetch=still_there), api,
                           of="create"), "not_retrievable", Verdict.FAIL)


def test_not_retrievable_verdicts_on_deviant_gets():
    created, fetched = sequences("responses", "GET", 404)[0]
    stored = answer(200, created["response_body"], fetched)
    assert_finding(run("not_retrievable", steps(create=created, fetch=stored), "responses", of="create"),
                   "not_retrievable", Verdict.IGNORED)
    for bare in ({"detail": "Not Found"}, {"error": {"message": "Not found", "type": "not_found"}}):
        # a route-less 404 (FastAPI, aimock) says nothing about storage
        assert_finding(run("not_retrievable", steps(create=created, fetch=answer(404, bare, fetched)), "responses",
                           of="create"), "not_retrievable", Verdict.UNSUPPORTED)
    by_param = answer(404, {"error": {"message": "Not found", "type": "invalid_request_error",
                                      "param": "response_id", "code": None}}, fetched)  # vLLM names the param
    assert run("not_retrievable", steps(create=created, fetch=by_param), "responses", of="create") == []
    refused = answer(405, {"error": {"message": "Method not allowed", "type": "invalid_request_error",
                                     "param": None, "code": None}}, fetched)
    assert_finding(run("not_retrievable", steps(create=created, fetch=refused), "responses", of="create"),
                   "not_retrievable", Verdict.UNSUPPORTED)


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_deleted_passes_on_real_deletes(api):
    pairs = sequences(api, "DELETE", 200)
    assert pairs
    for created, removed in pairs:
        assert run("deleted", steps(create=created, delete=removed), api, of="create") == []


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_deleted_verdicts_on_deviant_deletes(api):
    created, removed = sequences(api, "DELETE", 200)[0]
    for change in ({"deleted": False}, {"object": "response"}, {"id": "other"}):
        wrong = copy.deepcopy(removed)
        wrong["response_body"].update(change)
        assert_finding(run("deleted", steps(create=created, delete=wrong), api, of="create"), "deleted", Verdict.FAIL)
    missing = copy.deepcopy(removed)
    missing["response_body"].pop("deleted")
    assert_finding(run("deleted", steps(create=created, delete=missing), api, of="create"), "deleted", Verdict.FAIL,
                   missing=["deleted"])
    gone = answer(404, {"error": {"message": "Not found", "type": "not_found"}}, removed)
    assert_finding(run("deleted", steps(create=created, delete=gone), api, of="create"), "deleted",
                   Verdict.UNSUPPORTED)
    fetched = answer(200, created["response_body"], removed)
    fetched.method = "GET"
    assert_finding(run("deleted", steps(create=created, fetch=fetched, delete=gone), api, of="create"), "deleted",
                   Verdict.FAIL)
    crashed = answer(500, "upstream error", removed, "text/plain")  # LiteLLM + Prism: 500
    assert_finding(run("deleted", steps(create=created, delete=crashed), api, of="create"), "deleted", Verdict.FAIL)


def chains() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(first turn, chained turn) pairs: a create and a later create with its previous_response_id."""
    out = []
    for group in cassettes():
        by_id = {body_id(r): r for r in group if r["endpoint"] == "responses" and r["status"] == 200}
        for record in group:
            request = record["request_body"] if isinstance(record["request_body"], dict) else {}
            previous = request.get("previous_response_id")
            if record["status"] == 200 and previous and previous in by_id:
                out.append((by_id[previous], record))
    return out


def test_recalls_passes_and_is_ignored_when_absent():
    pairs = [(a, b) for a, b in chains() if (observed(b).text or "").strip()]
    assert pairs
    for first, second in pairs:
        word = max(observed(second).text.split(), key=len)
        assert run("recalls", steps(first=first, second=second), "responses", value=word) == []
        assert_finding(run("recalls", steps(first=first, second=second), "responses", value="codeword-4b1d"),
                       "recalls", Verdict.IGNORED)


def test_instructions_not_carried():
    first, second = chains()[0]
    first = copy.deepcopy(first)
    first["request_body"]["instructions"] = first["response_body"]["instructions"] = "Answer in French."
    assert first["request_body"].get("instructions") != second["request_body"].get("instructions")
    chained = steps(first=first, second=second)
    assert run("instructions_not_carried", chained, "responses", of="first") == []
    carried = mutate(second, lambda b: b.update(instructions="Answer in French."), "second")
    assert_finding(run("instructions_not_carried", {**chained, "second": carried}, "responses", of="first"),
                   "instructions_not_carried", Verdict.FAIL)
    # Sent again explicitly, the same instructions are legitimate.
    resent = copy.deepcopy(second)
    resent["request_body"]["instructions"] = resent["response_body"]["instructions"] = "Answer in French."
    assert run("instructions_not_carried", {**chained, "second": exchange_from_record(resent, "second")},
               "responses", of="first") == []
    first["request_body"]["instructions"] = first["response_body"]["instructions"] = None
    assert_finding(run("instructions_not_carried", steps(first=first, second=second), "responses", of="first"),
                   "instructions_not_carried", Verdict.ERROR)  # nothing to carry: the case is wrong


def test_instructions_not_carried_needs_evidence_of_the_chain():
    pairs = chains()
    assert pairs
    for first, second in pairs:  # every real chained answer names its previous response and has instructions
        assert second["response_body"]["previous_response_id"] == body_id(first)
        assert "instructions" in second["response_body"]
    first, second = copy.deepcopy(pairs[0][0]), pairs[0][1]
    first["request_body"]["instructions"] = first["response_body"]["instructions"] = "Answer in French."
    chained = steps(first=first, second=second)
    # A stateless server answering the second turn alone (aimock, litellm): the chain is not honoured,
    # whatever the instructions field says.
    for change in (lambda b: b.pop("previous_response_id"),
                   lambda b: b.update(previous_response_id=None),
                   lambda b: b.update(previous_response_id="resp_another_one"),
                   lambda b: (b.pop("previous_response_id"), b.pop("instructions"))):
        unlinked = mutate(second, change, "second")
        failures = run("instructions_not_carried", {**chained, "second": unlinked}, "responses", of="first")
        assert_finding(failures, "instructions_not_carried", Verdict.IGNORED)
        assert "previous_response_id accepted but not shown honoured" in failures[0].message
    # Linked, but no instructions field: nothing shows what the turn ran under.
    bare = mutate(second, lambda b: b.pop("instructions"), "second")
    assert_finding(run("instructions_not_carried", {**chained, "second": bare}, "responses", of="first"),
                   "instructions_not_carried", Verdict.FAIL, missing=["instructions"])
    # null instructions are the documented answer to a chained request that sent none
    null = mutate(second, lambda b: b.update(instructions=None), "second")
    assert run("instructions_not_carried", {**chained, "second": null}, "responses", of="first") == []


# ---------------------------------------------------------------- stream_parity (text aspect)


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_stream_parity_compares_text_only_for_a_deterministic_target(api):
    record = next(r for r in creates(api, True) if (observed(r).text or "").strip() and not observed(r).tool_calls)
    streamed = exchange_from_record(record, "main")
    plain_body = copy.deepcopy(observed(record).body)
    set_text(api, observed(record).text + " (worded differently)")(plain_body)
    request = {k: v for k, v in record["request_body"].items() if k not in ("stream", "stream_options")}
    plain = Exchange("POST", record["url"], request, 200, {"content-type": "application/json"},
                     json.dumps(plain_body), step="plain.main")
    pair = {"plain.main": plain, "main": streamed}
    failures = run("stream_parity", pair, api, deterministic=True, aspects=["text"], step="main")
    assert_finding(failures, "stream_parity", Verdict.FAIL)
    assert "text" in failures[0].message
    assert run("stream_parity", pair, api, aspects=["text"], step="main") == []
    assert run("stream_parity", pair, api, aspects=["finish", "text"], step="main") == []
    assert run("stream_parity", pair, api, deterministic=True, aspects=["finish"], step="main") == []


def test_state_checks_report_a_missing_step_as_an_error():
    created, fetched = sequences("responses", "GET", 200)[0]
    assert_finding(run("retrievable", steps(fetch=fetched), "responses", of="create"), "retrievable", Verdict.ERROR)


def test_a_case_schema_is_checked_once_and_never_mistaken_for_a_like_one(monkeypatch):
    """Case schemas are kept by their repr: one whose property key is the integer 1 (YAML can build it) is not
    the one whose key is the string "1"."""
    import jsonschema

    from conformance.checks import behaviour

    calls = []
    real = jsonschema.Draft202012Validator.check_schema
    monkeypatch.setattr(jsonschema.Draft202012Validator, "check_schema",
                        classmethod(lambda cls, schema, **kw: calls.append(1) or real.__func__(cls, schema, **kw)))
    monkeypatch.setattr(behaviour, "_CASE_VALIDATORS", {})
    by_string = {"properties": {"1": {"type": "string"}}}
    assert behaviour.schema_problems({"1": 5}, by_string) == ["/1: 5 is not of type 'string'"]
    assert behaviour.schema_problems({"1": 5}, dict(by_string)) and len(calls) == 1  # checked once
    assert behaviour.schema_problems({"1": 5}, {"properties": {1: {"type": "string"}}}) == []
