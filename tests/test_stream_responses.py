"""The Responses stream grammar: every rule fails on a real recorded stream changed to break only that rule.

Base streams are real OpenAI recordings from the corpus (read at run time, never copied);
each test edits one thing with code and asserts which check now fails, and that no other does.
"""

from __future__ import annotations

import copy
import datetime
import json
import re

import pytest

from support.findings import missing_fields, only_missing
from conformance.api import contracts
from conformance.api.history import first_seen_any_api

LATER_FIELDS = first_seen_any_api()
from conformance.transport.exchange import Exchange
from conformance.transport.sse import parse_sse
from conformance.checks.stream import check_stream
from conformance.observations.streams.responses import EVENTS
from support.sse import frames, render, renumber
from corpus import CORPUS_MISSING, corpus_available, exchange_from_record, load_corpus

pytestmark = pytest.mark.skipif(not corpus_available(), reason=CORPUS_MISSING)
URL = "https://api.openai.com/v1/responses"


def _types(record: dict) -> list[str]:
    return [e.type or "" for e in parse_sse(record["response_body"])]


def _pick(records: list[dict], want: callable) -> dict:
    """The first record (in a stable order) whose stream passes every check under compat and satisfies ``want``."""
    for record in sorted(records, key=lambda r: (r["cassette_path"], r["index"])):
        if want(record) and not check_stream(exchange_from_record(record), "compat"):
            return record
    pytest.skip("no suitable base stream in the corpus")


@pytest.fixture(scope="module")
def streams() -> list[dict]:
    """Official, genuine, successful Responses streams (POST) with sequence numbers."""
    out = []
    for record in load_corpus(api="responses", stream=True):
        if record["status"] == 200 and record["method"] == "POST" and '"sequence_number"' in record["response_body"]:
            out.append(record)
    return out


@pytest.fixture(scope="module")
def text_base(streams) -> dict:
    """A one-message text stream with several deltas."""
    def want(r):
        types = _types(r)
        return types.count("response.output_item.added") == 1 and types.count("response.output_text.delta") >= 3 \
            and "response.output_text.annotation.added" not in types
    return _pick(streams, want)


@pytest.fixture(scope="module")
def call_base(streams) -> dict:
    """A function-call stream with several argument deltas."""
    return _pick(streams, lambda r: _types(r).count("response.function_call_arguments.delta") >= 2)


@pytest.fixture(scope="module")
def summary_base(streams) -> dict:
    """A stream with a reasoning summary."""
    return _pick(streams, lambda r: "response.reasoning_summary_text.delta" in _types(r))


def exchange(text: str, *, url: str = URL, method: str = "POST", request: dict | None = None,
             content_type: str = "text/event-stream") -> Exchange:
    return Exchange(method, url, request if request is not None else {"model": "m", "input": "x", "stream": True},
                    200, {"content-type": content_type}, text)


def edited(record: dict, edit) -> list[list]:
    """The stream's frames after ``edit(frames)`` (which changes them in place)."""
    pairs = frames(parse_sse(record["response_body"]))
    edit(pairs)
    return pairs


def failing(ex: Exchange, profile: str) -> dict[str, object]:
    return {f.check: f for f in check_stream(ex, profile)}


def _what(failure) -> tuple:
    """A failure's problems without their locations (event indexes move when a test inserts or drops events)."""
    problems = failure.evidence.get("problems") if isinstance(failure.evidence, dict) else None
    return tuple(p["message"] for p in problems) if problems else (failure.message,)


def new_failures(record: dict, pairs: list[list], profile: str = "compat", **kw) -> dict[str, object]:
    """Checks failing on the edited stream that did not fail (or failed differently) on the real one."""
    before = failing(exchange(record["response_body"], **kw), profile)
    after = failing(exchange(render(pairs), **kw), profile)
    return {name: f for name, f in after.items() if name not in before or _what(before[name]) != _what(f)}


def at(pairs: list[list], kind: str, nth: int = 0) -> int:
    """The position of the nth event of type ``kind``."""
    found = [i for i, (_, p) in enumerate(pairs) if isinstance(p, dict) and p.get("type") == kind]
    return found[nth]


def only(found: dict, check: str, pattern: str = "") -> object:
    """Assert that exactly ``check`` newly fails (with a message matching ``pattern``); return the failure."""
    assert set(found) == {check}, {k: v.message for k, v in found.items()}
    assert re.search(pattern, found[check].message), found[check].message
    return found[check]


