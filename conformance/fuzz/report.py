"""What a fuzz run reports: a ``robustness`` row of the matrix per target and API, and ``reports/fuzz.json``.

The row is an ordinary CaseResult (capability ``robustness``, case ``generated-requests``): one Failure per
finding, most severe first, each naming its check, how many requests showed it, and its smallest request as
a curl command; its verdict is the most severe finding's (a 5xx, a broken envelope or schema: ``fail``;
invalid input silently accepted: ``ignored``). It is merged into ``reports/results.json`` (and the matrix
files) in place of the same target's and API's earlier row. ``reports/fuzz.json`` keeps everything: the
settings, the counts per category, every finding with its first and minimal requests, and every exchange.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from conformance.checks.findings import Failure
from conformance.fuzz.engine import Finding, Outcome
from conformance.fuzz.judging import CATEGORIES
from conformance.fuzz.recording import CAPABILITY, CASE
from conformance.verdicts.policy import combine
from conformance.verdicts.results import CaseResult

FUZZ_FORMAT = "conformance.fuzz.v1"


def category_counts(outcome: Outcome) -> dict[str, dict[str, Any]]:
    """Per category: its label, how many coverage and generated requests showed it, how many findings."""
    requests: Counter = Counter()
    for sent in outcome.sent:
        if sent.phase != "shrink":
            for category in {problem.category for problem in sent.problems}:
                requests[category] += 1
    findings = Counter(f.problem.category for f in outcome.findings)
    return {key: {"label": label, "requests": requests[key], "findings": findings[key]}
            for key, label in CATEGORIES.items()}


def sent_counts(outcome: Outcome) -> dict[str, int]:
    """Distinct requests sent, in all and per phase."""
    phases = Counter(sent.phase for sent in outcome.sent)
    return {"total": len(outcome.sent), **{phase: phases.get(phase, 0) for phase in ("coverage", "generate", "shrink")}}


def summary_line(outcome: Outcome) -> str:
    """One line of figures: requests sent, then each category's requests and findings."""
    sent = sent_counts(outcome)
    parts = [f"{sent['total']} requests ({sent['coverage']} coverage, {sent['generate']} generated, "
             f"{sent['shrink']} shrinking)"]
    for entry in category_counts(outcome).values():
        parts.append(f"{entry['label']}: {entry['requests']} ({entry['findings']} distinct)")
    return "; ".join(parts)


def minimal_problem(finding: Finding) -> Any:
    """The finding's problem as its minimal request showed it (the first request's wording may name another
    status, e.g. a 500 where the minimal request got a 400 with the same broken envelope)."""
    signature = finding.problem.signature
    return next((p for p in finding.minimal.problems if p.signature == signature), finding.problem)


def finding_failure(finding: Finding, base_url: str, key_variable: str | None) -> Failure:
    """A finding as a Failure of the robustness row (its minimal reproducer in the message and evidence)."""
    problem = finding.problem
    minimal = finding.minimal
    shown = minimal_problem(finding)
    curl = minimal.request.curl(base_url, key_variable)
    status = minimal.exchange.status if minimal.exchange.status is not None else "no answer"
    message = (f"{CATEGORIES[problem.category]}: {finding.operation} ({finding.mode}, {finding.requests} "
               f"request(s)): {shown.message} | minimal request (shrunk: {finding.shrunk}), answered {status}: "
               f"{curl}")
    evidence = {"category": problem.category, "problem": shown.message, "operation": finding.operation,
                "mode": finding.mode,
                "requests": finding.requests, "found_in": sorted(finding.found_in), "shrunk": finding.shrunk,
                "status": minimal.exchange.status, "request": minimal.request.described(base_url), "curl": curl}
    return Failure(check=problem.check, message=message, verdict=problem.verdict, evidence=evidence)


def case_result(target: str, api: str, profile: str, outcome: Outcome, base_url: str, key_variable: str | None,
                cassette: Path | None, source: str) -> CaseResult:
    """The robustness row of one target and API."""
    failures = [finding_failure(finding, base_url, key_variable) for finding in outcome.findings]
    return CaseResult(target=target, capability=CAPABILITY, case=CASE, api=api, stream=False,
                      verdict=combine(failures), failures=failures, profile=profile,
                      description="Generated requests (schemathesis): " + summary_line(outcome),
                      source=source, cassette=str(cassette) if cassette else None, duration=outcome.seconds)


def run_record(target: str, api: str, outcome: Outcome, settings: dict[str, Any], base_url: str,
               key_variable: str | None, mode: str, cassette: Path | None) -> dict[str, Any]:
    """The full account of one run for ``reports/fuzz.json``."""
    findings = []
    for finding in outcome.findings:
        failure = finding_failure(finding, base_url, key_variable)
        findings.append({"check": finding.problem.check, "verdict": finding.problem.verdict.value,
                         "message": failure.evidence["problem"], **failure.evidence,
                         "first": finding.first.request.described(base_url),
                         "shrink_requests": finding.shrink_requests, "variants": finding.variants})
    exchanges = [{"index": sent.index, "phase": sent.phase, "operation": sent.operation, "mode": sent.mode,
                  **sent.request.described(base_url), "status": sent.exchange.status,
                  "transport_error": sent.exchange.transport_error,
                  "problems": sorted({problem.check for problem in sent.problems})} for sent in outcome.sent]
    return {"target": target, "api": api, "mode": mode, "cassette": str(cassette) if cassette else None,
            "settings": settings, "requests": sent_counts(outcome), "categories": category_counts(outcome),
            "seconds": round(outcome.seconds, 2), "findings": findings, "exchanges": exchanges}


def write_fuzz_json(directory: Path, runs: list[dict[str, Any]]) -> Path:
    """Write ``fuzz.json``, keeping the earlier runs of other targets and APIs."""
    path = directory / "fuzz.json"
    kept: list[dict[str, Any]] = []
    if path.is_file():
        try:
            old = json.loads(path.read_text())
            if old.get("format") == FUZZ_FORMAT:
                fresh = {(run["target"], run["api"]) for run in runs}
                kept = [run for run in old.get("runs", []) if (run["target"], run["api"]) not in fresh]
        except (OSError, ValueError, KeyError, TypeError):
            kept = []
    merged = sorted(kept + runs, key=lambda run: (run["target"], run["api"]))
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": FUZZ_FORMAT, "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                "runs": merged}, indent=1, ensure_ascii=False) + "\n")
    return path


def merge_into_results(directory: Path, results: list[CaseResult]) -> dict[str, Path]:
    """Put the robustness rows into ``results.json`` (and the matrix files), replacing the same target's and
    API's earlier robustness row and keeping every other record."""
    from conformance.reports import results_file
    from conformance.reports.matrix import write_reports

    path = directory / "results.json"
    run, old = None, []
    if path.is_file():
        try:
            loaded = results_file.load_results(path)
            run, old = (loaded.runs[0] if loaded.runs else None), list(loaded.records)
        except results_file.ResultsError:
            run, old = None, []
    run = run or results_file.standalone_run()
    new = [results_file.normalise(result.as_dict(), run) for result in results]
    fresh = {(r["target"], r["capability"], r["case"], r["api"]) for r in new}
    kept = [r for r in old if (r["target"], r["capability"], r["case"], r["api"]) not in fresh]
    return write_reports(kept + new, directory, run=run)
