"""Every rule that can fail under the openai profile names its evidence, and the evidence holds.

Contracts: every node of ``specs/contracts/openai`` holding ``required`` carries ``x-evidence``: the official
spec place it stands for, and for each required field one kind: ``spec`` (required there by the official
document), ``observed`` (documented there but optional, and sent in every genuine recording of at least two
projects) or ``informational`` (OpenAI usually sends it; its absence is a note, never a failure). Fields the
spec requires but genuine traffic lacks are listed ``contradicted``, those OpenAI documents as left out of some
answers ``omitted``; neither is required.

Grammars: every rule family of the stream grammars has an entry in ``observations/streams/evidence.py``.

The claims are checked against the official document (../shared/spec) and genuine traffic
(../shared/corpus), both third-party data read at run time; each test skips when its data is absent.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from conformance.api.history import HISTORY, INFORMATIONAL, PROTOCOL, appeared
from conformance.checks import CHECKS
from conformance.observations.streams.evidence import BY_FAMILY, FAMILIES
from conformance.transport.recordings import decode_interaction
from conformance.verdicts.stale import recording_date
from corpus import CORPUS_MISSING, corpus_available, load_corpus
from support.cassettes import from_corpus_record
from support.contract_evidence import CONTRADICTED, KINDS, OMITTED, Presence, entries
from support.openapi_places import spec_available, status

STREAMS = Path(__file__).resolve().parents[1] / "conformance" / "observations" / "streams"
ENTRIES = entries()


def _id(entry) -> str:
    return f"{entry.file}#{entry.pointer or '/'}"


@pytest.mark.parametrize("entry", ENTRIES, ids=_id)
def test_every_required_entry_names_its_evidence(entry):
    evidence = entry.evidence
    assert "place" in evidence, f"{_id(entry)} has no x-evidence (or no place in it)"
    named = [name for kind in KINDS for name in evidence.get(kind) or ()]
    assert sorted(named) == sorted(entry.required), (_id(entry), named, entry.required)  # each exactly once
    assert all(evidence["informational"][name].strip() for name in evidence.get("informational") or ())
    assert all(text.strip() for text in (evidence.get("observed") or {}).values())
    assert not set(evidence.get(CONTRADICTED) or ()) & set(entry.required)
    assert not set(evidence.get(OMITTED) or ()) & set(entry.required)
    assert all("openai" in text.lower() for text in (evidence.get(OMITTED) or {}).values())  # cites OpenAI's docs
    assert not set(evidence) - {"place", CONTRADICTED, OMITTED, *KINDS}, evidence


def test_the_walk_finds_every_contract():
    files = {entry.file for entry in ENTRIES}
    assert {"chat.completion.json", "response.json", "events/_item.json", "usage.responses.json"} <= files
    assert sum(len(entry.required) for entry in ENTRIES) > 250


@pytest.mark.skipif(not spec_available(), reason="../shared/spec/openai/openapi.yaml is absent (third-party)")
@pytest.mark.parametrize("entry", ENTRIES, ids=_id)
def test_claims_hold_in_the_official_document(entry):
    place = entry.evidence["place"]
    for name in entry.evidence.get("spec") or ():
        assert status(place, name) == "required", f"{_id(entry)}: {name} is not required at {place}"
    for name, text in (entry.evidence.get("observed") or {}).items():
        if place:
            assert status(place, name) in ("optional", "required-in-some"), f"{_id(entry)}: {name} at {place}"
        else:
            assert "API reference" in text  # no response schema: the text names where OpenAI documents it
    for name in [*(entry.evidence.get(CONTRADICTED) or ()), *(entry.evidence.get(OMITTED) or ())]:
        assert status(place, name) in ("required", "required-in-some"), f"{_id(entry)}: {name} at {place}"


@pytest.fixture(scope="module")
def presence():
    """Per required entry and project: genuine interactions where it applied, and those lacking it (by month)."""
    if not corpus_available():
        pytest.skip(CORPUS_MISSING)
    counter = Presence()
    applied: dict = defaultdict(lambda: defaultdict(int))
    absent: dict = defaultdict(list)
    for n, record in enumerate(load_corpus()):
        recorded = decode_interaction(record["source_repo"], n, from_corpus_record(record, "text"))
        exchange = recorded.exchange
        if exchange.route is None or not exchange.route.audited or recorded.problem:
            continue
        when = recording_date(recorded.date, exchange)
        month = when.isoformat()[:7] if when else None
        for key, present in counter.of(exchange).items():
            applied[key][record["source_repo"]] += 1
            if not present:
                absent[key].append(month)
    return applied, absent


@pytest.mark.corpus
def test_no_requirement_that_can_fail_is_contradicted_by_genuine_traffic(presence):
    applied, absent = presence
    contradicted = []
    for entry in ENTRIES:
        for name in [*(entry.evidence.get("spec") or ()), *(entry.evidence.get("observed") or ())]:
            late = appeared(entry.api, name, PROTOCOL)
            months = absent.get((entry.file, entry.pointer, name), [])
            # a late protocol field may be absent before the month OpenAI always sent it (that is `stale`)
            wrong = [m for m in months if not (late and (m is None or m < late.since))]
            if wrong:
                contradicted.append((_id(entry), name, len(wrong), sorted(set(wrong))[:3]))
    assert contradicted == []


@pytest.mark.corpus
def test_observed_requirements_rest_on_two_projects_or_more(presence):
    applied, absent = presence
    thin = [(_id(entry), name, sorted(applied.get((entry.file, entry.pointer, name), {})))
            for entry in ENTRIES for name in entry.evidence.get("observed") or ()
            if entry.evidence["place"] and len(applied.get((entry.file, entry.pointer, name), {})) < 2]
    assert thin == []


@pytest.mark.corpus
def test_contradicted_requirements_are_really_contradicted(presence):
    _, absent = presence
    claimed = [(entry, name) for entry in ENTRIES for name in entry.evidence.get(CONTRADICTED) or ()]
    assert claimed, "the contracts name the spec requirements genuine traffic contradicts"
    unfounded = [(_id(entry), name) for entry, name in claimed if not absent.get((entry.file, entry.pointer, name))]
    assert unfounded == []


def test_history_roles_agree_with_the_contracts():
    """A late field the contracts require as informational has an informational history entry (the audit looks
    its date up by role), and the other way round; a name in both roles is a split entry (the Responses
    `summary` entry is the request echo, the reasoning item's `summary` array is protocol and not late)."""
    roles: dict = defaultdict(set)
    for entry in ENTRIES:
        for kind in KINDS:
            for name in entry.evidence.get(kind) or ():
                roles[(entry.api, name)].add(INFORMATIONAL if kind == "informational" else PROTOCOL)
    late_roles: dict = defaultdict(set)
    for late in HISTORY:
        late_roles[(late.api, late.name)].add(late.role)
    for key, found in late_roles.items():
        required = roles.get(key, set())
        if INFORMATIONAL in required:
            assert INFORMATIONAL in found, key
        if PROTOCOL in found:
            assert PROTOCOL in required or key == ("responses", "sequence_number"), key  # the grammar's field
    assert roles[("responses", "summary")] == {PROTOCOL} and late_roles[("responses", "summary")] == {INFORMATIONAL}
    assert appeared("responses", "sequence_number").role == PROTOCOL
    assert appeared("responses", "summary", PROTOCOL) is None  # the item's summary is not a late field
    assert len({(e.api, e.name, e.role) for e in HISTORY}) == len(HISTORY)


def _families() -> set[tuple[str, str]]:
    """Every (api, rule family) the grammars can file a problem under, read from their source."""
    found = set()
    for api, module in (("chat", "chat.py"), ("responses", "responses.py")):
        text = (STREAMS / module).read_text()
        found |= {(api, family) for family in re.findall(r'self\.add\(\s*"(\w+)"', text)}
        found |= {(api, family) for family in re.findall(r'self\.problems\["(\w+)"\]', text)}
    return found


def test_every_grammar_family_names_its_evidence():
    families = _families()
    assert {("chat", "tool_calls"), ("responses", "reassembly"), ("responses", "schema")} <= families
    assert families <= set(BY_FAMILY), sorted(families - set(BY_FAMILY))
    for entry in FAMILIES:
        assert entry.check in CHECKS, entry
        assert entry.rules and entry.documented and entry.observed, entry
        assert entry.api in ("chat", "responses")


def test_the_documented_audio_omission_is_in_the_pinned_sdk():
    """The `omitted` finish_reason and ``vocabulary.ends_with_final_audio`` cite OpenAI's SDK types (generated from its API
    definition): the pinned SDK says so, word for word."""
    import inspect

    module = pytest.importorskip("openai.types.chat.chat_completion_chunk")
    text = " ".join(inspect.getsource(module).replace("`", "").split())
    assert "Omitted from the final audio update containing only delta.audio.expires_at" in text
    assert "the final audio update contains only its expiry timestamp" in text
