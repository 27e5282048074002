"""The speed-ups change no finding.

- ``validate_object`` (fast yes/no check, then ``fastschema.absent``, then jsonschema) returns exactly what
  jsonschema alone returns, over every corpus body and the code-built mutants of real bodies;
- ``run_check`` reports bad parameters from the signature cached at registration exactly as a fresh
  ``inspect.signature(fn).bind`` would, and no longer calls ``inspect.signature`` per call;
- the table of late additions is one table (``conformance/history.py``), no later than the corpus shows.
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
import itertools
import json
from pathlib import Path

import pytest

from conformance.api import contracts, history
from conformance.verdicts import stale as audit_history
from conformance.checks import CHECKS, CheckContext, run_check
from conformance.api.history import first_seen_any_api
from conformance.api.validation import problems_of, role_of, validate_object

LATER_FIELDS = first_seen_any_api()


def contract_for(exchange):
    """The contract of a 2xx non-stream answer of ``exchange`` (None when it has none)."""
    return exchange.route.contract if exchange.route else None
from conformance.transport.exchange import Exchange
from conformance.observations.reassembly import final_response
from conformance.api import fastschema
from conformance.checks.findings import Verdict
from corpus import CORPUS_MISSING, corpus_available, exchange_from_record, load_corpus

PROFILES = ("openai", "compat", "open-responses")
LATE = {entry.name for entry in history.HISTORY}


def profiles_of(name: str) -> list[str]:
    """The profiles with their own file for contract ``name`` (open-responses falls back to compat for most)."""
    return list({contracts.schema_path(profile, name): profile for profile in reversed(PROFILES)}.values())


def by_jsonschema(profile: str, name: str, instance) -> tuple[bool, list[dict]]:
    """(valid, problems) from jsonschema alone: what validate_object returned before the fast paths."""
    errors = list(contracts.validator(profile, name).iter_errors(instance))
    return not errors, problems_of(errors)


def fast_checkers(profile: str, name: str) -> list:
    """Both yes/no pre-checks: the one validate_object uses (jsonschema-rs when installed) and the
    hand-written compiler's (the fallback), so each is compared with jsonschema."""
    return [fastschema.checker(profile, name), fastschema.compiled_checker(profile, name)]


@pytest.fixture(scope="module")
def bodies() -> list[tuple[str, dict]]:
    if not corpus_available():
        pytest.skip(CORPUS_MISSING)
    return corpus_bodies()


def corpus_bodies() -> list[tuple[str, dict]]:
    """(contract, body) for every 2xx JSON body of the corpus that has a contract (official or not, synthetic
    or not), and the final response of every Responses stream (the stream checks validate it too)."""
    out = []
    for record in load_corpus(official=False, genuine=False):
        if record["api"] not in ("chat", "responses"):
            continue
        exchange = exchange_from_record(record)
        if not exchange.ok:
            continue
        if exchange.is_sse:
            final = final_response(exchange.events) if exchange.api == "responses" else None
            if isinstance(final, dict):
                out.append(("response", final))
        elif contract_for(exchange) and isinstance(exchange.json, dict):
            out.append((contract_for(exchange), exchange.json))
    return out


@pytest.mark.corpus
def test_fast_paths_agree_with_jsonschema_on_every_corpus_body(bodies):
    used = {"valid": 0, "absent": 0, "jsonschema": 0}
    for name, body in bodies:
        for profile in profiles_of(name):
            valid, expected = by_jsonschema(profile, name, body)
            for fast in fast_checkers(profile, name):  # None: a keyword it does not know, jsonschema only
                assert fast is None or fast(body) == valid, (profile, name)
            assert validate_object(profile, name, body) == expected, (profile, name)
            used["valid" if valid else "absent" if fastschema.absent(profile, name, body) else "jsonschema"] += 1
    assert len(bodies) > 2000
    assert used["valid"] > 1000 and used["absent"] > 1000, used  # both fast paths were really compared


# --- code-built mutants ------------------------------------------------------------------------------------

