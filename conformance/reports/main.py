"""``conformance report RESULTS... [--baseline OLD] [--html FILE] [--md FILE] [--json FILE]``

Renders one or many results files (shards of one run, runs against several targets, several SDK versions)
as one report: a self-contained HTML page, Markdown (also appended to ``$GITHUB_STEP_SUMMARY`` when it is
set, under GitHub's 1 MiB limit), and JSON for machines. Without an output option it prints the matrix.

Exit status: 0 when there is no regression against the baseline (or no baseline); 1 when the baseline
comparison finds a regression (each is listed with its finding); 2 on usage or input errors (a file that
cannot be read, does not follow ``specs/results.schema.json``, or a bad option).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from conformance.reports import claims as claim_rules
from conformance.reports import html, markdown
from conformance.reports.baseline import Comparison, compare
from conformance.reports.excerpts import CassetteLibrary
from conformance.reports.matrix import terminal_matrix
from conformance.reports.merged import Report, merge
from conformance.reports.results_file import REPORT_FORMAT, ResultsError, load_results, now, write_atomically

EXIT_OK, EXIT_REGRESSION, EXIT_USAGE = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    """The command line of ``conformance report``."""
    p = argparse.ArgumentParser(prog="conformance report", description=__doc__.split("\n\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="exit status: 0 no regression, 1 regressions against the baseline, "
                                       "2 usage or input error")
    p.add_argument("results", nargs="+", metavar="RESULTS",
                   help="results.json / results.jsonl files (or a report's --json), merged into one report")
    p.add_argument("--baseline", action="append", default=[], metavar="OLD",
                   help="an earlier results file to compare with (repeatable: its shards); exit 1 on regressions")
    p.add_argument("--baseline-map", action="append", default=[], metavar="OLD=NEW",
                   help="compare the baseline's target OLD with this report's target NEW (repeatable)")
    p.add_argument("--html", metavar="FILE", help="write the self-contained HTML page")
    p.add_argument("--md", metavar="FILE", help="write Markdown")
    p.add_argument("--json", metavar="FILE", help="write the merged results, claim mismatches and baseline diff")
    p.add_argument("--cassettes", action="append", default=[], metavar="DIR",
                   help="where to find the cassettes the results point to (default: the run's, then ./cassettes)")
    p.add_argument("--title", default="Capability matrix", help="the report's title")
    p.add_argument("--no-step-summary", action="store_true", help="do not append to $GITHUB_STEP_SUMMARY")
    return p


def load(paths: list[str]) -> Report:
    """Merge the results files at ``paths`` (ResultsError when one cannot be read)."""
    return merge([load_results(path) for path in paths])


def report_json(report: Report, comparison: Comparison | None) -> dict[str, Any]:
    """The JSON for machines (format ``conformance.report.v1``, readable by ``conformance report`` again)."""
    summary = {f"{t} {a}" + (f" {v}" if v else ""): dict(sorted(c.items()))
               for (t, a, v), c in sorted(report.counts().items())}
    return {"format": REPORT_FORMAT, "generated": now(), "runs": report.runs, "targets": report.targets,
            "summary": summary, "warnings": report.warnings, "mismatches": claim_rules.mismatches(report.records),
            "baseline": comparison.as_dict() if comparison is not None else None, "results": report.records}


def _target_map(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old or not new:
            raise ValueError(f"--baseline-map wants OLD=NEW, not {pair!r}")
        mapping[old] = new
    return mapping


def _step_summary(report: Report, comparison: Comparison | None) -> str | None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return None
    target = Path(path)
    existing = target.stat().st_size if target.exists() else 0
    if existing > markdown.GITHUB_SUMMARY_LIMIT - 8192:
        return f"$GITHUB_STEP_SUMMARY already holds {existing} bytes: nothing appended (GitHub's limit is 1 MiB)"
    with target.open("a", encoding="utf-8") as out:
        out.write(markdown.github_summary(report, comparison, existing) + "\n")
    return f"appended to $GITHUB_STEP_SUMMARY ({path})"


def _print_comparison(comparison: Comparison) -> None:
    for title, entries in (("regression", comparison.regressions), ("improvement", comparison.improvements)):
        for entry in entries:
            finding = entry.get("finding") or {}
            why = f"  [{finding.get('check')}] {finding.get('message', '')[:200]}" if finding else ""
            stream = " (stream)" if entry["stream"] else ""
            print(f"{title}: {entry['target']} {entry['api']} {entry['capability']}/{entry['case']}{stream}: "
                  f"{entry['old'] or 'absent'} -> {entry['new']}{why}")
    print(f"baseline: {len(comparison.regressions)} regression(s), {len(comparison.improvements)} improvement(s), "
          f"{len(comparison.changes)} other change(s), {len(comparison.new)} new, {len(comparison.gone)} not measured now")


def main(argv: list[str]) -> int:
    """Run the command; returns the exit status."""
    try:
        options = parser().parse_args(argv)
    except SystemExit as exc:
        return EXIT_OK if exc.code == 0 else EXIT_USAGE
    try:
        target_map = _target_map(options.baseline_map)
        report = load(options.results)
        comparison = None
        if options.baseline:
            comparison = compare(load(options.baseline), report, target_map, files=options.baseline)
        elif target_map:
            raise ValueError("--baseline-map needs --baseline")
    except (ResultsError, ValueError) as exc:
        print(f"conformance report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    written = []
    if options.html:
        library = CassetteLibrary([*options.cassettes, Path.cwd() / "cassettes"])
        write_atomically(Path(options.html), html.render(report, comparison, library, title=options.title))
        written.append(options.html)
    if options.md:
        write_atomically(Path(options.md), markdown.render(report, comparison, title=options.title))
        written.append(options.md)
    if options.json:
        write_atomically(Path(options.json), json.dumps(report_json(report, comparison), indent=2,
                                                        ensure_ascii=False) + "\n")
        written.append(options.json)
    if not written:
        print(terminal_matrix(report.records))
    mismatches = claim_rules.mismatches(report.records)
    print(f"{len(report.records)} cells from {len(options.results)} file(s); {len(mismatches)} claim mismatch(es)")
    if comparison is not None:
        _print_comparison(comparison)
    if not options.no_step_summary:
        said = _step_summary(report, comparison)
        if said:
            print(said)
    if written:
        print("wrote " + "  ".join(written))
    return EXIT_REGRESSION if comparison is not None and comparison.regressions else EXIT_OK
