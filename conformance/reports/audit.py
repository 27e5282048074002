"""The audit's outputs: the JSON report (specs/audit-report.schema.json), the terminal
summary, and a progress line on stderr for large inputs."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

FORMAT = "conformance-audit/1"
VERDICTS = ("pass", "stale", "fail", "skip", "error")  # error: judging the interaction raised (exit status 3)


def summarise(interactions: list[dict[str, Any]], *, cassettes: int, input_errors: list[dict[str, str]],
              profile: str, openapi: str | None, seconds: float) -> dict[str, Any]:
    """The ``summary`` object: counts by verdict, by check, and what stale recordings lack."""
    verdicts = Counter(entry["verdict"] for entry in interactions)
    by_check: dict[str, Counter] = {}
    missing: Counter = Counter()
    for entry in interactions:
        for finding in entry["failures"]:
            by_check.setdefault(finding["check"], Counter())[finding["verdict"]] += 1
            if finding["verdict"] == "stale":
                missing.update(finding.get("missing", []))
    checked = len(interactions) - verdicts["skip"]
    return {
        "format": FORMAT,
        "profile": profile,
        "openapi": openapi,
        "cassettes": cassettes,
        "interactions": len(interactions),
        "checked": checked,
        "verdicts": {v: verdicts[v] for v in VERDICTS},
        "fail_rate": round(verdicts["fail"] / checked, 6) if checked else 0.0,
        "checks": {name: {"fail": counts["fail"], "stale": counts["stale"]}
                   for name, counts in sorted(by_check.items())},
        "stale_missing": dict(missing.most_common()),
        "input_errors": input_errors,
        "seconds": round(seconds, 3),
        "interactions_per_second": round(len(interactions) / seconds, 1) if seconds > 0 else None,
    }


def write_json(path: str | Path, report: dict[str, Any], text: str | None = None) -> None:
    """Write the report (``{"summary": ..., "interactions": [...]}``) to ``path``; '-' is stdout. ``text``: the
    report's JSON text when the caller has it already (``redaction.redact_document_text``)."""
    # json.dumps without indent runs the C encoder: several times faster on large reports (use jq to read them)
    text = (json.dumps(report, ensure_ascii=False) if text is None else text) + "\n"
    if str(path) == "-":
        sys.stdout.write(text)
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _one_line(text: str, limit: int) -> str:
    """``text`` on one line (its indentation kept), cut at ``limit`` characters."""
    indent = text[: len(text) - len(text.lstrip())]
    text = indent + " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def worst(interactions: list[dict[str, Any]], count: int = 10) -> list[dict[str, Any]]:
    """The failing interactions to show: one per kind of failure (its set of failing checks), the kinds
    with the most failing checks first, then the most frequent; then more of each kind if room is left."""
    kinds: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for entry in interactions:
        if entry["verdict"] == "fail":
            kind = tuple(sorted({f["check"] for f in entry["failures"] if f["verdict"] == "fail"}))
            kinds.setdefault(kind, []).append(entry)
    ranked = sorted(kinds.items(), key=lambda item: (-len(item[0]), -len(item[1])))
    chosen = [entries[0] for _, entries in ranked[:count]]
    for _, entries in ranked:
        chosen += entries[1:count - len(chosen) + 1]
    return chosen[:count]


def render(report: dict[str, Any], examples: int = 10, width: int = 160) -> str:
    """The human summary printed on the terminal."""
    summary, interactions = report["summary"], report["interactions"]
    v = summary["verdicts"]
    rate = summary["interactions_per_second"]
    lines = [
        f"conformance audit: {summary['interactions']} interactions in {summary['cassettes']} cassettes "
        f"({summary['seconds']:.2f} s{f', {rate:.0f}/s' if rate else ''}), profile {summary['profile']}"
        + (f", OpenAPI {summary['openapi']}" if summary["openapi"] else ""),
        f"  pass {v['pass']}   stale {v['stale']}   fail {v['fail']}   skip {v['skip']}"
        + (f"   error {v['error']}" if v.get("error") else "")
        + f"   (fail rate {summary['fail_rate']:.2%} of {summary['checked']} checked)",
    ]
    if summary["checks"]:
        lines.append("by check:")
        for name, counts in sorted(summary["checks"].items(), key=lambda kv: (-kv[1]["fail"], -kv[1]["stale"])):
            lines.append(f"  {name:28} fail {counts['fail']:6}   stale {counts['stale']:6}")
    if summary["stale_missing"]:
        shown = ", ".join(f"{name} {n}" for name, n in list(summary["stale_missing"].items())[:8])
        lines.append(f"stale recordings lack: {shown}")
    bad = worst(interactions, examples)
    if bad:
        lines.append(f"worst examples ({len(bad)} of {v['fail']} failing):")
        for entry in bad:
            head = (f"  {entry['cassette']} #{entry['index']} {entry['method']} {entry['endpoint']}"
                    f"{' stream' if entry['stream'] else ''} -> {entry['status']}")
            lines.append(_one_line(head, width))
            for finding in [f for f in entry["failures"] if f["verdict"] == "fail"][:3]:
                lines.append(_one_line(f"      {finding['check']}: {finding['message']}", width))
    if summary.get("sdk"):
        lines += sdk_lines(summary["sdk"], interactions, examples, width)
    for entry in [e for e in interactions if e["verdict"] == "error"][:examples]:
        lines.append(_one_line(f"internal error: {entry['cassette']} #{entry['index']}: "
                               f"{entry['failures'][0]['message']}", width))
    empty = summary.get("empty_cassettes") or []
    if empty:
        lines.append(_one_line(f"{len(empty)} cassettes with no interactions (nothing to judge): "
                               + ", ".join(empty[:5]) + (" ..." if len(empty) > 5 else ""), width))
    for error in summary["input_errors"]:
        kind = "internal error" if error.get("internal") else "input error"
        lines.append(_one_line(f"{kind}: {error['path']}: {error['message']}", width))
    return "\n".join(lines)