# -- real traffic passes ---------------------------------------------------------------------------------------

def _month(record: dict) -> str:
    for event in parse_sse(record["response_body"]):
        if isinstance(event.json, dict) and isinstance(event.json.get("response"), dict):
            stamp = event.json["response"].get("created_at")
            if isinstance(stamp, (int, float)):
                return datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).strftime("%Y-%m")
    return "0000-00"


def test_real_streams_since_2025_07_pass_the_openai_profile(streams):
    """Every grammar rule holds on real OpenAI streams; the only findings are fields OpenAI added after the
    recording (only_missing, the audit's 'stale'), never a wrong value."""
    recent = [r for r in streams if _month(r) >= "2025-07"]
    assert len(recent) > 150
    for record in recent:
        for failure in check_stream(exchange_from_record(record), "openai"):
            assert failure.check == "stream_event_schema", (record["cassette_path"], failure.message)
            assert only_missing(failure), failure.message
            for name in missing_fields(failure):
                assert LATER_FIELDS.get(name, "9999") >= _month(record), (name, record["cassette_path"])


def test_real_streams_pass_compat_and_resumed_streams_pass_openai():
    records = [r for r in load_corpus(api="responses", stream=True) if r["status"] == 200]
    passing = [r for r in records if not check_stream(exchange_from_record(r), "compat")]
    assert len(passing) >= len(records) - 2  # the two 2025-03 streams predate sequence_number
    resumed = [r for r in records if r["method"] == "GET"]
    assert resumed, "the corpus has resumed (GET ...?starting_after=N) streams"
    for record in resumed:
        found = {f.check for f in check_stream(exchange_from_record(record), "openai")}
        assert found <= {"stream_event_schema"}, found


def test_streams_before_sequence_numbers_are_reported_as_missing_only():
    old = [r for r in load_corpus(api="responses", stream=True)
           if r["status"] == 200 and '"sequence_number"' not in r["response_body"]]
    assert old
    for record in old:
        failure = failing(exchange_from_record(record), "compat")["stream_sequence"]
        assert missing_fields(failure) == ["sequence_number"] and only_missing(failure)


def test_the_table_and_the_contracts_agree():
    """Every event type of the grammar table has a contract, which requires the ids and indexes the table says
    the event carries."""
    for profile in ("openai", "compat", "open-responses"):
        for kind, rule in EVENTS.items():
            path = contracts.schema_path(profile, f"events/{rule.schema}")
            assert path, (profile, kind)
            schema = json.loads(path.read_text())
            assert kind in schema["properties"]["type"]["enum"], (profile, kind)
            assert set(rule.carries) <= set(schema["required"]), (profile, kind)


# -- framing -----------------------------------------------------------------------------------------------------

def test_event_line_must_equal_the_type(text_base):
    def edit(pairs):
        pairs[at(pairs, "response.output_text.delta")][0] = "response.output_text.done"
    only(new_failures(text_base, edited(text_base, edit)), "stream_framing", r"event #\d+ .*differs from the JSON type")


def test_event_lines_are_required_except_under_compat(text_base):
    def edit(pairs):
        for pair in pairs:
            pair[0] = None
    pairs = edited(text_base, edit)
    only(new_failures(text_base, pairs, "openai"), "stream_framing", r"no `event:` line.*and the same on")
    assert not new_failures(text_base, pairs, "compat")


def test_data_must_be_json_and_typed(text_base):
    only(new_failures(text_base, edited(text_base, lambda p: p.append([None, "{oops"]))), "stream_framing",
         "not JSON")
    only(new_failures(text_base, edited(text_base, lambda p: p.append([None, {"foo": 1}]))), "stream_framing",
         "no JSON `type`")


def test_done_marker_per_profile(text_base):
    with_done = edited(text_base, lambda p: p.append([None, "[DONE]"]))
    only(new_failures(text_base, with_done, "openai"), "stream_framing", r"OpenAI Responses streams .* no \[DONE\]")
    assert not new_failures(text_base, with_done, "compat")
    base_or = failing(exchange(text_base["response_body"]), "open-responses")["stream_framing"]
    assert missing_fields(base_or) == ["[DONE]"] and only_missing(base_or)
    assert "stream_framing" not in failing(exchange(render(with_done)), "open-responses")

    def early(pairs):
        pairs.insert(len(pairs) - 1, [None, "[DONE]"])
    only(new_failures(text_base, edited(text_base, early)), "stream_framing", r"not the last event \(1 more")


