"""The kill rate: every code-made protocol mutant of a genuine interaction fails, every OpenAI-like edit does not.

``support/mutants.py`` holds the mutations; beside each relaxation of issue 8 (opaque fields, informational late
fields, server-side items left open, non-JSON arguments of non-strict tools) sits a ``fail`` mutation it must not
swallow. A mutation the audit stops catching is a regression. ``benchmarks/leave_one_out.py`` runs more bases per
mutation and prints the rate.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from corpus import CORPUS_MISSING, corpus_available, load_corpus
from support.mutants import MUTATIONS, audit, caught, variants

pytestmark = [pytest.mark.corpus, pytest.mark.skipif(not corpus_available(), reason=CORPUS_MISSING)]


@pytest.fixture(scope="module")
def judged() -> dict[str, list[tuple[bool, dict]]]:
    """Every mutation on one genuine base per project it applies to, audited in memory."""
    out: dict[str, list[tuple[bool, dict]]] = defaultdict(list)
    for mutation, record in variants(load_corpus(), per_project=1):
        entry = audit(record)
        out[mutation.name].append((caught(mutation, entry), entry))
    return out


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.name)
def test_each_mutation_is_judged_as_expected(judged, mutation):
    results = judged.get(mutation.name)
    assert results, f"{mutation.name} applies to no genuine interaction: it would test nothing"
    missed = [entry for ok, entry in results if not ok]
    assert missed == [], [(e["verdict"], e["failures"][:3], e.get("notes")) for e in missed]


def test_the_kill_rate_is_total(judged):
    kills = [ok for m in MUTATIONS if m.expect == "fail" for ok, _ in judged.get(m.name, [])]
    assert len(kills) > 100 and all(kills)


def test_each_relaxation_has_a_neighbour_that_still_fails():
    kinds = {m.name: m.expect for m in MUTATIONS}
    neighbours = {
        "stream-reencrypted-reasoning": ("stream-reencrypted-changed-delta", "stream-changed-terminal-reasoning"),
        "stream-server-item-left-open": ("stream-server-item-lost", "stream-message-left-open"),
        "chat-broken-arguments-not-strict": ("chat-broken-arguments-strict", "chat-arguments-object"),
        "responses-no-billing": ("responses-no-output", "responses-no-status"),
        "chat-no-service-tier": ("chat-no-usage", "chat-no-model"),
    }
    for relaxed, kept in neighbours.items():
        assert kinds[relaxed] == "pass" and all(kinds[name] == "fail" for name in kept)
