"""Never fail OpenAI itself (issue 8): what OpenAI does is not failed, what a deviant server does still is.

Built from genuine OpenAI recordings of ../shared/corpus (read at run time), changed by code where no recording
has the case (the corpus has no reasoning stream with ``encrypted_content``, no unclosed server-side item, no
altered recording): the changes are those of ``support/mutants.py``.
"""

from __future__ import annotations

import copy
import json

import pytest

from conformance.api.history import HISTORY, INFORMATIONAL
from conformance.audit import altered
from conformance.transport.recordings import decode_interaction
from corpus import CORPUS_MISSING, corpus_available, load_corpus
from support import mutants
from support.cassettes import from_corpus_record
from support.contract_evidence import entries
from support.mutants import RECENT, audit, bases, date

pytestmark = [pytest.mark.corpus, pytest.mark.skipif(not corpus_available(), reason=CORPUS_MISSING)]
MUTATION = {m.name: m for m in mutants.MUTATIONS}


def _base(name: str, want=lambda r: True) -> dict:
    """The newest genuine base of a mutation that it applies to and that ``want`` accepts (a mutated copy)."""
    mutation = MUTATION[name]
    for record in bases(load_corpus(), mutation):
        candidate = copy.deepcopy(record)
        if want(record) and mutation.mutate(candidate):
            return candidate
    pytest.skip(f"no genuine base for {name}")


def _checks(entry: dict, verdict: str = "fail") -> set[str]:
    return {f["check"] for f in entry["failures"] if f["verdict"] == verdict}


def _reasoning_with_text(record: dict) -> bool:
    body = record["response_body"]
    return isinstance(body, str) and "response.output_text.delta" in body and '"reasoning"' in body


# -- opaque fields ----------------------------------------------------------------------------------------------

def test_a_reasoning_stream_whose_encrypted_content_differs_between_events_passes():
    record = _base("stream-reencrypted-reasoning", _reasoning_with_text)
    assert "first-encryption" in record["response_body"] and "second-encryption" in record["response_body"]
    entry = audit(record)
    assert entry["verdict"] in ("pass", "stale"), entry["failures"]
    assert "stream_reassembly" not in {f["check"] for f in entry["failures"] + entry.get("notes", [])}


def test_the_same_stream_with_a_changed_delta_still_fails():
    record = _base("stream-reencrypted-changed-delta", _reasoning_with_text)
    entry = audit(record)
    assert entry["verdict"] == "fail" and "stream_reassembly" in _checks(entry), entry["failures"]
    message = next(f["message"] for f in entry["failures"] if f["check"] == "stream_reassembly")
    assert "(changed)" in message and "encrypted_content" not in message


def test_a_non_opaque_field_of_the_reasoning_item_still_counts():
    entry = audit(_base("stream-changed-terminal-reasoning"))
    message = next(f["message"] for f in entry["failures"] if f["check"] == "stream_reassembly")
    assert "summary" in message, message


# -- server-side tool items -------------------------------------------------------------------------------------

def test_a_server_side_item_left_open_is_a_note_when_the_terminal_output_holds_it():
    entry = audit(_base("stream-server-item-left-open"))
    assert entry["verdict"] in ("pass", "stale"), entry["failures"]
    note = next(n for n in entry["notes"] if n["check"] == "stream_nesting")
    assert "still open" in note["message"] and "server-side" in note["message"]


def test_a_server_side_item_the_terminal_output_lacks_still_fails():
    entry = audit(_base("stream-server-item-lost"))
    assert entry["verdict"] == "fail" and {"stream_nesting", "stream_reassembly"} <= _checks(entry), entry


def test_a_message_item_left_open_still_fails():
    entry = audit(_base("stream-message-left-open"))
    assert "stream_nesting" in _checks(entry), entry


# -- late fields by role ----------------------------------------------------------------------------------------

