"""The README's front-page matrix is what a replay of the committed cassettes gives today."""

from __future__ import annotations

import pytest

from conformance.reports.merged import merge
from conformance.reports.readme import MissingMarkers, block, current_block, replace_block
from conformance.reports.results_file import load_results
from support.replay import ROOT, replay_once


def test_the_readme_matrix_is_current(tmp_path_factory: pytest.TempPathFactory) -> None:
    report = merge([load_results(replay_once(tmp_path_factory, "all") / "results.json")])
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert current_block(readme) == block(report), \
        "the README's matrix is stale: run python scripts/update_readme_matrix.py (and review the diff)"
    assert "docs/report.png" in readme and (ROOT / "docs" / "report.png").is_file()


def test_the_block_is_replaced_in_place_and_its_markers_are_required() -> None:
    text = "intro\n<!-- matrix:start (old words) -->\nold\n<!-- matrix:end -->\nrest\n"
    assert replace_block(text, "NEW") == "intro\nNEW\nrest\n"
    with pytest.raises(MissingMarkers):
        replace_block("no block here", "NEW")
