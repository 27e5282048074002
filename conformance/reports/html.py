"""The report as one self-contained HTML page: nothing is fetched at view time (inline CSS and JS, an inline
SVG chart, a Content-Security-Policy that forbids any load), so it can be attached to a CI run or published.

The page: the runs, warnings (interrupted runs, cells measured twice), a chart of verdicts per target x API,
the changes since a baseline, the claim mismatches, a legend, filters (target, API, capability, verdict,
claim mismatches only) and the grid: capabilities x (target x API), OpenAI's claim beside each row. Each
cell is a button that opens its details: the claim with its source and date, root cause first, the case's
and the shape findings, consequences grouped by cause, declared gaps, and the request and response
excerpts of each step from the cassette.
"""

from __future__ import annotations

import json
from html import escape
from importlib.resources import files
from typing import Any

from conformance.api.endpoints import APIS
from conformance.reports import claims as claim_rules
from conformance.reports.baseline import Comparison
from conformance.reports.excerpts import CassetteLibrary, step_excerpts
from conformance.reports.merged import REPORTED_VERDICTS, Report, variant_of
from conformance.reports.symbols import (CLAIM_CHANGED, CLAIMS, MARKERS, SCRIPTED, VERDICTS, claim_mark, markers,
                                         symbol)

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
CHART_VERDICTS = ("pass", "fail", "ignored", "unsupported")


def _asset(name: str) -> str:
    return files("conformance.reports").joinpath("assets", name).read_text(encoding="utf-8")


def _json_for_script(value: Any) -> str:
    """JSON that cannot close its ``<script>`` element early."""
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _source(record: dict[str, Any]) -> str:
    source = record.get("source") or ""
    marker = "/suites/"
    return source[source.rfind(marker) + 1:] if marker in source else source.rsplit("/", 1)[-1]


def _cell_data(report: Report, record: dict[str, Any], library: CassetteLibrary,
               run_roots: dict[str, str | None], several_variants: bool) -> dict[str, Any]:
    mismatch = claim_rules.mismatch(record)
    claim = claim_rules.claim_of(record)
    return {
        "target": record["target"], "api": record["api"],
        "variant": variant_of(record) if several_variants else "",
        "capability": record["capability"], "case": record["case"], "stream": bool(record["stream"]),
        "verdict": record["verdict"], "shape": record.get("shape", "pass"), "description": record.get("description"),
        "claim": claim, "claim_text": claim_rules.describe(claim),
        "mismatch": claim_rules.KINDS[mismatch] if mismatch else None,
        "markers": markers(record, mismatch), "declared": record.get("declared_missing") or {},
        "scripted": report.scripted(record["target"]), "findings": record.get("failures") or [],
        "steps": step_excerpts(record, library, run_roots.get(record.get("run") or "")),
        "cassette": record.get("cassette"), "duration": record.get("duration"), "tokens": record.get("tokens"),
        "source": _source(record), "run": record.get("run"),
    }


def _runs(report: Report) -> str:
    rows = []
    for run in report.runs:
        client = run.get("client") or {}
        progress = run.get("progress") or {}
        state = "interrupted" if run.get("interrupted") else "complete"
        done = f"{progress.get('done', '?')}" + (f" of {progress['planned']}" if progress.get("planned") else "")
        targets = "; ".join(f"{t['name']} ({t.get('host') or '?'}, {t.get('profile') or '?'}, model "
                            f"{(t.get('models') or {}).get('default', '?')}{', scripted' if t.get('scripted') else ''})"
                            for t in run.get("targets") or [])
        cells = [run.get("id"), run.get("mode"), f"{client.get('name', 'raw')} {client.get('sdk_version') or ''}",
                 f"{run.get('suite_version') or '?'} {(run.get('commit') or '')[:10]}", run.get("python"),
                 targets, run.get("started"), run.get("finished"), f"{state}: {done} cells"]
        rows.append("<tr>" + "".join(f"<td>{escape(str(c or ''))}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("run", "mode", "client", "suite", "Python", "targets", "started",
                                            "finished", "progress"))
    return (f"<details><summary>{len(report.runs)} run(s)</summary><table class=\"runs\"><tr>{head}</tr>"
            + "".join(rows) + "</table></details>")