# Where each informational late field sits in a genuine non-stream body (the contracts require it there).
PLACES = {
    ("chat", "system_fingerprint"): ("system_fingerprint",),
    ("chat", "refusal"): ("choices", 0, "message", "refusal"),
    ("chat", "completion_tokens_details"): ("usage", "completion_tokens_details"),
    ("chat", "reasoning_tokens"): ("usage", "completion_tokens_details", "reasoning_tokens"),
    ("chat", "prompt_tokens_details"): ("usage", "prompt_tokens_details"),
    ("chat", "cached_tokens"): ("usage", "prompt_tokens_details", "cached_tokens"),
    ("chat", "audio_tokens"): ("usage", "prompt_tokens_details", "audio_tokens"),
    ("chat", "accepted_prediction_tokens"): ("usage", "completion_tokens_details", "accepted_prediction_tokens"),
    ("chat", "rejected_prediction_tokens"): ("usage", "completion_tokens_details", "rejected_prediction_tokens"),
    ("chat", "service_tier"): ("service_tier",),
    ("chat", "annotations"): ("choices", 0, "message", "annotations"),
    ("chat", "cache_write_tokens"): ("usage", "prompt_tokens_details", "cache_write_tokens"),
    ("responses", "service_tier"): ("service_tier",),
    ("responses", "top_logprobs"): ("top_logprobs",),
    ("responses", "safety_identifier"): ("safety_identifier",),
    ("responses", "prompt_cache_key"): ("prompt_cache_key",),
    ("responses", "max_tool_calls"): ("max_tool_calls",),
    ("responses", "background"): ("background",),
    ("responses", "logprobs"): ("output", "message", "content", 0, "logprobs"),
    ("responses", "billing"): ("billing",),
    ("responses", "prompt_cache_retention"): ("prompt_cache_retention",),
    ("responses", "completed_at"): ("completed_at",),
    ("responses", "frequency_penalty"): ("frequency_penalty",),
    ("responses", "presence_penalty"): ("presence_penalty",),
    ("responses", "moderation"): ("moderation",),
    ("responses", "cache_write_tokens"): ("usage", "input_tokens_details", "cache_write_tokens"),
}


def _required_informational() -> set[tuple[str, str]]:
    return {(e.api, name) for e in entries() for name in e.evidence.get("informational") or ()}


def test_every_informational_late_field_a_contract_requires_is_tested():
    late = {(e.api, e.name) for e in HISTORY if e.role == INFORMATIONAL}
    assert late & _required_informational() == set(PLACES)


def _resolve(body: dict, path: tuple):
    """The parent and key of ``path`` in a body (``"message"`` picks the first output item of that type)."""
    node = body
    for part in path[:-1]:
        if part == "message" and isinstance(node, list):
            node = next((i for i in node if isinstance(i, dict) and i.get("type") == "message"), None)
        elif isinstance(node, dict) and part in node or isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None, None
        if node is None:
            return None, None
    return (node, path[-1]) if isinstance(node, dict) else (None, None)


@pytest.mark.parametrize("api, name", sorted(PLACES), ids=lambda v: str(v))
def test_an_informational_late_fields_absence_is_never_fail(api, name):
    """Recorded after the month from which OpenAI sent it (2026-08-20), a genuine body without it is not fail."""
    path = PLACES[(api, name)]
    endpoint = "chat/completions" if api == "chat" else "responses"
    found = None
    for record in sorted(load_corpus(api=api, stream=False), key=date, reverse=True):
        if record["status"] != 200 or record["method"] != "POST" or record["endpoint"] != endpoint:
            continue
        body = copy.deepcopy(record["response_body"])
        parent, key = _resolve(body, path)
        if parent is not None and (key in parent or name == "cache_write_tokens" and api == "chat"):
            found = dict(record, response_body=body, response_date=RECENT)
            parent.pop(key, None)
            break
    if found is None:
        pytest.skip(f"no genuine {api} body has {name}")
    entry = audit(found)
    assert entry["verdict"] != "fail", entry["failures"]
    assert any(name in note.get("missing", []) for note in entry.get("notes", [])), entry


def test_a_protocol_field_absent_after_it_became_universal_still_fails():
    """A compatible server's stream without sequence_number, recorded after 2025-08, is caught."""
    entry = audit(_base("stream-no-sequence-number"))
    assert entry["verdict"] == "fail" and "stream_sequence" in _checks(entry)


def test_an_informational_entry_does_not_excuse_a_protocol_field_of_the_same_name():
    """History's `summary` is the request echo; a reasoning item without its `summary` array fails."""
    def strip(record: dict) -> bool:
        for item in record["response_body"].get("output") or []:
            if isinstance(item, dict) and item.get("type") == "reasoning" and "summary" in item:
                del item["summary"]
                return True
        return False

    for record in sorted(load_corpus(api="responses", stream=False), key=date, reverse=True):
        candidate = copy.deepcopy(record)
        if candidate["status"] == 200 and isinstance(candidate["response_body"], dict) and strip(candidate):
            candidate["response_date"] = "Wed, 01 Oct 2025 10:00:00 GMT"  # before the echo's since, 2025-10
            entry = audit(candidate)
            assert entry["verdict"] == "fail" and "schema" in _checks(entry), entry
            return
    pytest.skip("no genuine response with a reasoning item")


# -- tool-call arguments ----------------------------------------------------------------------------------------

def test_non_json_arguments_are_a_note_unless_the_tool_is_strict():
    lenient = audit(_base("chat-broken-arguments-not-strict"))
    assert lenient["verdict"] != "fail" and "arguments_string" in {n["check"] for n in lenient["notes"]}
    strict = audit(_base("chat-broken-arguments-strict"))
    assert strict["verdict"] == "fail" and "arguments_string" in _checks(strict)


# -- recordings that look edited --------------------------------------------------------------------------------

