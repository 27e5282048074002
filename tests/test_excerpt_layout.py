"""The HTML report's excerpts lay out only what they show: ``_pretty_clipped`` equals clipping the whole
indented text, on generated JSON values at every kind of limit and on every committed cassette's bodies."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.reports import excerpts
from conformance.transport.recordings import load_cassette

ROOT = Path(__file__).resolve().parents[1]

JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30)),
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=8), inner, max_size=6)),
    max_leaves=60)


def _whole_then_clipped(value, limit: int) -> str:
    return excerpts._clip(excerpts._pretty(value), limit)


@settings(max_examples=400, deadline=None)
@given(JSON, st.integers(min_value=0, max_value=400))
def test_a_clipped_layout_equals_the_whole_layout_clipped(value, limit) -> None:
    assert excerpts._pretty_clipped(value, limit) == _whole_then_clipped(value, limit)


def test_every_committed_body_is_shown_as_before() -> None:
    compared = clipped = 0
    for path in sorted((ROOT / "cassettes").rglob("*.yaml")):
        for recorded in load_cassette(path):
            exchange = recorded.exchange
            for value, limit in ((exchange.json, excerpts.RESPONSE_LIMIT), (exchange.request_body,
                                                                             excerpts.REQUEST_LIMIT)):
                if value is not None:
                    shown = excerpts._pretty_clipped(value, limit)
                    assert shown == _whole_then_clipped(value, limit), path
                    compared += 1
                    clipped += "more characters)" in shown
    assert compared > 1000 and clipped > 50, (compared, clipped)  # large bodies were among them
