"""Baselines: this report against an earlier results file. Only regressions fail (``conformance report
--baseline OLD`` exits 1); improvements and other changes are listed.

A change of a cell's verdict from OLD to NEW is

- a **regression** when OLD was ``pass`` (pass to anything else), when a supported feature (``pass``,
  ``fail``, ``ignored``) became ``unsupported`` or ``ignored`` (``fail`` -> ``ignored``,
  ``ignored`` -> ``unsupported``), or when NEW is ``error`` (a new error; also a new cell that is an error);
- an **improvement** when NEW is ``pass``, or a step up the ladder ``unsupported`` < ``ignored`` < ``fail``
  < ``pass``, or OLD was ``error``;
- otherwise a **change** (e.g. a cell that is ``not-recorded`` now).

Cells are matched by case x API x target x stream mode x client; the SDK version joins the key only when a
side holds several for one cell, so a run with a new SDK release compares with the last release's run.
``--baseline-map OLD=NEW`` compares the baseline's target OLD with this report's target NEW (a gateway with
its backend, a server with a reference run). Cells only in the baseline are listed as not measured now, never
failed: a partial run is not a regression.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from conformance.reports.merged import Report

LADDER = {"unsupported": 1, "ignored": 2, "fail": 3, "pass": 4}


def classify(old: str, new: str) -> str | None:
    """``regression``, ``improvement``, ``change`` or None (same verdict)."""
    if old == new:
        return None
    if new == "error":
        return "regression"
    if old == "pass":
        return "regression"
    if old in ("fail", "ignored") and new in ("unsupported", "ignored") and LADDER[new] < LADDER[old]:
        return "regression"
    if new == "pass" or old == "error":
        return "improvement"
    if old in LADDER and new in LADDER and LADDER[new] > LADDER[old]:
        return "improvement"
    return "change"


def _short_key(record: dict[str, Any], rename: dict[str, str]) -> tuple:
    target = rename.get(record["target"], record["target"])
    return (target, record["capability"], record["case"], record["api"], bool(record["stream"]),
            record.get("client") or "raw")


def _keyed(records: list[dict[str, Any]], rename: dict[str, str]) -> dict[tuple, dict[str, Any]]:
    counts = Counter(_short_key(r, rename) for r in records)
    return {(_short_key(r, rename) + ((r.get("sdk_version") or "",) if counts[_short_key(r, rename)] > 1 else ())): r
            for r in records}


def _finding(record: dict[str, Any] | None) -> dict[str, Any] | None:
    root = (record or {}).get("root_cause")
    return {"check": root.get("check"), "message": root.get("message")} if root else None


@dataclass
class Comparison:
    """What changed since the baseline, by kind."""

    regressions: list[dict[str, Any]] = field(default_factory=list)
    improvements: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    new: list[dict[str, Any]] = field(default_factory=list)  # cells the baseline does not have
    gone: list[dict[str, Any]] = field(default_factory=list)  # baseline cells this report does not have
    baseline: list[str] = field(default_factory=list)  # the baseline's files

    def as_dict(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "regressions": self.regressions, "improvements": self.improvements,
                "changes": self.changes, "new": self.new, "gone": self.gone}


def _entry(old: dict[str, Any] | None, new: dict[str, Any] | None, kind: str | None) -> dict[str, Any]:
    record = new or old
    assert record is not None
    return {"kind": kind, "target": record["target"], "capability": record["capability"], "case": record["case"],
            "api": record["api"], "stream": record["stream"], "client": record.get("client") or "raw",
            "sdk_version": record.get("sdk_version"),
            "baseline_target": old["target"] if old else None,
            "old": old["verdict"] if old else None, "new": new["verdict"] if new else None,
            "old_shape": (old or {}).get("shape", "pass") if old else None,
            "new_shape": (new or {}).get("shape", "pass") if new else None,
            "finding": _finding(new) if new and new["verdict"] != "pass" else _finding(old)}


def compare(baseline: Report, current: Report, target_map: dict[str, str] | None = None,
            files: list[str] | None = None) -> Comparison:
    """Compare ``current`` with ``baseline`` (``target_map``: baseline target name -> current target name)."""
    rename = dict(target_map or {})
    if rename:  # only the mapped targets are compared
        old_records = [r for r in baseline.records if r["target"] in rename]
        new_records = [r for r in current.records if r["target"] in set(rename.values())]
    else:
        old_records, new_records = baseline.records, current.records
    old, new = _keyed(old_records, rename), _keyed(new_records, {})
    comparison = Comparison(baseline=list(files or []))
    for key, record in new.items():
        before = old.get(key)
        if before is None:
            entry = _entry(None, record, "regression" if record["verdict"] == "error" else None)
            comparison.new.append(entry)
            if record["verdict"] == "error":
                comparison.regressions.append(entry)
            continue
        kind = classify(before["verdict"], record["verdict"])
        if kind is None and before.get("shape", "pass") != record.get("shape", "pass"):
            kind = "change"  # the shape marker moved: listed, never failed
        if kind is not None:
            {"regression": comparison.regressions, "improvement": comparison.improvements,
             "change": comparison.changes}[kind].append(_entry(before, record, kind))
    comparison.gone = [_entry(record, None, None) for key, record in old.items() if key not in new]
    return comparison