def chart(report: Report) -> str:
    """An inline SVG: one stacked bar of pass / fail / ignored / unsupported (and other) per target x API."""
    counts = report.counts()
    columns = report.columns()
    label_width, bar_width, row_height = 200, 400, 26
    height = row_height * len(columns) + 34
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{label_width + bar_width + 330}" '
             f'height="{height}" aria-label="verdicts per target and API">',
             "<title>Verdicts per target and API</title>"]
    for position, column in enumerate(columns):
        tally = counts.get(column)
        total = sum(tally.values()) or 1
        y = 8 + position * row_height
        name = f"{column[0]} {column[1]}" + (f" ({column[2]})" if column[2] else "")
        parts.append(f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end">{escape(name)}</text>')
        x = float(label_width)
        kinds = [*CHART_VERDICTS, "other"]
        for kind in kinds:
            count = tally.get(kind, 0) if kind != "other" else sum(n for v, n in tally.items()
                                                                  if v not in CHART_VERDICTS)
            if not count:
                continue
            width = bar_width * count / total
            colour = VERDICTS[kind][1] if kind in VERDICTS else "#8c959f"
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="20" fill="{colour}">'
                         f"<title>{escape(name)}: {count} {kind}</title></rect>")
            if width > 22:
                parts.append(f'<text x="{x + width / 2:.1f}" y="{y + 15}" text-anchor="middle" fill="#fff">'
                             f"{count}</text>")
            x += width
        summary = ", ".join(f"{tally.get(k, 0)} {k}" for k in CHART_VERDICTS)
        parts.append(f'<text x="{label_width + bar_width + 8}" y="{y + 15}" fill="#57606a">{escape(summary)}</text>')
    y = 8 + len(columns) * row_height + 4
    x = label_width
    for kind in [*CHART_VERDICTS, "other"]:
        colour = VERDICTS[kind][1] if kind in VERDICTS else "#8c959f"
        mark = symbol(kind) if kind in VERDICTS else "·"
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 16}" y="{y + 11}">{mark} {kind}</text>')
        x += 120
    parts.append("</svg>")
    return "".join(parts)


def _legend() -> str:
    items = [f'<li><span class="chip v-{name}">{mark} {name}</span> {escape(meaning)}</li>'
             for name, (mark, _, meaning) in VERDICTS.items() if name in REPORTED_VERDICTS]
    items += [f'<li><span class="mark">{escape(mark)}</span> <b>{name}</b>: {escape(meaning)}</li>'
              for mark, (name, meaning) in MARKERS.items()]
    items.append(f'<li><span class="mark">{SCRIPTED[0]}</span> {escape(SCRIPTED[1])}</li>')
    items.append(f"<li>OpenAI documents: {CLAIMS['supported'][0]} yes, {CLAIMS['unsupported'][0]} no, "
                 f"{CLAIMS['coming-soon'][0]} coming soon, {CLAIM_CHANGED} the documents said otherwise before "
                 f"(hover for source and date)</li>")
    return f'<section class="legend"><h2>Legend</h2><ul>{"".join(items)}</ul></section>'


def _checkboxes(name: str, title: str, values: list[str], labels: dict[str, str] | None = None) -> str:
    boxes = "".join(f'<label><input type="checkbox" name="{name}" value="{escape(v)}" checked> '
                    f"{escape((labels or {}).get(v, v))}</label>" for v in values)
    return f'<fieldset><legend>{title}</legend>{boxes}</fieldset>'


def _filters(report: Report) -> str:
    targets = sorted({r["target"] for r in report.records})
    apis = [api for api in APIS if any(r["api"] == api for r in report.records)]
    capabilities = sorted({r["capability"] for r in report.records})
    present = {r["verdict"] for r in report.records}
    verdicts = [v for v in VERDICTS if v in present]
    labels = {v: f"{symbol(v)} {v}" for v in verdicts}
    return ('<form id="filters" aria-label="filters">' + _checkboxes("target", "Target", targets)
            + _checkboxes("api", "API", apis) + _checkboxes("capability", "Capability", capabilities)
            + _checkboxes("verdict", "Verdict", verdicts, labels)
            + '<div class="actions"><label><input type="checkbox" name="mismatch" value="1"> claim mismatches only'
              '</label><button type="button" id="reset">Show all</button></div></form>')