def test_an_empty_stream_is_reported():
    assert set(failing(exchange(""), "compat")) == {"stream_framing"}


# -- event schemas ------------------------------------------------------------------------------------------------

def test_wrong_field_type(text_base):
    def edit(pairs):
        pairs[at(pairs, "response.output_text.delta")][1]["logprobs"] = "none"
    found = only(new_failures(text_base, edited(text_base, edit)), "stream_event_schema", "logprobs.*not of type")
    assert only_missing(found) in (None, False)


def test_events_without_indexes_fail_the_schema_only(text_base):
    """llama-server: item events without output_index and content_index (the SDK's stream helper crashes)."""
    def edit(pairs):
        for _, payload in pairs:
            if payload.get("type", "").startswith(("response.output_", "response.content_part")):
                payload.pop("output_index", None)
                payload.pop("content_index", None)
    found = only(new_failures(text_base, edited(text_base, edit)), "stream_event_schema", "output_index")
    assert missing_fields(found) == ["content_index", "output_index"] and only_missing(found)


def test_embedded_response_in_created_must_be_whole(text_base):
    """llama-server: response.created/in_progress carry only id, object and status."""
    def edit(pairs):
        for kind in ("response.created", "response.in_progress"):
            response = pairs[at(pairs, kind)][1]["response"]
            for key in list(response):
                if key not in ("id", "object", "status"):
                    del response[key]
    found = only(new_failures(text_base, edited(text_base, edit)), "stream_event_schema", "created_at")
    assert {"created_at", "model", "output"} <= set(missing_fields(found))


def test_terminal_response_passes_the_response_contract(text_base):
    def edit(pairs):
        pairs[at(pairs, "response.completed")][1]["response"]["usage"] = "lots"
    only(new_failures(text_base, edited(text_base, edit)), "stream_event_schema", r"response\.usage")


def test_raw_reasoning_event_names_per_profile(streams):
    """OpenAI names raw reasoning events response.reasoning_text.*, Open Responses response.reasoning.*."""
    base = _pick(streams, lambda r: "response.output_item.added" in _types(r) and any(
        isinstance(e.json, dict) and (e.json.get("item") or {}).get("type") == "reasoning"
        for e in parse_sse(r["response_body"])))

    def with_reasoning(name):
        def edit(pairs):
            added = next(i for i, (_, p) in enumerate(pairs) if p.get("type") == "response.output_item.added"
                         and p["item"]["type"] == "reasoning")
            item_id, index = pairs[added][1]["item"]["id"], pairs[added][1]["output_index"]
            common = {"item_id": item_id, "output_index": index, "content_index": 0, "sequence_number": 0}
            pairs[added + 1:added + 1] = [
                [f"{name}.delta", {"type": f"{name}.delta", **common, "delta": "thin"}],
                [f"{name}.delta", {"type": f"{name}.delta", **common, "delta": "king"}],
                [f"{name}.done", {"type": f"{name}.done", **common, "text": "thinking"}]]
            part = {"type": "reasoning_text", "text": "thinking"}
            for _, payload in pairs:
                items = [payload.get("item")] + list((payload.get("response") or {}).get("output") or [])
                for item in items:
                    if isinstance(item, dict) and item.get("id") == item_id and payload["type"] != \
                            "response.output_item.added":
                        item["content"] = [part]
            renumber(pairs)
        return edited(base, edit)

    openai_names, or_names = with_reasoning("response.reasoning_text"), with_reasoning("response.reasoning")
    assert not new_failures(base, openai_names, "openai") and not new_failures(base, openai_names, "compat")
    assert not new_failures(base, or_names, "compat")
    only(new_failures(base, or_names, "openai"), "stream_event_schema", "response.reasoning_text.delta")
    or_found = failing(exchange(render(openai_names)), "open-responses")["stream_event_schema"].message
    assert "'response.reasoning_text.delta' is not this profile's name" in or_found
    or_clean = failing(exchange(render(or_names)), "open-responses").get("stream_event_schema")
    assert or_clean is None or "not this profile's name" not in or_clean.message


# -- sequence_number -------------------------------------------------------------------------------------------------

