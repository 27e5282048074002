"""Reports at the end of a run: the capability matrix (terminal, Markdown and HTML) and results.json.

Rows are cases grouped by capability (a streamed variant is its own row); columns
are target x API; each cell is the observed verdict, the documented claim sits
beside the row, and a target's declaration that it lacks a feature is marked.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from conformance.api.endpoints import APIS

CLAIM_MARK = {"supported": "yes", "unsupported": "no", "coming-soon": "soon"}


def _columns(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    targets = sorted({r["target"] for r in records})
    return [(t, api) for t in targets for api in APIS if any(r["target"] == t and r["api"] == api for r in records)]


def _rows(records: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    rows = sorted({(r["capability"], r["case"], r["stream"]) for r in records})
    return rows


def _index(records: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    return {(r["capability"], r["case"], r["stream"], r["target"], r["api"]): r for r in records}


def _claims(records: list[dict[str, Any]]) -> dict[tuple, dict[str, str]]:
    claims: dict[tuple, dict[str, str]] = {}
    for r in records:
        for api, claim in (r.get("claims") or {r["api"]: r["claim"]}).items():
            claims.setdefault((r["capability"], r["case"]), {})[api] = claim.get("status", "")
    return claims


def _cell(record: dict[str, Any] | None) -> str:
    if record is None:
        return ""
    text = record["verdict"]
    if record.get("shape", "pass") != "pass":
        text += "§"
    if any(f["check"] == "declared" for f in record["failures"]):
        text += "°"
    if record.get("intermittent"):
        text += "~"
    if record.get("declared_missing"):
        text += "*"
    return text


def matrix_rows(records: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the matrix, as plain strings."""
    columns = _columns(records)
    index, claims = _index(records), _claims(records)
    header = ["capability", "case", "claim chat", "claim responses"] + [f"{t} {api}" for t, api in columns]
    rows = []
    for capability, case, stream in _rows(records):
        claim = claims.get((capability, case), {})
        name = case + (" (stream)" if stream else "")
        rows.append([capability, name, CLAIM_MARK.get(claim.get("chat", ""), "-"),
                     CLAIM_MARK.get(claim.get("responses", ""), "-")]
                    + [_cell(index.get((capability, case, stream, t, api))) for t, api in columns])
    return header, rows


def terminal_matrix(records: list[dict[str, Any]]) -> str:
    """The matrix as an aligned text table, with a totals line per column."""
    if not records:
        return "no results"
    header, rows = matrix_rows(records)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    previous = None
    for row in rows:
        shown = list(row)
        if row[0] == previous:
            shown[0] = ""
        previous = row[0]
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(shown, widths)).rstrip())
    lines.append("")
    for target, api in _columns(records):
        counts = Counter(r["verdict"] for r in records if r["target"] == target and r["api"] == api)
        lines.append(f"{target} {api}: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
    lines.append("§ the answers' shape has findings (checks every answer gets: schema, documented shape, stream "
                 "grammar); the verdict is the case's own")
    lines.append("* the target declares it lacks a feature this case needs (the verdict is what was observed)")
    lines.append("~ includes findings of a check the target's expectations declare intermittent")
    lines.append("° not run: the target declares the case would hang or leave loopback (never_run)")
    return "\n".join(lines)


def markdown_matrix(records: list[dict[str, Any]]) -> str:
    """The matrix as Markdown, with the failures of every non-pass cell listed below it."""
    header, rows = matrix_rows(records)
    out = ["# Capability matrix", "",
           "Rows: cases by capability. Columns: target x API. `claim` is what OpenAI documents for each API.",
           "Verdicts: pass, fail (supported but wrong), unsupported (explicitly rejected), ignored (accepted, "
           "behaviour absent), not-recorded (no cassette), error (suite or transport problem). "
           "`§`: the answers' shape has findings (checks every answer gets); the verdict is the case's own. "
           "`*`: the target declares it lacks a feature the case needs. "
           "`~`: includes findings of a check the target's expectations declare intermittent. "
           "`°`: not run, the target declares the case would hang or leave loopback (`never_run`).", ""]
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "---|" * len(header))
    for row in rows:
        out.append("| " + " | ".join(str(c) for c in row) + " |")
    out += ["", "## Findings", ""]
    for r in sorted(records, key=lambda r: (r["target"], r["capability"], r["case"], r["api"], r["stream"])):
        if r["verdict"] == "pass" and r.get("shape", "pass") == "pass" or not r["failures"]:
            continue
        stream = " (stream)" if r["stream"] else ""
        shape = f", shape {r['shape']}" if r.get("shape", "pass") != "pass" else ""
        out.append(f"- **{r['target']} {r['api']}** `{r['capability']}/{r['case']}`{stream}: {r['verdict']}{shape}")
        shown = [f for f in r["failures"] if f.get("role") != "follows"]
        for f in shown[:4]:
            message = f["message"].replace("\n", " ")[:300]
            label = {"root": ", root cause", "shape": ", shape"}.get(f.get("role") or "", "")
            out.append(f"  - `{f['check']}` ({f['verdict']}{label}): {message}")
        if len(shown) > 4:
            out.append(f"  - and {len(shown) - 4} more")
        follows = sorted({f["check"] for f in r["failures"] if f.get("role") == "follows"})
        if follows:
            count = sum(1 for f in r["failures"] if f.get("role") == "follows")
            out.append(f"  - {count} finding(s) that follow from the root cause, not counted: {', '.join(follows)}")
        for feature, why in (r.get("declared_missing") or {}).items():
            out.append(f"  - declared missing: {feature} ({why})")
    return "\n".join(out) + "\n"


def write_reports(records: Iterable[dict[str, Any]], directory: str | Path,
                  client: dict[str, Any] | None = None, run: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write ``results.json``, ``matrix.md`` and ``matrix.html`` into ``directory``.

    ``run`` is the run's metadata (``conformance/reports/results_file.py``), and ``records`` are then the
    results file's records; without it, ``client`` says which client sent the requests
    (``{"name": "raw" | "sdk", "sdk_version": ...}``) and the records are made into results-file records here.
    """
    from conformance.reports import html, results_file
    from conformance.reports.excerpts import CassetteLibrary
    from conformance.reports.merged import Report

    if run is None:
        run = results_file.standalone_run(client)
        records = [results_file.normalise(r, run) for r in records]
    records = results_file.sort_records(records)
    directory = Path(directory)
    results = results_file.write_results(directory / "results.json", run, records)
    matrix = directory / "matrix.md"
    matrix.write_text(markdown_matrix(records))
    page = directory / "matrix.html"
    report = Report(runs=[run], records=records, targets={t["name"]: t for t in run.get("targets") or []})
    results_file.write_atomically(page, html.render(report, library=CassetteLibrary([run.get("cassettes")])))
    return {"results": results, "matrix": matrix, "html": page}