def _nodes(value, path=()):
    """(path, value) of every node below the root."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        yield (*path, key), inner
        yield from _nodes(inner, (*path, key))


def _edit(body, path, replace=None, delete=False):
    out = copy.deepcopy(body)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replace
    return out


def _other_type(value):
    """A JSON value of another type than ``value``."""
    if isinstance(value, bool):
        return "true"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return 7
    return [] if isinstance(value, dict) else {}


def _strip_late(value):
    """``value`` without any field of the history table, at any depth: an old recording, made by code."""
    if isinstance(value, dict):
        return {k: _strip_late(v) for k, v in value.items() if k not in LATE}
    if isinstance(value, list):
        return [_strip_late(v) for v in value]
    return value


def mutants(body):
    """Deviations of one real body: each node removed, set to null, set to another type; every late field
    removed at once (absences at many depths), alone and with one wrong value besides; and a list of objects
    long enough that the absences pass validate_object's limit of 100."""
    for path, value in _nodes(body):
        yield _edit(body, path, delete=True)
        yield _edit(body, path, None)
        yield _edit(body, path, _other_type(value))
    old = _strip_late(body)
    yield old
    for path, value in list(_nodes(old))[::7]:
        yield _edit(old, path, _other_type(value))
    for key in ("data", "output", "choices"):
        if isinstance(old.get(key), list) and old[key]:
            yield {**old, key: old[key] * 40}
            yield {**body, key: [_edit(item, (field,), delete=True) for item in body[key] * 20
                                 for field in list(item)[:2] if isinstance(item, dict)]}


def _short(value):
    """``value`` with every list cut to its first three items (list pages hold hundreds of objects)."""
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    return [_short(v) for v in value[:3]] if isinstance(value, list) else value


def samples(bodies):
    """Per contract, the first and the last real body of the corpus (old and new shapes); the most recent
    response create too, which carries every field OpenAI sends today."""
    chosen: dict[str, list[dict]] = {}
    for name, body in bodies:
        chosen.setdefault(name, [body, body])[1] = body
    for name, body in reversed(bodies):
        if name == "response.create" and "cache_write_tokens" in str((body.get("usage") or {})):
            chosen[name].append(body)
            break
    return [(name, _short(body)) for name, pair in sorted(chosen.items()) for body in pair]


@pytest.mark.corpus
def test_fast_paths_agree_with_jsonschema_on_mutants(bodies):
    compared = absent_used = at_limit = 0
    for name, body in samples(bodies):
        for mutant in mutants(body):
            for profile in profiles_of(name):
                valid, expected = by_jsonschema(profile, name, mutant)
                for fast in fast_checkers(profile, name):
                    assert fast is None or fast(mutant) == valid, (profile, name)
                assert validate_object(profile, name, mutant) == expected, (profile, name)
                compared += 1
                absent_used += bool(fastschema.absent(profile, name, mutant))
                # told the mutant is invalid, the walk skips one check of the whole: the same answer, valid or not
                assert fastschema.absent(profile, name, mutant, invalid=True) == fastschema.absent(profile, name,
                                                                                                   mutant)
                at_limit += len(expected) == 100
    assert compared > 5000 and absent_used > 1000 and at_limit > 0, (compared, absent_used, at_limit)


def _stream_payloads(limit_per_contract: int = 8) -> list[tuple[str, dict]]:
    """(contract, payload) of genuine stream events and chunks: a few per contract, first and latest shapes."""
    from conformance.observations.streams.responses import EVENTS

    chosen: dict[str, list[dict]] = {}
    for record in load_corpus(stream=True):
        exchange = exchange_from_record(record)
        for event in exchange.events if exchange.ok and exchange.is_sse else []:
            payload = event.json
            if not isinstance(payload, dict):
                continue
            if exchange.api == "chat":
                name = "chat.completion.chunk"
            else:
                rule = EVENTS.get(payload.get("type"))
                name = f"events/{rule.schema if rule else 'event'}"
            kept = chosen.setdefault(name, [])
            if len(kept) < limit_per_contract:
                kept.append(payload)
            else:
                kept[-1] = payload
    return [(name, payload) for name, kept in sorted(chosen.items()) for payload in kept]


@pytest.mark.corpus
def test_stream_schema_problems_without_jsonschema_equal_jsonschemas(monkeypatch):
    """Stream events whose only problem is absent fields are worded from ``fastschema.absent`` (no jsonschema):
    the same errors, in the same order, as jsonschema gives, on genuine events and their code-made mutants."""
    if not corpus_available():
        pytest.skip(CORPUS_MISSING)
    from conformance.observations.streams import validation

    def words(errors):  # and the role the contract node gives an absent field (informational or protocol)
        return [(tuple(e.absolute_path), e.message, e.validator,
                 role_of(e.schema, e.message.split("'")[1]) if e.validator == "required" else None) for e in errors]

    compared = absent_used = 0
    for name, payload in _stream_payloads():
        for mutant in [payload, *mutants(payload)]:
            for profile in profiles_of(name):
                expected = words(contracts.errors(profile, name, mutant))
                assert words(validation._errors(profile, name, mutant)) == expected, (profile, name)
                compared += 1
                absent_used += bool(fastschema.absent(profile, name, mutant))
    assert compared > 2000 and absent_used > 500, (compared, absent_used)