def test_sequence_gap(text_base):
    def edit(pairs):
        renumber(pairs)
        for _, payload in pairs[5:]:
            payload["sequence_number"] += 1
    pairs = edited(text_base, edit)
    only(new_failures(text_base, pairs, "openai"), "stream_sequence", r"expected sequence_number 5 .*saw 6")
    assert not new_failures(text_base, pairs, "compat")  # still rising


def test_sequence_must_start_at_zero(text_base):
    only(new_failures(text_base, edited(text_base, lambda p: renumber(p, 3)), "openai"), "stream_sequence",
         "expected sequence_number 0 .the first event., saw 3")


def test_sequence_must_rise(text_base):
    def edit(pairs):
        pairs[4][1]["sequence_number"] = pairs[3][1]["sequence_number"]
    only(new_failures(text_base, edited(text_base, edit)), "stream_sequence", "does not rise")


def test_sequence_missing_on_some_or_all_events(text_base):
    def some(pairs):
        for _, payload in pairs[2:5]:
            del payload["sequence_number"]
    found = only(new_failures(text_base, edited(text_base, some)), "stream_sequence", "no sequence_number")
    assert missing_fields(found) == ["sequence_number"] and only_missing(found)

    def none(pairs):  # aimock
        for _, payload in pairs:
            del payload["sequence_number"]
    only(new_failures(text_base, edited(text_base, none)), "stream_sequence", "no event carries sequence_number")


def test_sequence_number_type_is_the_schemas_finding(text_base):
    def edit(pairs):
        pairs[3][1]["sequence_number"] = str(pairs[3][1]["sequence_number"])
    only(new_failures(text_base, edited(text_base, edit), "openai"), "stream_event_schema",
         "sequence_number: '3' is not of type 'integer'")


def test_resumed_stream_continues_numbering(text_base):
    response_id = parse_sse(text_base["response_body"])[0].json["response"]["id"]
    tail = frames(parse_sse(text_base["response_body"]))[2:]  # what comes after starting_after=1
    url = f"{URL}/{response_id}?stream=true&starting_after=1"
    resumed = exchange(render(tail), url=url, method="GET", request={})
    assert not check_stream(resumed, "openai") or {f.check for f in check_stream(resumed, "openai")} == {
        "stream_event_schema"}
    wrong = exchange(render(tail), url=url.replace("starting_after=1", "starting_after=5"), method="GET", request={})
    assert "expected sequence_number 6" in failing(wrong, "openai")["stream_sequence"].message


# -- envelope --------------------------------------------------------------------------------------------------------

def test_created_comes_first(text_base):
    def edit(pairs):
        pairs[0], pairs[1] = pairs[1], pairs[0]
        renumber(pairs)
    only(new_failures(text_base, edited(text_base, edit)), "stream_envelope",
         "expected response.created first, saw response.in_progress")


def test_in_progress_required_under_openai(text_base):
    def edit(pairs):
        del pairs[at(pairs, "response.in_progress")]
        renumber(pairs)
    pairs = edited(text_base, edit)
    found = only(new_failures(text_base, pairs, "openai"), "stream_envelope", "no response.in_progress")
    assert missing_fields(found) == ["response.in_progress"]
    assert not new_failures(text_base, pairs, "compat")


def test_terminal_event_required_once_and_last(text_base):
    def drop(pairs):
        del pairs[at(pairs, "response.completed")]
    found = only(new_failures(text_base, edited(text_base, drop)), "stream_envelope", "without a terminal event")
    assert only_missing(found)

    def twice(pairs):
        pairs.append(copy.deepcopy(pairs[-1]))
        renumber(pairs)
    only(new_failures(text_base, edited(text_base, twice)), "stream_envelope", "after the terminal event")

    def late(pairs):
        pairs.append(copy.deepcopy(pairs[at(pairs, "response.in_progress")]))
        renumber(pairs)
    only(new_failures(text_base, edited(text_base, late)), "stream_envelope", "after the terminal event")


def test_terminal_status_and_response_id(text_base):
    def status(pairs):
        pairs[at(pairs, "response.completed")][1]["response"]["status"] = "incomplete"
    only(new_failures(text_base, edited(text_base, status)), "stream_envelope",
         "response.status is 'incomplete', expected 'completed'")

    def other_id(pairs):
        pairs[at(pairs, "response.in_progress")][1]["response"]["id"] += "x"
    only(new_failures(text_base, edited(text_base, other_id)), "stream_envelope", "response.id .* differs")


