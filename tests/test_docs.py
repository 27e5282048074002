"""Generated docs stay in step with the code: docs/checks.md is rendered from the check registry."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_checks_reference_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("gen_checks_doc", ROOT / "scripts" / "gen_checks_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "checks.md").read_text() == module.render(), \
        "docs/checks.md is stale: run python scripts/gen_checks_doc.py"
