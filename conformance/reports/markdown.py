"""The report as Markdown: for ``--md``, for ``$GITHUB_STEP_SUMMARY`` (kept under GitHub's 1 MiB per step) and
for the README's front-page matrix.

Sections in order of importance, so a size limit drops the least important first: the runs, the changes
since the baseline, the matrix, the claim mismatches, then every non-pass cell's findings in ``<details>``.
"""

from __future__ import annotations

from typing import Any

from conformance.api.endpoints import APIS
from conformance.reports import claims as claim_rules
from conformance.reports.baseline import Comparison
from conformance.reports.merged import Report
from conformance.reports.symbols import MARKERS, SCRIPTED, VERDICTS, claim_mark, markers, symbol

GITHUB_SUMMARY_LIMIT = 1024 * 1024  # bytes GitHub accepts per step summary


def _escape(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _stream(record_or_row: Any) -> str:
    return " (stream)" if record_or_row else ""


def _where(item: dict[str, Any]) -> str:
    client = "" if (item.get("client") or "raw") == "raw" else f" [sdk {item.get('sdk_version')}]"
    return f"{item['target']} {item['api']}{client} `{item['capability']}/{item['case']}`{_stream(item['stream'])}"


def _column_name(report: Report, column: tuple[str, str, str]) -> str:
    target, api, variant = column
    scripted = f" {SCRIPTED[0]}" if report.scripted(target) else ""
    return f"{target}{scripted} {api}" + (f" ({variant})" if variant else "")


def _row_claims(report: Report, row: tuple[str, str, bool]) -> dict[str, dict[str, Any]]:
    for record in report.records:
        if (record["capability"], record["case"], bool(record["stream"])) == row:
            return record.get("claims") or {record["api"]: record.get("claim") or {}}
    return {}


def matrix_table(report: Report) -> str:
    """The matrix: rows are cases by capability, columns target x API; symbols, markers, the claim beside."""
    columns = report.columns()
    header = ["capability", "case", *[f"OpenAI {api}" for api in APIS], *[_column_name(report, c) for c in columns]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in report.rows():
        capability, case, stream = row
        claims = _row_claims(report, row)
        cells = []
        for column in columns:
            record = report.cell(row, column)
            cells.append("" if record is None else
                         f"{symbol(record['verdict'])}{markers(record, claim_rules.mismatch(record))}")
        lines.append("| " + " | ".join([capability, case + _stream(stream),
                                         *[claim_mark(claims.get(api)) for api in APIS], *cells]) + " |")
    return "\n".join(lines)


def legend() -> str:
    """One paragraph naming every symbol and marker."""
    verdicts = ", ".join(f"{mark} {name}" for name, (mark, _, _) in VERDICTS.items()
                         if name not in ("skip", "stale"))
    marks = "; ".join(f"`{mark}` {meaning}" for mark, (_, meaning) in MARKERS.items())
    return (f"Verdicts: {verdicts}. {marks}; `{SCRIPTED[0]}` {SCRIPTED[1]}. `OpenAI chat`/`OpenAI responses`: what "
            f"OpenAI documents for the API (✓ yes, ✗ no, ◷ coming soon, ↻ the documents said otherwise before).")


def counts_table(report: Report) -> str:
    """Verdict counts per target x API."""
    names = [v for v in ("pass", "fail", "ignored", "unsupported", "error", "not-recorded")]
    lines = ["| target x API | " + " | ".join(f"{symbol(v)} {v}" for v in names) + " |", "|" + "---|" * (len(names) + 1)]
    for column, counts in sorted(report.counts().items()):
        lines.append(f"| {_column_name(report, column)} | " + " | ".join(str(counts.get(v, 0)) for v in names) + " |")
    return "\n".join(lines)


def runs_section(report: Report) -> str:
    """A line per run: when, how, with what."""
    lines = []
    for run in report.runs:
        client = run.get("client") or {}
        sdk = f" {client.get('sdk_version')}" if client.get("name") == "sdk" else ""
        commit = f" @ {run['commit'][:10]}" if run.get("commit") else ""
        targets = ", ".join(f"{t['name']} ({t.get('host') or '?'})" for t in run.get("targets") or [])
        state = ""
        if run.get("interrupted"):
            progress = run.get("progress") or {}
            state = (f" **interrupted** after {progress.get('done', '?')}"
                     + (f" of {progress['planned']}" if progress.get("planned") else "") + " cells")
        lines.append(f"- run `{run.get('id')}`: {run.get('mode', '?')}, client {client.get('name', 'raw')}{sdk}, "
                     f"conformance {run.get('suite_version') or '?'}{commit}, Python {run.get('python') or '?'}, "
                     f"{run.get('started') or '?'} to {run.get('finished') or '?'}; targets: {targets or '?'}"
                     f"{state}")
    return "\n".join(lines)


def baseline_section(comparison: Comparison) -> str:
    """Regressions (each with its finding), then improvements and other changes."""
    out = [f"## Since the baseline ({', '.join(comparison.baseline) or 'baseline'})", ""]
    out.append(f"**{len(comparison.regressions)} regression(s)**, {len(comparison.improvements)} improvement(s), "
               f"{len(comparison.changes)} other change(s), {len(comparison.new)} new cell(s), "
               f"{len(comparison.gone)} cell(s) not measured now.")
    out.append("")
    for title, entries in (("Regressions", comparison.regressions), ("Improvements", comparison.improvements),
                           ("Other changes", comparison.changes)):
        if not entries:
            continue
        out += [f"### {title}", ""]
        for entry in entries:
            finding = entry.get("finding")
            why = f": `{finding['check']}`: {_escape(finding['message'])[:300]}" if finding else ""
            was = entry["old"] or "absent"
            mapped = (f" (baseline target {entry['baseline_target']})"
                      if entry.get("baseline_target") and entry["baseline_target"] != entry["target"] else "")
            out.append(f"- {_where(entry)}{mapped}: {was} -> {entry['new']}{why}")
        out.append("")
    return "\n".join(out)


def mismatch_lines(report: Report) -> list[str]:
    """Every cell that disagrees with OpenAI's documented claim: a heading, then a table row per cell."""
    found = claim_rules.mismatches(report.records)
    out = [f"## Claims vs observations: {len(found)} mismatch(es)", ""]
    if not found:
        return out + ["Every measured cell agrees with what OpenAI documents for its API.", ""]
    out += ["| kind | target API | case | observed | documented | finding |", "|---|---|---|---|---|---|"]
    for item in found:
        declared = f" (declared: {', '.join(item['declared'])})" if item["declared"] else ""
        finding = item["finding"] or {}
        out.append(f"| {claim_rules.KINDS[item['kind']]} | {item['target']} {item['api']} | "
                   f"`{item['capability']}/{item['case']}`{_stream(item['stream'])} | "
                   f"{symbol(item['verdict'])} {item['verdict']}{declared} | {_escape(item['claim_text'])} | "
                   f"{_escape(finding.get('check') or '')} |")
    return out


def cell_findings(record: dict[str, Any]) -> str:
    """A ``<details>`` block with one non-pass cell's findings, root cause first, consequences grouped."""
    shape = f", shape {record['shape']}" if record.get("shape", "pass") != "pass" else ""
    lines = [f"<details><summary>{_escape(record['target'])} {record['api']} "
             f"{_escape(record['capability'])}/{_escape(record['case'])}{_stream(record['stream'])}: "
             f"{symbol(record['verdict'])} {record['verdict']}{shape}</summary>", ""]
    follows: dict[str, int] = {}
    for failure in record.get("failures") or []:
        if failure.get("role") == "follows":
            follows[failure.get("cause") or "?"] = follows.get(failure.get("cause") or "?", 0) + 1
            continue
        label = {"root": "root cause", "shape": "shape", "note": "note"}.get(failure.get("role") or "", "case")
        lines.append(f"- `{failure['check']}` ({failure['verdict']}, {label}): "
                     f"{_escape(failure['message'])[:400]}")
    for cause, count in follows.items():
        lines.append(f"- {count} finding(s) follow from `{cause}` (not counted)")
    for feature, why in (record.get("declared_missing") or {}).items():
        lines.append(f"- declared missing: {feature} ({_escape(why)})")
    return "\n".join(lines + ["", "</details>"])


def render(report: Report, comparison: Comparison | None = None, limit: int | None = None,
           title: str = "Capability matrix") -> str:
    """The report as Markdown; with ``limit`` (bytes), what does not fit is left out, saying so: first the
    findings, then claim mismatch rows (the runs, the baseline changes and the matrix are kept whole)."""
    sections = [f"# {title}", "", runs_section(report), ""]
    sections += [f"> {warning}" for warning in report.warnings] + ([""] if report.warnings else [])
    if comparison is not None:
        sections.append(baseline_section(comparison))
    sections += [matrix_table(report), "", legend(), "", counts_table(report), ""]
    text = "\n".join(sections) + "\n"
    if limit is not None and len(text.encode()) > limit:
        return _cut(text, limit)
    cells = [r for r in report.records if r["failures"] and (r["verdict"] != "pass" or r.get("shape", "pass") != "pass")]
    blocks = [line + "\n" for line in mismatch_lines(report)] + ["\n## Findings\n\n"]
    blocks += [cell_findings(record) + "\n" for record in cells]
    size = len(text.encode())
    for index, block in enumerate(blocks):
        grown = size + len(block.encode())
        if limit is not None and grown > limit - 300:
            text += (f"\n_{len(blocks) - index} more line(s) of claim mismatches and findings left out to stay under "
                     f"the size limit: see the HTML or Markdown report._\n")
            break
        text, size = text + block, grown
    return text


def _cut(text: str, limit: int) -> str:
    note = "\n\n_Cut to stay under the size limit: see the HTML or Markdown report._\n"
    data = text.encode()[: max(0, limit - len(note.encode()) - 4)]
    return data.decode("utf-8", errors="ignore") + note


def github_summary(report: Report, comparison: Comparison | None, existing: int = 0) -> str:
    """The Markdown for ``$GITHUB_STEP_SUMMARY``: what fits beside ``existing`` bytes already there."""
    return render(report, comparison, limit=max(2048, GITHUB_SUMMARY_LIMIT - existing - 1024))