# -- nesting -----------------------------------------------------------------------------------------------------------

def test_event_for_an_item_that_was_never_opened(text_base):
    def edit(pairs):
        pairs[at(pairs, "response.output_text.delta")][1]["output_index"] = 7
    only(new_failures(text_base, edited(text_base, edit)), "stream_nesting",
         "output_index 7 was never opened by response.output_item.added")


def test_output_items_are_numbered_in_order(streams):
    two_calls = _pick(streams, lambda r: _types(r).count("response.output_item.added") == 2
                      and "response.function_call_arguments.delta" in _types(r))

    def edit(pairs):
        for _, payload in pairs:
            if payload.get("output_index") == 1:
                payload["output_index"] = 2
    found = only(new_failures(two_calls, edited(two_calls, edit)), "stream_nesting", "expected output_index 1 .*saw 2")
    assert found.evidence["count"] == 1  # said once, not on every later event of that item


def test_item_id_must_match_the_item(text_base):
    def edit(pairs):
        pairs[at(pairs, "response.output_text.delta", 1)][1]["item_id"] = "msg_other"
    only(new_failures(text_base, edited(text_base, edit)), "stream_nesting", "item_id 'msg_other' is not the id")


def test_parts_and_texts_must_close_before_their_item(text_base):
    def no_part_done(pairs):
        del pairs[at(pairs, "response.content_part.done")]
        renumber(pairs)
    only(new_failures(text_base, edited(text_base, no_part_done)), "stream_nesting", "content part 0 .* still open")

    def no_text_done(pairs):
        del pairs[at(pairs, "response.output_text.done")]
        renumber(pairs)
    only(new_failures(text_base, edited(text_base, no_text_done)), "stream_nesting", "has no .done event")


def test_delta_after_done(text_base):
    def edit(pairs):
        late = copy.deepcopy(pairs[at(pairs, "response.output_text.delta")])
        late[1]["delta"] = ""
        pairs.insert(at(pairs, "response.output_text.done") + 1, late)
        renumber(pairs)
    only(new_failures(text_base, edited(text_base, edit)), "stream_nesting", r"comes after response.output_text.done")


def test_items_must_close_before_the_terminal_event(text_base):
    def edit(pairs):
        del pairs[at(pairs, "response.output_item.done")]
        renumber(pairs)
    only(new_failures(text_base, edited(text_base, edit)), "stream_nesting", "still open: no response.output_item.done")


def test_content_index_follows_the_parts(text_base):
    def edit(pairs):
        pairs[at(pairs, "response.content_part.added")][1]["content_index"] = 1
    found = only(new_failures(text_base, edited(text_base, edit)), "stream_nesting", "expected content_index 0 .*saw 1")
    assert "content_index 0 of output item 0 was never opened" in str(found.evidence)


def test_event_must_belong_to_its_item_type(text_base):
    def edit(pairs):
        delta = pairs[at(pairs, "response.output_text.delta")][1]
        probe = {"type": "response.web_search_call.searching", "item_id": delta["item_id"],
                 "output_index": delta["output_index"], "sequence_number": 0}
        pairs.insert(at(pairs, "response.output_text.delta"), [probe["type"], probe])
        renumber(pairs)
    only(new_failures(text_base, edited(text_base, edit)), "stream_nesting",
         "belongs to a message item; expected a web_search_call item")


# -- reassembly ------------------------------------------------------------------------------------------------------

def test_deltas_concatenate_to_the_done_text(text_base):
    def edit(pairs):
        pairs[at(pairs, "response.output_text.delta", 1)][1]["delta"] += "#"
    only(new_failures(text_base, edited(text_base, edit)), "stream_reassembly", "deltas concatenate to")


def test_done_text_equals_the_part_and_the_item(text_base):
    def part(pairs):
        pairs[at(pairs, "response.content_part.done")][1]["part"]["text"] += "#"
    only(new_failures(text_base, edited(text_base, part)), "stream_reassembly", r"part\.text is")

    def item(pairs):
        pairs[at(pairs, "response.output_item.done")][1]["item"]["content"][0]["text"] += "#"
    found = only(new_failures(text_base, edited(text_base, item)), "stream_reassembly", r"item\.content\[0\]\.text")
    assert "response.output[0] differs" in found.message


