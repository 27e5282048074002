"""``conformance sdk-matrix DIR``: the SDK lane's runs of several openai SDK versions as one matrix, and the gate.

``DIR`` holds one folder per SDK run (the tox envs ``sdk-openai1`` ... ``sdk-latest`` write
``reports/sdk/<env>/results.json`` from ``conformance run --client sdk`` and ``audit.json`` from
``conformance audit --sdk``). The matrix has an SDK-version axis: a row per cell (target x case x API x
stream mode) that has SDK findings in some version or a verdict that differs between versions, a column per
version; below it, per version, what the SDK made of the recorded answers.

A **regression** is something an older version handled and the next newer one does not:

- a cell whose verdict regresses (``reports.baseline.classify``), or that gains a finding of an SDK check
  (``conformance.checks.sdk``: its helper now crashes, its types now reject the answer, its request drifts);
- a recorded answer the older version parsed, read ``output_text`` of, or completed the stream helper on,
  and the newer does not. (Strict validation is information: a newer model may rightly reject old answers.)

Exit status: 0 no regression, 1 regressions (each listed), 2 input errors (no results, an unreadable file).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from conformance.checks.sdk import SDK_CHECKS
from conformance.reports.baseline import classify
from conformance.reports.results_file import ResultsError, load_results

EXIT_OK, EXIT_REGRESSION, EXIT_USAGE = 0, 1, 2
HANDLED = ("parses", "output_text", "stream_helper")  # what an SDK does with a recorded answer that must not regress


def version_key(version: str) -> tuple:
    """Order versions numerically (``3.10.0`` after ``3.9.1``; a pre-release before its release)."""
    numbers = tuple(int(n) for n in re.findall(r"\d+", version.split("+", 1)[0])[:3])
    return numbers + ((0,) if re.search(r"[a-z]", version.split("+", 1)[0]) else (1,))


def cell_of(record: dict[str, Any]) -> str:
    """A cell's name, version aside: ``target capability/case.api[.stream]``."""
    return f"{record['target']} {record['capability']}/{record['case']}.{record['api']}" + \
        (".stream" if record["stream"] else "")


def sdk_findings(record: dict[str, Any]) -> list[str]:
    """The SDK checks with counted findings in a cell (notes and consequences of a root cause aside)."""
    return sorted({f["check"] for f in record.get("failures") or [] if f["check"] in SDK_CHECKS
                   and f.get("verdict") != "pass" and f.get("role") not in ("note", "follows")})


class Run:
    """One SDK version's results and audit."""

    def __init__(self, name: str, version: str, records: list[dict[str, Any]], audit: dict[str, Any] | None):
        self.names = [name]
        self.version = version
        self.cells = {cell_of(r): r for r in records}
        self.audit = audit

    def answers(self) -> dict[tuple[str, int], dict[str, Any]]:
        """Each recorded answer's ``sdk`` entry, by (cassette, index)."""
        found = (self.audit or {}).get("interactions") or []
        return {(e["cassette"], e["index"]): e["sdk"] for e in found if isinstance(e.get("sdk"), dict)}


def load_runs(directory: Path) -> tuple[list[Run], list[str]]:
    """The runs under ``directory`` in version order (one per version), and input problems."""
    runs: dict[str, Run] = {}
    problems = []
    for folder in sorted(p for p in directory.iterdir() if p.is_dir()) if directory.is_dir() else []:
        results = folder / "results.json"
        if not results.exists():
            continue
        try:
            loaded = load_results(results)
        except ResultsError as exc:
            problems.append(str(exc))
            continue
        records = [r for r in loaded.records if (r.get("client") or "raw") == "sdk"]
        versions = sorted({r.get("sdk_version") or "?" for r in records})
        if len(versions) != 1:
            problems.append(f"{results}: expected the results of one SDK version, found {versions or 'none'}")
            continue
        audit = None
        if (folder / "audit.json").exists():
            try:
                audit = json.loads((folder / "audit.json").read_text(encoding="utf-8"))
            except ValueError as exc:
                problems.append(f"{folder / 'audit.json'}: not JSON: {exc}")
        if versions[0] in runs:  # e.g. sdk-latest is the newest pinned release: one column, both names
            runs[versions[0]].names.append(folder.name)
            continue
        runs[versions[0]] = Run(folder.name, versions[0], records, audit)
    return sorted(runs.values(), key=lambda run: version_key(run.version)), problems


