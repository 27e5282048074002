"""CI's budget of the audit fuzzer (benchmarks/fuzz_audit.py): 300 generated hostile cassettes, every generator
at least once, must give 0 crashes, 0 internal errors, 0 hangs and 0 inputs without a verdict. The benchmark
mode (``--count 20000``, README "Reliability") is the large budget of the same harness."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_300_fuzzed_inputs_all_get_a_verdict(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "fuzz_audit.py"), "--count", "300", "--seed",
                           "7", "--workers", "1", "--keep", str(tmp_path / "offending")],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    summary = re.search(r"inputs (\d+)\s+crashes (\d+)\s+internal errors (\d+)\s+hangs (\d+)\s+without verdict (\d+)",
                        done.stdout)
    assert summary, done.stdout[-3000:] + done.stderr[-3000:]
    assert tuple(int(n) for n in summary.groups()) == (300, 0, 0, 0, 0), done.stdout[-5000:]
    assert done.returncode == 0


def test_the_harness_covers_every_class_of_the_audit_report() -> None:
    listed = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "fuzz_audit.py"), "--list"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60).stdout
    for generator in ("yaml_deep", "deep_json_body", "recursive_alias", "yaml_tags", "yaml_numbers", "bad_url",
                      "alias_bomb", "compression_bomb", "empty_interactions", "stream_limits", "gzip_file"):
        assert generator in listed