def sdk_headline(sdk: dict[str, Any]) -> str:
    """The release gate's line: ``openai 3.57 parses N of M recorded answers``, then the rest of what it did."""
    short = ".".join(sdk["version"].split(".")[:2])
    helper, text = sdk["stream_helper"], sdk["output_text"]
    return (f"openai {short} parses {sdk['parses']} of {sdk['answers']} recorded answers (openai {sdk['version']}; "
            f"strict-valid {sdk['strict_valid']} of {sdk['strict_checked']}; output_text equal {text['ok']} of "
            f"{text['ok'] + text['fail']}; stream helper completes {helper['ok'] + helper['note']} of "
            f"{sum(helper.values())})")


def sdk_lines(sdk: dict[str, Any], interactions: list[dict[str, Any]], examples: int, width: int) -> list[str]:
    """The ``--sdk`` part of the summary: the headline, findings by SDK check, and answers the SDK fails on."""
    lines = [sdk_headline(sdk)]
    for name, counts in sorted(sdk["checks"].items(), key=lambda kv: (-kv[1]["fail"], -kv[1]["note"])):
        lines.append(f"  {name:28} fail {counts['fail']:6}   note {counts['note']:6}")
    failing = [e for e in interactions if isinstance(e.get("sdk"), dict)
               and any(f["verdict"] != "pass" for f in e["sdk"]["findings"])]
    kinds: dict[tuple[str, ...], dict[str, Any]] = {}
    for entry in failing:
        kinds.setdefault(tuple(sorted({f["check"] for f in entry["sdk"]["findings"] if f["verdict"] != "pass"})), entry)
    if kinds:
        lines.append(f"SDK examples ({min(examples, len(kinds))} kinds of {len(failing)} answers with SDK findings):")
    for entry in list(kinds.values())[:examples]:
        head = f"  {entry['cassette']} #{entry['index']} {entry['method']} {entry['endpoint']} -> {entry['status']}"
        lines.append(_one_line(head + f" ({entry['sdk']['method']})", width))
        for finding in [f for f in entry["sdk"]["findings"] if f["verdict"] != "pass"][:2]:
            lines.append(_one_line(f"      {finding['check']}: {finding['message']}", width))
    return lines


class Progress:
    """A progress line on stderr: redrawn in place on a terminal, a line per quarter otherwise.

    Shown only when stderr is a terminal or the input is large (``total >= large``).
    """

    def __init__(self, total: int, large: int = 200, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.total = total
        self.tty = self.stream.isatty()
        self.enabled = total > 0 and (self.tty or total >= large)
        self.done = 0
        self.interactions = 0
        self.started = time.monotonic()
        self.drawn = 0.0
        self.quarter = 0

    def update(self, files: int = 1, interactions: int = 0) -> None:
        """Count finished files (and their interactions), and redraw when due."""
        self.done += files
        self.interactions += interactions
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty and (now - self.drawn > 0.1 or self.done == self.total):
            self.drawn = now
            filled = int(30 * self.done / self.total)
            self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} cassettes, "
                              f"{self.interactions} interactions, {now - self.started:.1f} s")
            self.stream.flush()
        elif not self.tty and 4 * self.done // self.total > self.quarter:
            self.quarter = 4 * self.done // self.total
            self.stream.write(f"audit: {self.done}/{self.total} cassettes, {self.interactions} interactions\n")
            self.stream.flush()

    def close(self) -> None:
        """End the in-place line."""
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()