def _cell_text(record: dict[str, Any] | None) -> str:
    if record is None:
        return "-"
    shape = "§" if record.get("shape", "pass") != "pass" else ""
    found = sdk_findings(record)
    return record["verdict"] + shape + (" " + ",".join(found) if found else "")


def case_regressions(older: Run, newer: Run) -> list[dict[str, Any]]:
    """Cells ``older`` handled and ``newer`` does not."""
    out = []
    for cell, new in sorted(newer.cells.items()):
        old = older.cells.get(cell)
        if old is None or "not-recorded" in (old["verdict"], new["verdict"]):
            continue  # not measured by both: nothing to compare
        gained = sorted(set(sdk_findings(new)) - set(sdk_findings(old)))
        worse = classify(old["verdict"], new["verdict"]) == "regression"
        if gained or worse:
            why = [f for f in new.get("failures") or [] if f["check"] in gained] or \
                  [new.get("root_cause") or {"check": "?", "message": ""}]
            out.append({"kind": "case", "cell": cell, "older": older.version, "newer": newer.version,
                        "was": _cell_text(old), "now": _cell_text(new),
                        "why": f"{why[0]['check']}: {why[0]['message']}"[:300]})
    return out


def answer_regressions(older: Run, newer: Run) -> list[dict[str, Any]]:
    """Recorded answers ``older`` handled and ``newer`` does not."""
    out = []
    before, after = older.answers(), newer.answers()
    for key, new in sorted(after.items()):
        old = before.get(key)
        if old is None:
            continue
        lost = [what for what in HANDLED if _handled(old, what) and not _handled(new, what)]
        if lost:
            why = [f for f in new["findings"] if f["verdict"] != "pass"]
            out.append({"kind": "answer", "cell": f"{key[0]} #{key[1]}", "older": older.version,
                        "newer": newer.version, "was": ", ".join(lost), "now": "not " + ", ".join(lost),
                        "why": f"{why[0]['check']}: {why[0]['message']}"[:300] if why else (new["exception"] or "")})
    return out


def _handled(entry: dict[str, Any], what: str) -> bool:
    if what == "parses":
        return bool(entry["parses"])
    return entry[what] in ("ok", "note")


def strict_changes(older: Run, newer: Run) -> int:
    """Recorded answers strict-valid under ``older``'s models and not under ``newer``'s (information)."""
    before, after = older.answers(), newer.answers()
    return sum(1 for key, new in after.items() if before.get(key, {}).get("strict_valid") and
               new.get("strict_valid") is False)


def build(runs: list[Run]) -> dict[str, Any]:
    """The matrix, the audit figures and the regressions, as one JSON-ready document."""
    cells = sorted({cell for run in runs for cell in run.cells})
    shown = [cell for cell in cells
             if any(sdk_findings(run.cells[cell]) for run in runs if cell in run.cells)
             or len({run.cells[cell]["verdict"] for run in runs if cell in run.cells}) > 1]
    regressions, strict = [], []
    for older, newer in zip(runs, runs[1:]):
        regressions += case_regressions(older, newer) + answer_regressions(older, newer)
        strict.append({"older": older.version, "newer": newer.version, "answers": strict_changes(older, newer)})
    return {
        "format": "conformance.sdk-matrix.v1",
        "versions": [{"version": run.version, "envs": run.names, "cells": len(run.cells),
                      "cells_with_sdk_findings": sum(1 for r in run.cells.values() if sdk_findings(r)),
                      "audit": ((run.audit or {}).get("summary") or {}).get("sdk")} for run in runs],
        "matrix": [{"cell": cell, **{run.version: _cell_text(run.cells.get(cell)) for run in runs}} for cell in shown],
        "strict_changes": strict,
        "regressions": regressions,
    }


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    return lines + ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]