def test_absent_lists_nested_absences_in_jsonschema_order():
    # a minimal chat completion built here, lacking fields at three depths
    body = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "x"}}]}
    _, expected = by_jsonschema("openai", "chat.completion", body)
    assert [p["missing"] for p in expected] and all("missing" in p for p in expected)
    assert validate_object("openai", "chat.completion", body) == expected
    assert fastschema.absent("openai", "chat.completion", body)  # answered without jsonschema
    body["created"] = "yesterday"  # a wrong value besides: only jsonschema words it
    assert fastschema.absent("openai", "chat.completion", body) is None
    assert validate_object("openai", "chat.completion", body) == by_jsonschema("openai", "chat.completion", body)[1]


def _walked(profile, name, instance, invalid=False):
    """What ``fastschema.absent`` answered before it had the top-level shortcut: the Python walk alone."""
    out = []
    return out if fastschema._explainer(profile, name)(instance, (), out, invalid) and out else None


def test_top_level_absences_are_answered_as_the_walk_answers_them():
    """``absent`` answers an object whose only problem is its top node's ``required`` list with jsonschema-rs
    (the contract without that list) instead of walking it: the same answer as the walk, on every subset of a
    code-built event's fields, with a wrong value besides, and on a valid event (None)."""
    event = {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0,
             "delta": "Hi", "logprobs": [], "sequence_number": 3}
    assert fastschema._top_relaxed("openai", "events/text-delta") is not None  # the shortcut exists here
    variants = [event, [event], "event", None]
    for size in range(len(event) + 1):
        for kept in itertools.combinations(event, size):
            variant = {key: event[key] for key in kept}
            variants += [variant, {**variant, "output_index": -1}]
    shortcut = 0
    for variant in variants:
        for invalid in (False, True):
            assert fastschema.absent("openai", "events/text-delta", variant, invalid) == _walked(
                "openai", "events/text-delta", variant, invalid), variant
        if isinstance(variant, dict) and variant != event:
            valid, expected = by_jsonschema("openai", "events/text-delta", variant)
            assert validate_object("openai", "events/text-delta", variant) == expected
            shortcut += fastschema._top_relaxed("openai", "events/text-delta").check(variant)
    assert shortcut >= 30  # the shortcut answered many of them


def test_a_contract_that_refers_to_its_own_top_gets_no_top_level_shortcut():
    """Leaving out the top node's ``required`` would also drop it where the contract refers back to its top."""
    def refers(ref):
        return fastschema._refers_to_top({"type": "object", "properties": {"a": {"items": [{"$ref": ref}]}}},
                                         "x.json")
    assert refers("#") and refers("x.json") and refers("x.json#")
    assert not refers("#/$defs/a") and not refers("y.json") and not refers("x.json#/properties/a")