def test_terminal_output_equals_the_streamed_items(text_base):
    def changed(pairs):
        pairs[at(pairs, "response.completed")][1]["response"]["output"][0]["status"] = "incomplete"
    only(new_failures(text_base, edited(text_base, changed)), "stream_reassembly", r"output\[0\] differs .* in: status")

    def extra(pairs):
        output = pairs[at(pairs, "response.completed")][1]["response"]["output"]
        output.append(copy.deepcopy(output[0]))
    only(new_failures(text_base, edited(text_base, extra)), "stream_reassembly",
         "has 2 items, but the stream announced 1")


def test_function_call_arguments_reassemble(call_base):
    def edit(pairs):
        pairs[at(pairs, "response.function_call_arguments.delta")][1]["delta"] += " "
    only(new_failures(call_base, edited(call_base, edit)), "stream_reassembly", "deltas concatenate to")

    def item(pairs):
        pairs[at(pairs, "response.output_item.done")][1]["item"]["arguments"] = "{}"
    only(new_failures(call_base, edited(call_base, item)), "stream_reassembly", r"item\.arguments is")


def test_reasoning_summary_reassembles(summary_base):
    def edit(pairs):
        pairs[at(pairs, "response.reasoning_summary_part.done")][1]["part"]["text"] += "#"
    only(new_failures(summary_base, edited(summary_base, edit)), "stream_reassembly", r"part\.text")

    def unclosed(pairs):
        del pairs[at(pairs, "response.reasoning_summary_part.done")]
        renumber(pairs)
    only(new_failures(summary_base, edited(summary_base, unclosed)), "stream_nesting", "summary part 0 .* still open")


# -- errors ------------------------------------------------------------------------------------------------------------

def test_error_event_is_reported_with_code_and_message(text_base):
    def edit(pairs):
        pairs[at(pairs, "response.completed")] = ["error", {
            "type": "error", "code": "server_error", "message": "The model crashed", "param": None,
            "sequence_number": 0}]
        renumber(pairs)
    only(new_failures(text_base, edited(text_base, edit)), "stream_error",
         "error event: code 'server_error', message 'The model crashed'")


def test_response_failed_is_reported_with_code_and_message(text_base):
    def edit(pairs):
        index = at(pairs, "response.completed")
        pairs[index][0] = pairs[index][1]["type"] = "response.failed"
        error = {"code": "rate_limit_exceeded", "message": "Slow down"}
        pairs[index][1]["response"].update(status="failed", error=error)
    only(new_failures(text_base, edited(text_base, edit)), "stream_error",
         "response.failed: code 'rate_limit_exceeded', message 'Slow down'")


def test_a_gateway_error_stream_is_reported():
    """LiteLLM 1.108: an HTTP 200 stream holding one untyped error line and [DONE]."""
    text = render([[None, {"error": {"message": "'async for' requires an object with __aiter__ method",
                                     "type": "internal_server_error", "code": "500"}}], [None, "[DONE]"]])
    found = failing(exchange(text), "compat")
    assert set(found) == {"stream_framing", "stream_envelope", "stream_error"}
    assert "code '500', message \"'async for' requires" in found["stream_error"].message
    assert "no response.created" in found["stream_envelope"].message


# -- local servers as measured ----------------------------------------------------------------------------------

def test_aimock_stream_only_lacks_sequence_numbers(text_base):
    def edit(pairs):
        for _, payload in pairs:
            del payload["sequence_number"]
            payload.pop("obfuscation", None)
    assert set(failing(exchange(render(edited(text_base, edit))), "compat")) == {"stream_sequence"}


def test_llama_server_stream_deviations_are_named(text_base):
    def edit(pairs):
        for _, payload in pairs:
            del payload["sequence_number"]
            if payload["type"] not in ("response.created", "response.in_progress", "response.completed"):
                payload.pop("output_index", None)
                payload.pop("content_index", None)
            if payload["type"] in ("response.created", "response.in_progress"):
                payload["response"] = {k: payload["response"][k] for k in ("id", "object", "status")}
    found = failing(exchange(render(edited(text_base, edit))), "compat")
    assert set(found) == {"stream_sequence", "stream_event_schema"}
    assert {"output_index", "content_index", "created_at", "model", "output"} <= set(
        missing_fields(found["stream_event_schema"]))
