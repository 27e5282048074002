"""``results.json``: the canonical record of a run (format ``conformance.results.v2``, JSON Schema
``specs/results.schema.json``), written as results arrive so an interrupted run keeps what it measured.

A run writes two files side by side:

- ``results.jsonl``: one line per event, appended and flushed as it happens: ``{"format", "run"}`` first,
  then ``{"result": record}`` per cell, then ``{"end": {...}}`` when the run finishes (absent when the process
  was killed outright);
- ``results.json``: ``{"format", "run", "summary", "results"}``, rewritten atomically (a temporary file then
  a rename) at most once a second (and in at most 5% of the run's time) while the run goes on, and once more
  at the end, with ``run.interrupted`` and ``run.progress`` saying how far it got.

Each record is a ``CaseResult.as_dict()`` (``conformance.verdicts.results.result_from_dict`` reads it back)
plus what reports need without recomputing: ``client`` and ``sdk_version``, ``run`` (the run's id),
``root_cause`` (the finding that set the verdict), ``tokens`` (summed over the steps' ``usage``) and a
cassette path relative to ``run.cassettes``; each step names its ``interaction`` in that cassette.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from conformance.api.contracts import specs_path
from conformance.parsing import ParseError, load_json

FORMAT = "conformance.results.v2"
OLD_FORMATS = ("conformance.results.v1",)
REPORT_FORMAT = "conformance.report.v1"  # ``conformance report --json``: merged runs, readable here too
COUNTED_ROLES = ("root", "case")
COST_SHARE = 20  # a running results.json is rewritten after at least 20x the time its last rewrite took


class ResultsError(ValueError):
    """A file that cannot be read as conformance results (an input error: exit status 2)."""


def now() -> str:
    """The current UTC time in ISO 8601 (seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def cell_key(record: dict[str, Any]) -> tuple:
    """What identifies one cell: case x API x target x stream mode x client (and SDK version)."""
    return (record["target"], record["capability"], record["case"], record["api"], bool(record["stream"]),
            record.get("client") or "raw", record.get("sdk_version") or "")


def root_cause(record: dict[str, Any]) -> dict[str, Any] | None:
    """The finding that set the verdict: the policy's root cause, else the first counted finding with the
    cell's verdict (None for a clean pass)."""
    failures = record.get("failures") or []
    for failure in failures:
        if failure.get("role") == "root":
            return failure
    for failure in failures:
        if failure.get("role", "case") in COUNTED_ROLES and failure.get("verdict") == record.get("verdict"):
            return failure
    return None


def tokens(record: dict[str, Any]) -> dict[str, int] | None:
    """Tokens used by the cell, summed over the steps whose answers report usage (None when none does)."""
    total: Counter = Counter()
    for step in record.get("steps") or []:
        total.update({name: value for name, value in (step.get("usage") or {}).items() if isinstance(value, int)})
    return dict(total) or None


def _relative(cassette: str | None, root: str | None) -> str | None:
    if not cassette or not root:
        return cassette
    inside = os.path.relpath(os.path.abspath(cassette), os.path.abspath(root))
    if not inside.startswith(".."):  # under the root as written: no symlink lookups for each record
        return Path(inside).as_posix()
    try:
        return Path(cassette).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return cassette


def normalise(record: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    """A record as the results file keeps it (a new dict; ``record`` is left as it was)."""
    out = dict(record)
    client = run.get("client") or {}
    out.setdefault("client", client.get("name") or "raw")
    out.setdefault("sdk_version", client.get("sdk_version"))
    out["run"] = run.get("id")
    out["cassette"] = _relative(record.get("cassette"), run.get("cassettes"))
    steps = []
    for step in record.get("steps") or []:
        step = dict(step)
        if out["cassette"]:
            step.pop("excerpt", None)  # the cassette holds the exchange: the pointer is enough
        steps.append(step)
    out["steps"] = steps
    out["root_cause"] = root_cause(out)
    out["tokens"] = tokens(out)
    return out


def sort_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records in a stable order (target, capability, case, API, stream mode, client)."""
    return sorted(records, key=cell_key)


def document(run: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``results.json`` document (``client`` repeats ``run.client`` for readers of the first format)."""
    return {"format": FORMAT, "run": run, "client": run.get("client"),
            "summary": dict(sorted(Counter(r["verdict"] for r in records).items())), "results": records}


def standalone_run(client: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run metadata for records written without a run behind them (tools, tests): what is known."""
    import platform
    import uuid

    return {"id": uuid.uuid4().hex[:12], "suite_version": None, "commit": None, "mode": "unknown",
            "client": client or {"name": "raw", "sdk_version": None}, "python": platform.python_version(),
            "targets": [], "cassettes": None, "started": now(), "finished": now(), "interrupted": False,
            "progress": {"done": 0, "planned": None}}


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: readers see the old or the new file,
    never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_results(path: str | Path, run: dict[str, Any], records: Iterable[dict[str, Any]],
                  compact: bool = False) -> Path:
    """Write a complete results file (records already normalised): indented for people, or ``compact`` (one
    line, by the C encoder, several times faster) for the rewrites of a running run."""
    path = Path(path)
    layout: dict[str, Any] = {"separators": (",", ":")} if compact else {"indent": 2}
    write_atomically(path, json.dumps(document(run, sort_records(records)), ensure_ascii=False, **layout) + "\n")
    return path


class ResultsWriter:
    """Writes ``results.jsonl`` and ``results.json`` into ``directory`` as results arrive."""

    def __init__(self, directory: str | Path, run: dict[str, Any], every: float = 1.0):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.run = dict(run)
        self.run.setdefault("started", now())
        self.run.update(finished=None, interrupted=False)
        self.run.setdefault("progress", {"done": 0, "planned": None})
        self.records: list[dict[str, Any]] = []
        self.every = every
        self._written = 0.0
        self._cost = 0.0  # seconds the last rewrite of results.json took
        self.lines_path = self.directory / "results.jsonl"
        self.json_path = self.directory / "results.json"
        self._lines = self.lines_path.open("w", encoding="utf-8")
        self._line({"format": FORMAT, "run": self.run})
        self._rewrite()

    def _line(self, event: dict[str, Any]) -> None:
        self._lines.write(json.dumps(event, ensure_ascii=False) + "\n")
        self._lines.flush()

    def _rewrite(self) -> None:
        # compact: the run's reports (reports.matrix.write_reports) write the final, indented file
        started = time.monotonic()
        write_results(self.json_path, self.run, self.records, compact=True)
        self._written = time.monotonic()
        self._cost = self._written - started

    def planned(self, count: int) -> None:
        """How many cells the run means to measure."""
        self.run["progress"]["planned"] = count

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        """Keep one result: a line at once, ``results.json`` at most every ``every`` seconds."""
        kept = normalise(record, self.run)
        self.records.append(kept)
        self.run["progress"]["done"] = len(self.records)
        self._line({"result": kept})
        # at most every ``every`` seconds, and never more than 1/COST_SHARE of the time: each rewrite
        # holds all the records so far, so a fixed interval would make a long run quadratic
        if self.every <= 0 or time.monotonic() - self._written >= max(self.every, self._cost * COST_SHARE):
            self._rewrite()
        return kept

    def finish(self, interrupted: bool = False, exit_status: int | None = None) -> dict[str, Any]:
        """Close the run: the final ``results.json`` and the ``end`` line. Returns the run's metadata."""
        self.run.update(finished=now(), interrupted=bool(interrupted), exit_status=exit_status)
        self._rewrite()
        self._line({"end": {"finished": self.run["finished"], "interrupted": self.run["interrupted"],
                            "progress": self.run["progress"], "exit_status": exit_status}})
        self._lines.close()
        return self.run


@dataclass
class Results:
    """What one file holds: the runs it comes from and their records."""

    path: str
    runs: list[dict[str, Any]]
    records: list[dict[str, Any]] = field(default_factory=list)


def _schema_errors(data: Any) -> list[str]:
    import jsonschema

    schema = load_json(specs_path("results.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message[:200]}" for e in errors[:5]]


def _from_lines(path: Path, text: str) -> Results:
    run: dict[str, Any] | None = None
    records: list[dict[str, Any]] = []
    ended = False
    damaged = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            damaged += 1  # a line cut off when the process was stopped mid-write: keep the others
            continue
        if not isinstance(event, dict):
            damaged += 1
            continue
        if "run" in event:
            run = dict(event["run"])
        elif "result" in event:
            records.append(event["result"])
        elif "end" in event:
            ended = True
            if run is not None:
                run.update(finished=event["end"].get("finished"), interrupted=event["end"].get("interrupted"),
                           progress=event["end"].get("progress"))
    if run is None:
        raise ResultsError(f"{path}: no run line (is this a results.jsonl file?)")
    if damaged:
        run["damaged_lines"] = damaged
    if not ended:
        run["interrupted"] = True  # killed before it could say so
        run["progress"] = {**(run.get("progress") or {}), "done": len(records)}
    return Results(str(path), [run], records)


def _upgrade_v1(path: Path, data: dict[str, Any]) -> Results:
    client = data.get("client") or {"name": "raw", "sdk_version": None}
    run = {"id": f"v1:{path.name}", "upgraded_from": data.get("format"), "started": data.get("generated"),
           "client": client, "targets": [], "interrupted": False}
    records = [normalise(r, run) for r in data.get("results") or []]
    return Results(str(path), [run], records)


def load_results(path: str | Path) -> Results:
    """Read a results file: ``results.json`` (v2, or v1 upgraded), ``results.jsonl``, or a report's JSON.
    Raises ResultsError when it is none of these."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: cannot read: {exc}") from None
    if path.suffix == ".jsonl":
        return _from_lines(path, text)
    try:
        data = load_json(text)
    except ParseError as exc:
        raise ResultsError(f"{path}: {exc}") from None
    kind = data.get("format") if isinstance(data, dict) else None
    if kind in OLD_FORMATS:
        return _upgrade_v1(path, data)
    if kind not in (FORMAT, REPORT_FORMAT):
        raise ResultsError(f"{path}: not a conformance results file (format {kind!r}, expected {FORMAT!r})")
    problems = _schema_errors(data)
    if problems:
        raise ResultsError(f"{path}: does not follow specs/results.schema.json: " + "; ".join(problems))
    runs = data["runs"] if kind == REPORT_FORMAT else [data["run"]]
    return Results(str(path), runs, list(data["results"]))