@pytest.mark.parametrize("name, check", [
    ("chat-stream-relabelled", "stream_content_type"),
    ("chat-stream-usage-removed", "chat_stream_usage"),
    ("chat-stream-usage-unasked", "chat_stream_usage"),
    ("chat-stream-no-done", "stream_framing"),
    ("chat-no-finish-reason", "schema"),
    ("stream-no-terminal", "stream_envelope"),
    ("stream-no-created", "stream_envelope"),
])
def test_a_recording_of_openai_that_contradicts_itself_says_it_looks_edited(name, check):
    record = _base(name)
    entry = audit(record)
    message = next(f["message"] for f in entry["failures"] if f["check"] == check and f["verdict"] == "fail")
    assert message.startswith(altered.PREFIX), message
    other_host = dict(record, url=record["url"].replace("https://api.openai.com", "http://127.0.0.1:8080"))
    elsewhere = audit(other_host)
    assert check in _checks(elsewhere) and not any(altered.PREFIX in f["message"] for f in elsewhere["failures"])


def test_a_2023_chat_body_without_finish_reason_looks_edited_but_one_without_system_fingerprint_is_genuine():
    record = next(r for r in sorted(load_corpus(api="chat", stream=False), key=date)
                  if r["status"] == 200 and date(r).startswith("2023") and isinstance(r["response_body"], dict))
    assert "system_fingerprint" not in record["response_body"]  # 2023: OpenAI did not send it yet
    assert audit(copy.deepcopy(record))["verdict"] in ("pass", "stale")
    edited = copy.deepcopy(record)
    del edited["response_body"]["choices"][0]["finish_reason"]
    entry = audit(edited)
    message = next(f["message"] for f in entry["failures"] if f["check"] == "schema")
    assert message.startswith(altered.PREFIX) and "finish_reason" in message.split(".")[0], message


def test_no_genuine_interaction_looks_edited():
    looks_edited = []
    for n, record in enumerate(load_corpus()):
        exchange = decode_interaction("corpus", n, from_corpus_record(record, "text")).exchange
        if altered.reasons(exchange):
            looks_edited.append((record["source_repo"], n, altered.reasons(exchange)))
    assert looks_edited == []


def test_the_report_says_what_the_audit_noted():
    """Notes travel in the JSON report beside the verdict (specs/audit-report.schema.json `notes`)."""
    import jsonschema
    from pathlib import Path

    schema = json.loads((Path(__file__).resolve().parents[1] / "conformance" / "specs"
                         / "audit-report.schema.json").read_text())
    entry = audit(_base("responses-no-billing"))
    assert entry["verdict"] == "pass" and entry["notes"]
    jsonschema.Draft202012Validator(schema["$defs"]["interaction"]).validate(entry)


@pytest.mark.parametrize("delta, final", [
    ({"audio": {"expires_at": 1780697155}}, True),
    ({"audio": {"expires_at": 1780697155, "id": None}, "content": None}, True),  # null keys carry nothing
    ({"audio": {"expires_at": 1780697155}, "content": "", "tool_calls": []}, True),  # nor empty ones
    ({"audio": {"expires_at": 1780697155, "data": "AAAA"}}, False),  # more audio: not the final update
    ({"audio": {"expires_at": 1780697155}, "content": "hi"}, False),
    ({"audio": {"expires_at": True}}, False),
    ({"audio": {"expires_at": "1780697155"}}, False),
    ({"audio": {}}, False),
    ({}, False),
    (None, False),
])
def test_the_final_audio_update_is_its_expiry_alone(delta, final):
    """OpenAI omits finish_reason from the final audio update, which carries only ``audio.expires_at``."""
    from conformance.api.vocabulary import is_audio_expiry

    assert is_audio_expiry(delta) is final


AUDIO_ANSWER = [{"role": "assistant", "audio": {"id": "audio_1", "transcript": "Hi"}}, {"audio": {"data": "AAAA"}}]


@pytest.mark.parametrize("deltas, finished", [
    (AUDIO_ANSWER + [{"audio": {"expires_at": 1}}], True),
    (AUDIO_ANSWER, False),  # no final update
    (AUDIO_ANSWER + [{"audio": {"expires_at": 1}}, {"audio": {"data": "BBBB"}}], False),  # audio after it
    ([{"role": "assistant", "content": "Hello"}, {"audio": {"expires_at": 1}}], False),  # a text answer
    ([{"role": "assistant", "audio": {"id": "audio_1", "data": "AAAA"}}, {"audio": {"expires_at": 1}}], False),
    ([], False),
])
def test_only_a_complete_audio_answer_ends_with_its_final_update(deltas, finished):
    """As openai-node finishes an audio choice: the final update after an id, data and a transcript (a text stream
    whose last chunk is an expiry, or audio without its transcript, has not finished)."""
    from conformance.api.vocabulary import ends_with_final_audio

    assert ends_with_final_audio(deltas) is finished
