"""Planning a run: target choice and one item per target x case x API x stream mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cases.loading import builtin_suites, load_suites
from conformance.checks import CHECKS
from conformance.run.plan import choose_targets, plan
from conformance.cases.targets import TargetError, load_targets

ROOT = Path(__file__).resolve().parents[1]


def test_replay_with_no_target_named_takes_every_recorded_target(tmp_path: Path) -> None:
    (tmp_path / "aimock").mkdir()
    chosen = choose_targets(load_targets(), [], replay=True, cassettes=tmp_path)
    assert [t.name for t in chosen] == ["aimock"]


def test_live_needs_a_target_and_unknown_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="need --target"):
        choose_targets(load_targets(), [], replay=False, cassettes=tmp_path)
    with pytest.raises(TargetError, match="unknown target 'nope'"):
        choose_targets(load_targets(), ["nope"], replay=True, cassettes=tmp_path)
    (custom,) = choose_targets(load_targets(), [], base_url="http://127.0.0.1:1/v1", replay=False, cassettes=tmp_path)
    assert custom.name == "custom"


def test_plan_expands_stream_modes_and_filters() -> None:
    cases, _ = load_suites(builtin_suites(), CHECKS)
    targets = load_targets()
    specs = plan(cases, [targets["aimock"]], ROOT / "cassettes", capabilities={"text"}, api="chat")
    ids = [s.id for s in specs]
    assert "aimock/text/plain-prompt.chat" in ids and "aimock/text/plain-prompt.chat.stream" in ids
    assert all(s.api == "chat" and s.case.capability == "text" for s in specs)
    assert specs[0].cassette == ROOT / "cassettes" / "aimock" / "text" / f"{specs[0].case.id}.chat.yaml"