def _grid(report: Report, index_of: dict[int, int]) -> str:
    columns = report.columns()
    groups: list[tuple[str, int]] = []
    for target, _, _ in columns:
        if groups and groups[-1][0] == target:
            groups[-1] = (target, groups[-1][1] + 1)
        else:
            groups.append((target, 1))
    top = ['<th rowspan="2">capability</th><th rowspan="2">case</th>',
           f'<th colspan="{len(APIS)}" data-claims="1">OpenAI documents</th>']
    for target, span in groups:
        badge = (f' <span class="scripted-badge" title="{escape(SCRIPTED[1])}">{SCRIPTED[0]} scripted</span>'
                 if report.scripted(target) else "")
        host = (report.targets.get(target) or {}).get("host")
        title = f' title="{escape(host)}"' if host else ""
        top.append(f'<th colspan="{span}" data-group="{escape(target)}"{title}>{escape(target)}{badge}</th>')
    second = [f'<th data-claim-api="{api}">{api}</th>' for api in APIS]
    second += [f'<th data-col="{i}">{api}' + (f"<br><small>{escape(variant)}</small>" if variant else "") + "</th>"
               for i, (_, api, variant) in enumerate(columns)]
    rows = []
    for row in report.rows():
        capability, case, stream = row
        claims: dict[str, Any] = {}
        cells = []
        for i, column in enumerate(columns):
            record = report.cell(row, column)
            if record is None:
                cells.append(f'<td class="empty" data-col="{i}"></td>')
                continue
            claims = claims or record.get("claims") or {record["api"]: record.get("claim") or {}}
            mismatch = claim_rules.mismatch(record)
            marks = markers(record, mismatch)
            verdict = record["verdict"]
            label = (f"{record['target']} {record['api']} {capability}/{case}{' stream' if stream else ''}: "
                     f"{verdict}" + (f", {claim_rules.KINDS[mismatch]}" if mismatch else ""))
            sup = f"<sup>{escape(marks)}</sup>" if marks else ""
            flags = ' data-mismatch="1"' if mismatch else ""
            cells.append(f'<td class="cell v-{verdict}{" mismatch" if mismatch else ""}" data-col="{i}" '
                         f'data-verdict="{verdict}"{flags}><button type="button" data-cell="{index_of[id(record)]}" '
                         f'aria-label="{escape(label)}" title="{escape(label)}">{symbol(verdict)} {verdict}{sup}'
                         "</button></td>")
        claim_cells = []
        for api in APIS:
            claim = claims.get(api)
            tip = f' title="{escape(claim_rules.describe(claim))}"' if claim else ""
            claim_cells.append(f'<td class="claim" data-claim-api="{api}"{tip}>{escape(claim_mark(claim))}</td>')
        rows.append(f'<tr data-capability="{escape(capability)}"><th>{escape(capability)}</th>'
                    f'<td class="case">{escape(case)}{" <small>(stream)</small>" if stream else ""}</td>'
                    + "".join(claim_cells) + "".join(cells) + "</tr>")
    return (f'<table id="matrix"><thead><tr>{"".join(top)}</tr><tr>{"".join(second)}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _mismatches(report: Report) -> str:
    found = claim_rules.mismatches(report.records)
    rows = "".join(
        f"<tr><td>{escape(claim_rules.KINDS[m['kind']])}</td><td>{escape(m['target'])} {m['api']}</td>"
        f"<td>{escape(m['capability'])}/{escape(m['case'])}{' (stream)' if m['stream'] else ''}</td>"
        f"<td>{symbol(m['verdict'])} {m['verdict']}{' (declared: ' + escape(', '.join(m['declared'])) + ')' if m['declared'] else ''}</td>"
        f"<td>{escape(m['claim_text'])}</td><td>{escape((m['finding'] or {}).get('check') or '')}</td></tr>"
        for m in found)
    kinds = ", ".join(f"{sum(1 for m in found if m['kind'] == k)} {label}" for k, label in claim_rules.KINDS.items())
    return (f'<section id="claims"><details><summary><b>Claims vs observations</b>: {len(found)} mismatch(es) '
            f"({kinds})</summary><table class=\"plain\"><tr><th>kind</th><th>target API</th><th>case</th>"
            f"<th>observed</th><th>OpenAI documents</th><th>finding</th></tr>{rows}</table></details></section>")


def _baseline(comparison: Comparison) -> str:
    def items(entries: list[dict[str, Any]]) -> str:
        out = []
        for e in entries:
            finding = e.get("finding") or {}
            why = f": {finding.get('check')}: {finding.get('message', '')[:300]}" if finding else ""
            was = (f" (baseline: {escape(e['baseline_target'])})"
                   if e.get("baseline_target") and e["baseline_target"] != e["target"] else "")
            out.append(f"<li>{escape(e['target'])} {e['api']} {escape(e['capability'])}/{escape(e['case'])}"
                       f"{' (stream)' if e['stream'] else ''}{was}: {e['old'] or 'absent'} → {e['new']}{escape(why)}</li>")
        return "<ul>" + "".join(out) + "</ul>"
    parts = [f"<h2>Since the baseline ({escape(', '.join(comparison.baseline))})</h2>",
             f"<p><b>{len(comparison.regressions)} regression(s)</b>, {len(comparison.improvements)} improvement(s), "
             f"{len(comparison.changes)} other change(s), {len(comparison.new)} new cell(s), "
             f"{len(comparison.gone)} not measured now.</p>"]
    if comparison.regressions:
        parts.append("<h3>Regressions</h3>" + items(comparison.regressions))
    for title, entries in (("Improvements", comparison.improvements), ("Other changes", comparison.changes)):
        if entries:
            parts.append(f"<details><summary>{title} ({len(entries)})</summary>{items(entries)}</details>")
    return '<section id="baseline">' + "".join(parts) + "</section>"


def render(report: Report, comparison: Comparison | None = None, library: CassetteLibrary | None = None,
           title: str = "Capability matrix") -> str:
    """The whole page."""
    library = library or CassetteLibrary([])
    run_roots = {run.get("id") or "": run.get("cassettes") for run in report.runs}
    index_of = {id(record): i for i, record in enumerate(report.records)}
    several = len(report.variants) > 1  # the clients of all cells: computed once, not for each cell
    data = {
        "columns": [{"target": t, "api": a, "variant": v} for t, a, v in report.columns()],
        "cells": [_cell_data(report, record, library, run_roots, several) for record in report.records],
        "verdicts": {name: list(style) for name, style in VERDICTS.items()},
        "markers": {mark: list(meaning) for mark, meaning in MARKERS.items()},
        "scripted": SCRIPTED[1],
    }
    targets = sorted({r["target"] for r in report.records})
    warnings = "".join(f'<p class="warning">{escape(w)}</p>' for w in report.warnings)
    return "\n".join([
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_asset('report.css')}</style></head><body>",
        f"<header><h1>{escape(title)}</h1><p class=\"sub\">{len(report.records)} cells · targets: "
        f"{escape(', '.join(targets))} · Chat Completions and Responses, as observed beside what OpenAI "
        f"documents</p>{_runs(report)}{warnings}</header>",
        f'<div class="layout"><section id="summary"><h2>Verdicts per target and API</h2>{chart(report)}</section>'
        f"{_legend()}</div>",
        _baseline(comparison) if comparison is not None else "",
        _mismatches(report),
        "<h2>Matrix</h2>", _filters(report), '<p id="shown" aria-live="polite"></p>', _grid(report, index_of),
        '<aside id="details" hidden tabindex="-1" aria-label="cell details">'
        '<button type="button" class="close" id="details-close" aria-label="close">×</button>'
        '<div id="details-body"></div></aside>',
        f'<script type="application/json" id="report-data">{_json_for_script(data)}</script>',
        f"<script>{_asset('report.js')}</script>", "</body></html>", ""])
