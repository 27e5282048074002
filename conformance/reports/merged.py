"""Many results files as one report: shards of one run, runs against several targets, several SDK versions.

Records are keyed by cell (case x API x target x stream mode x client and SDK version); a cell measured in
two files keeps the later file's record and the report says so. Targets are described by the runs'
metadata (host, models, profile, ``scripted``); columns are target x API, and x client when the files mix
clients or SDK versions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from conformance.api.endpoints import APIS
from conformance.reports.results_file import Results, cell_key, sort_records

REPORTED_VERDICTS = ("pass", "fail", "ignored", "unsupported", "error", "not-recorded")


def variant_of(record: dict[str, Any]) -> str:
    """The client that sent a cell's requests: ``raw`` or ``sdk <version>``."""
    client = record.get("client") or "raw"
    return client if client == "raw" else f"sdk {record.get('sdk_version') or '?'}"


@dataclass
class Report:
    """The merged runs and records, and what the views need to lay them out."""

    runs: list[dict[str, Any]]
    records: list[dict[str, Any]]
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def variants(self) -> list[str]:
        """The clients of the report's cells (one entry, ``raw``, for most reports)."""
        return sorted({variant_of(r) for r in self.records})

    def columns(self) -> list[tuple[str, str, str]]:
        """(target, API, variant) for every column with at least one cell; variant is "" when all agree."""
        present = {(r["target"], r["api"], variant_of(r)) for r in self.records}
        several = len(self.variants) > 1
        return [(target, api, variant if several else "")
                for target in sorted({r["target"] for r in self.records})
                for api in APIS
                for variant in self.variants if (target, api, variant) in present]

    def rows(self) -> list[tuple[str, str, bool]]:
        """(capability, case, stream) for every row, grouped by capability."""
        return sorted({(r["capability"], r["case"], bool(r["stream"])) for r in self.records})

    def cell(self, row: tuple[str, str, bool], column: tuple[str, str, str]) -> dict[str, Any] | None:
        """The record of one cell, or None."""
        return self._index().get((*row, *column[:2], column[2] or None))

    def _index(self) -> dict[tuple, dict[str, Any]]:
        if not hasattr(self, "_cells"):
            several = len(self.variants) > 1
            self._cells = {(r["capability"], r["case"], bool(r["stream"]), r["target"], r["api"],
                            variant_of(r) if several else None): r for r in self.records}
        return self._cells

    def scripted(self, target: str) -> bool:
        """True when the target's answers come from fixtures (behaviour cells judge envelopes, not a model)."""
        return bool(self.targets.get(target, {}).get("scripted"))

    def counts(self) -> dict[tuple[str, str, str], Counter]:
        """Verdict counts per column."""
        several = len(self.variants) > 1
        counts: dict[tuple[str, str, str], Counter] = {}
        for record in self.records:
            column = (record["target"], record["api"], variant_of(record) if several else "")
            counts.setdefault(column, Counter())[record["verdict"]] += 1
        return counts

    def interrupted(self) -> list[dict[str, Any]]:
        """The runs that stopped before the end."""
        return [run for run in self.runs if run.get("interrupted")]


def merge(files: list[Results]) -> Report:
    """One report from several results files (later files win a cell measured twice)."""
    cells: dict[tuple, dict[str, Any]] = {}
    origin: dict[tuple, str] = {}
    warnings: list[str] = []
    runs: list[dict[str, Any]] = []
    targets: dict[str, dict[str, Any]] = {}
    for results in files:
        for run in results.runs:
            if run.get("id") not in {r.get("id") for r in runs}:
                runs.append(run)
            for target in run.get("targets") or []:
                targets.setdefault(target["name"], {}).update(target)
        for record in results.records:
            key = cell_key(record)
            if key in cells and origin[key] != results.path:
                warnings.append(f"{'/'.join(str(k) for k in key[:5] if k is not True)} is in {origin[key]} and "
                                f"{results.path}: the later one is shown")
            cells[key] = record
            origin[key] = results.path
    for run in runs:
        if run.get("interrupted"):
            progress = run.get("progress") or {}
            planned = progress.get("planned")
            warnings.append(f"run {run.get('id')} was interrupted after {progress.get('done', '?')}"
                            + (f" of {planned}" if planned else "") + " cells: the report shows what it measured")
    return Report(runs=runs, records=sort_records(cells.values()), targets=targets, warnings=warnings)