def audit_line(version: str, sdk: dict[str, Any] | None) -> str:
    """One version's figures on the recorded answers."""
    if not sdk:
        return f"openai {version}: no audit (../shared/corpus absent, or the audit did not run)"
    helper, text = sdk["stream_helper"], sdk["output_text"]
    return (f"openai {'.'.join(version.split('.')[:2])} parses {sdk['parses']} of {sdk['answers']} recorded answers; "
            f"strict-valid {sdk['strict_valid']} of {sdk['strict_checked']}; output_text equal {text['ok']} of "
            f"{text['ok'] + text['fail']}; stream helper completes {helper['ok'] + helper['note']} of "
            f"{sum(helper.values())}")


def render(document: dict[str, Any]) -> str:
    """The terminal view: the matrix, the recorded-answer figures, and the regressions."""
    versions = [v["version"] for v in document["versions"]]
    lines = ["SDK matrix: " + ", ".join(f"openai {v['version']} ({', '.join(v['envs'])}: {v['cells']} cells, "
                                        f"{v['cells_with_sdk_findings']} with SDK findings)"
                                        for v in document["versions"])]
    if document["matrix"]:
        lines.append("cells with SDK findings, or whose verdict differs between versions (§: shape findings):")
        lines += _table(["cell", *versions], [[row["cell"], *(row[v] for v in versions)] for row in document["matrix"]])
    lines.append("recorded answers (conformance audit --sdk):")
    lines += ["  " + audit_line(v["version"], v["audit"]) for v in document["versions"]]
    for change in document["strict_changes"]:
        if change["answers"]:
            lines.append(f"  information: {change['answers']} answers strict-valid under {change['older']} are not "
                         f"under {change['newer']}'s models")
    regressions = document["regressions"]
    if not regressions:
        lines.append(f"no regression between SDK versions ({' -> '.join(versions) or 'no runs'})")
    else:
        lines.append(f"REGRESSIONS ({len(regressions)}): handled by the older SDK, not by the newer")
        for item in regressions:
            lines.append(f"  {item['older']} -> {item['newer']}  {item['cell']}: {item['was']} -> {item['now']}")
            lines.append(f"      {item['why']}")
    return "\n".join(lines)


def markdown(document: dict[str, Any]) -> str:
    """The same as Markdown (``DIR/sdk-matrix.md``)."""
    versions = [v["version"] for v in document["versions"]]
    out = ["# SDK matrix", "", "| cell | " + " | ".join(f"openai {v}" for v in versions) + " |",
           "|---|" + "---|" * len(versions)]
    out += ["| " + " | ".join([row["cell"], *(row[v] for v in versions)]) + " |" for row in document["matrix"]]
    out += ["", "## Recorded answers", ""] + [f"- {audit_line(v['version'], v['audit'])}" for v in document["versions"]]
    out += ["", "## Regressions", ""] + ([f"- {r['older']} -> {r['newer']} `{r['cell']}`: {r['was']} -> {r['now']}: "
                                           f"{r['why']}" for r in document["regressions"]] or ["none"])
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Merge, print, write ``DIR/sdk-matrix.json`` and ``.md``; exit 1 on regressions, 2 on input errors."""
    p = argparse.ArgumentParser(prog="conformance sdk-matrix", description=__doc__.split("\n\n")[0])
    p.add_argument("directory", metavar="DIR", help="folder of SDK runs (reports/sdk: one sub-folder per tox env)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    directory = Path(args.directory)
    runs, problems = load_runs(directory)
    for problem in problems:
        print(f"conformance sdk-matrix: {problem}", file=sys.stderr)
    if not runs:
        print(f"conformance sdk-matrix: no SDK results under {directory} (run the tox envs sdk-openai1 ... first)",
              file=sys.stderr)
        return EXIT_USAGE
    document = build(runs)
    (directory / "sdk-matrix.json").write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    (directory / "sdk-matrix.md").write_text(markdown(document), encoding="utf-8")
    print(render(document))
    if problems:
        return EXIT_USAGE
    return EXIT_REGRESSION if document["regressions"] else EXIT_OK
