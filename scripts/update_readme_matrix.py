"""Regenerate the README's front-page matrix (the block between ``<!-- matrix:start`` and ``<!-- matrix:end -->``).

    python scripts/update_readme_matrix.py                  # replay every committed target, then rewrite
    python scripts/update_readme_matrix.py --results FILE   # from an existing results file of such a replay

tests/test_readme_matrix.py fails when the block is not what a replay of the committed cassettes gives.
The screenshot beside it (docs/report.png) comes from the browser test:
``CONFORMANCE_UPDATE_SCREENSHOT=1 pytest tests/test_report_browser.py``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from conformance.reports.merged import merge
from conformance.reports.readme import block, replace_block
from conformance.reports.results_file import load_results

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", help="a results.json of a replay of every committed target")
    parser.add_argument("--readme", default=str(ROOT / "README.md"))
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        results = options.results
        if results is None:
            subprocess.run([sys.executable, "-m", "conformance", "run", "--reports", folder, "-q"], cwd=ROOT,
                           stdout=subprocess.DEVNULL)
            results = str(Path(folder) / "results.json")
        report = merge([load_results(results)])
    readme = Path(options.readme)
    text = readme.read_text(encoding="utf-8")
    updated = replace_block(text, block(report))
    if updated != text:
        readme.write_text(updated, encoding="utf-8")
        print(f"{readme}: matrix updated ({len(report.records)} cells)")
    else:
        print(f"{readme}: matrix already current ({len(report.records)} cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