def test_the_walk_asks_jsonschema_rs_about_the_node_it_stands_on(monkeypatch):
    """The walk of ``absent`` asks jsonschema-rs whether the value at each node is valid (``_rs_node_checker``,
    by JSON Pointer): the same answers as the hand-written closures, on code-built chat completions lacking fields
    at several depths, in several choices, with wrong values besides (a wrong pointer fails this)."""
    message = {"role": "assistant", "content": "x", "refusal": None, "annotations": []}
    choice = {"index": 0, "finish_reason": "stop", "logprobs": None, "message": message}
    body = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m", "service_tier": "default",
            "system_fingerprint": "fp_1", "choices": [choice, {**choice, "index": 1}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
    variants = [body]
    for place in ("", "choices.0", "choices.1", "choices.1.message", "usage"):
        for name in ("refusal", "annotations", "logprobs", "service_tier", "total_tokens", "content", "index"):
            variant = copy.deepcopy(body)
            holder = variant
            for step in [p for p in place.split(".") if p]:
                holder = holder[int(step)] if step.isdigit() else holder[step]
            if name in holder:
                del holder[name]
                variants += [variant, {**variant, "created": "yesterday"}]
    walks = {}
    for profile in ("openai", "compat"):
        walks[profile] = [fastschema.absent(profile, "chat.completion", v) for v in variants]
    assert fastschema._rs_node_checker.cache_info().currsize > 0  # jsonschema-rs answered some nodes
    monkeypatch.setattr(fastschema, "_rs_node_checker", lambda path, pointer: None)  # the closures only
    for profile in ("openai", "compat"):
        closures = fastschema._explainer.__wrapped__(profile, "chat.completion")
        for variant, answer in zip(variants, walks[profile]):
            out = []
            expected = out if closures(variant, (), out) and out else None
            assert answer == expected, (profile, variant)
    assert sum(answer is not None for answer in walks["openai"]) >= 5


def test_prepare_compiles_every_contract_of_a_profile_before_workers_fork():
    """``fastschema.prepare`` (called by the audit before it forks workers) leaves every contract of the profile
    compiled: the workers inherit the checks instead of each compiling them again."""
    for profile in ("openai", "compat", "open-responses"):
        fastschema.prepare(profile)
        root = contracts.contracts_root()
        for folder in contracts.PROFILE_FALLBACK[profile]:
            for path in (root / folder).rglob("*.json"):
                name = path.relative_to(root / folder).with_suffix("").as_posix()
                hits = fastschema._explainer.cache_info().hits
                fastschema._explainer(profile, name)
                assert fastschema._explainer.cache_info().hits == hits + 1, (profile, name)  # already compiled


# --- the registry ------------------------------------------------------------------------------------------

def _fresh_bind_error(fn, params):
    """What run_check reported before: binding a fresh signature on every call."""
    try:
        inspect.signature(fn).bind(object(), **params)
    except TypeError as exc:
        return str(exc)
    return None


def test_cached_signatures_report_what_a_fresh_bind_reports():
    for name, entry in CHECKS.items():
        variants = [{}, {"no_such_parameter": 1}, {"ctx": 1}, {p: None for p in entry.params()}]
        variants += [{p: None} for p in entry.params()]
        for params in variants:
            assert entry.bind_error(params) == _fresh_bind_error(entry.fn, params), (name, params)


def test_bad_parameters_are_an_error_naming_the_check(monkeypatch):
    exchange = Exchange("POST", "https://x/v1/chat/completions", status=200,
                        headers={"content-type": "application/json"}, text="{}")
    ctx = CheckContext(api="chat", exchanges={"main": exchange})

    def no_signature(*args, **kwargs):
        raise AssertionError("inspect.signature called per run_check")

    monkeypatch.setattr(inspect, "signature", no_signature)  # computed at registration only
    [missing] = run_check("text_contains", ctx)
    [unknown] = run_check("schema", ctx, {"no_such_parameter": 1})
    for failure, check in ((missing, "text_contains"), (unknown, "schema")):
        assert failure.check == check and failure.verdict == Verdict.ERROR
        assert failure.message.startswith(f"bad parameters for check {check!r}: "), failure.message
    assert "'value'" in missing.message and "no_such_parameter" in unknown.message


# --- the one history table ---------------------------------------------------------------------------------

def test_one_history_table():
    assert audit_history.appeared is history.appeared
    assert LATER_FIELDS == {name: min(e.first_seen for e in history.HISTORY if e.name == name) for name in LATE}


@pytest.mark.corpus
def test_schema_evidence_names_the_month_of_its_own_api(bodies):
    # service_tier: chat has it since 2024-11, Responses since 2025-05; a response lacking it says 2025-05
    body = next(b for name, b in reversed(bodies) if name == "response.create" and "service_tier" in b)
    body = {k: v for k, v in body.items() if k != "service_tier"}
    exchange = Exchange("POST", "https://api.openai.com/v1/responses", status=200,
                        headers={"content-type": "application/json"}, text=json.dumps(body))
    [failure] = run_check("schema", CheckContext(api="responses", exchanges={"main": exchange}, profile="openai"))
    assert failure.evidence["later"]["service_tier"] == history.appeared("responses", "service_tier").first_seen
    assert history.appeared("chat", "service_tier").first_seen < failure.evidence["later"]["service_tier"]


def _contract_fields():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "contract_fields.py"
    spec = importlib.util.spec_from_file_location("contract_fields", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.corpus
def test_first_seen_is_never_later_than_the_corpus_shows(bodies):
    measured = _contract_fields().history_first_seen()
    later = {key: (history.appeared(*key).first_seen, first) for key, (first, _) in measured.items()
             if first and first < history.appeared(*key).first_seen}
    assert later == {}
    assert sum(1 for first, _ in measured.values() if first) > 25  # the measurement does find the fields
    for entry in history.HISTORY:
        assert entry.first_seen <= entry.since, entry


def test_checker_is_compiled_by_jsonschema_rs_when_installed():
    """The yes/no pre-check is jsonschema-rs's (faster than the hand-written compiler on stream events); a value
    it cannot take answers False, so the caller asks jsonschema (never a wrong True)."""
    pytest.importorskip("jsonschema_rs")
    path = contracts.schema_path("openai", "chat.completion.chunk").resolve()
    fast = fastschema.checker("openai", "chat.completion.chunk")
    assert fast is fastschema.rs_checker(path) and fast is not fastschema.compiled_checker("openai",
                                                                                             "chat.completion.chunk")
    assert fast({"id": "x"}) is False and fast(float("nan")) is False
    assert fast({"id": 2**70, "object": "chat.completion.chunk"}) is False
