"""Per-target expectations: what a target is known to get today.

``expectations/<target>.yaml`` holds:

``known``         result key (``capability/case.api[.stream]``) -> the known verdict, the checks whose
                  findings make it up, and why (the finding that set the verdict). A key that is not
                  listed is expected to pass with no finding.
``intermittent``  check name -> ``{why, match}``, written by hand like a WPT known-intermittent: findings
                  of that check whose message matches the regex ``match`` come and go on this target.
                  They stay in the reports but are set aside when a result is compared with the known one.

A run passes when every result has exactly its known verdict and known set of failing checks, so a
known gap hides neither a regression of its verdict nor a new finding in the same case; a gap that
closes shows up too. ``known`` is regenerated from a run with ``conformance run --update-expectations``
(which refuses to bless ``error`` results: those are the suite's problems to fix); ``intermittent`` is kept.
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from conformance.checks.findings import Failure, Verdict
from conformance.parsing import load_yaml
from conformance.transport import documents
from conformance.verdicts.policy import SEVERITY, combine, counted
from conformance.verdicts.results import CaseResult


@dataclass(frozen=True)
class Known:
    verdict: Verdict = Verdict.PASS
    checks: frozenset[str] = frozenset()
    shape: Verdict = Verdict.PASS


@dataclass
class Expectations:
    known: dict[str, Known] = field(default_factory=dict)
    intermittent: dict[str, dict[str, str]] = field(default_factory=dict)
    exists: bool = False  # the target has an expectations file (without one, nothing is known about it yet)

    def is_intermittent(self, failure: Failure) -> bool:
        rule = self.intermittent.get(failure.check)
        return bool(rule) and re.search(rule.get("match", ""), failure.message) is not None

    def steady(self, result: CaseResult) -> list[Failure]:
        """The findings of ``result`` that count (the policy's root, case and shape findings) and are not
        declared intermittent."""
        return [f for f in counted(result.failures) if not self.is_intermittent(f)]

    def observed(self, result: CaseResult) -> Known:
        """What ``result`` shows, in the terms of an expectation."""
        if result.verdict is Verdict.NOT_RECORDED:
            return Known(Verdict.NOT_RECORDED)
        steady = self.steady(result)
        return Known(combine([f for f in steady if f.role != "shape"]), frozenset(f.check for f in steady),
                     combine([f for f in steady if f.role == "shape"]))

    def expected(self, result: CaseResult) -> Known:
        return self.known.get(result.key, Known())

    def intermittent_found(self, result: CaseResult) -> list[str]:
        """The intermittent checks that reported something in ``result``."""
        return sorted({f.check for f in result.failures if self.is_intermittent(f)})


def difference(expected: Known, observed: Known) -> str:
    """A one-line account of how an observation differs from its expectation ('' when it does not)."""
    parts = []
    if expected.verdict != observed.verdict:
        parts.append(f"expected {expected.verdict.value}, got {observed.verdict.value}")
    if expected.shape != observed.shape:
        parts.append(f"expected shape {expected.shape.value}, got {observed.shape.value}")
    if observed.checks - expected.checks:
        parts.append("new findings from " + ", ".join(sorted(observed.checks - expected.checks)))
    if expected.checks - observed.checks:
        parts.append("findings gone from " + ", ".join(sorted(expected.checks - observed.checks)))
    return "; ".join(parts)


def outcome(expected: Known, observed: Known) -> tuple[str, str]:
    """How a result ends as a test: ("pass" | "xfail" | "fail", why). Known gaps are xfail; any difference fails."""
    if observed.verdict is Verdict.ERROR:
        return "fail", "suite error"
    different = difference(expected, observed)
    if different:
        if observed.verdict is Verdict.PASS:
            different = "unexpected pass: the gap closed; update expectations. " + different
        return "fail", different
    if observed.verdict is Verdict.PASS and observed.shape is Verdict.PASS:
        return "pass", ""
    shape = f" (shape {observed.shape.value})" if observed.shape is not Verdict.PASS else ""
    return "xfail", f"known {observed.verdict.value}{shape}"


def _intermittent(value: Any) -> dict[str, str]:
    return {"why": value, "match": ""} if isinstance(value, str) else {"why": value.get("why", ""),
                                                                       "match": value.get("match", "")}


def load(directory: str | Path, target: str, client: str = "raw") -> Expectations:
    """The expectations of ``target`` (empty when it has no file).

    Through another client than raw HTTP (``--client sdk``), the client's own known gaps,
    ``<target>.<client>.yaml``, are laid over ``<target>.yaml`` (``conformance.verdicts.overlay``).
    """
    found = _load_file(Path(directory) / f"{target}.yaml")
    if client == "raw":
        return found
    from conformance.verdicts import overlay

    return overlay.apply(found, Path(directory) / f"{target}.{client}.yaml")


def _load_file(path: Path) -> Expectations:
    """The expectations in ``path``; a run asks on every item, and the file is read again only once it changed
    (kept as ``transport.documents`` keeps parsed cassettes)."""
    kept = documents.kept(path)
    if kept is not None:
        return kept
    read_at = documents.stamp(path)
    if read_at is None:
        return Expectations()
    parsed = _parse(path.read_text(encoding="utf-8"))
    documents.keep(path, parsed, read_at)
    return parsed


@lru_cache(maxsize=64)
def _parse(text: str) -> Expectations:
    """One expectations file's text, parsed once per process (a file changed back to an earlier text is not
    parsed again). The result is shared: callers read it, never change it."""
    data = load_yaml(text) or {}
    known = {}
    for key, value in (data.get("known") or {}).items():
        value = value if isinstance(value, dict) else {"verdict": value}
        known[key] = Known(Verdict(value["verdict"]), frozenset(value.get("checks") or []),
                           Verdict(value.get("shape", "pass")))
    intermittent = {name: _intermittent(v) for name, v in (data.get("intermittent") or {}).items()}
    return Expectations(known, intermittent, exists=True)


class BlessingError(ValueError):
    """--update-expectations was asked to record a suite error as a known verdict."""


def write(directory: str | Path, target: str, results: Iterable[CaseResult], client: str = "raw") -> Path:
    """Write what ``results`` show as ``target``'s known verdicts, keeping its intermittent declarations.

    Through another client (``client``), write only how it differs from the raw lane's known verdicts, into
    ``<target>.<client>.yaml`` (``conformance.verdicts.overlay``)."""
    if client != "raw":
        from conformance.verdicts import overlay

        return overlay.write(Path(directory), target, list(results), client)
    current = load(directory, target)
    known: dict[str, dict[str, Any]] = {}
    errors = []
    for result in sorted(results, key=lambda r: r.key):
        observed = current.observed(result)
        if observed.verdict is Verdict.ERROR:
            errors.append(result.key)
        if observed.verdict in (Verdict.PASS, Verdict.NOT_RECORDED) and not observed.checks:
            continue
        steady = current.steady(result)
        roots = [f for f in steady if f.role == "root"]
        cause = roots[0] if roots else max(steady, key=lambda f: SEVERITY[f.verdict], default=None)
        entry: dict[str, Any] = {"verdict": observed.verdict.value}
        if observed.shape is not Verdict.PASS:
            entry["shape"] = observed.shape.value
        entry.update(checks=sorted(observed.checks), why=f"{cause.check}: {cause.message}"[:200] if cause else "")
        known[result.key] = entry
    if errors:
        raise BlessingError(f"{target}: refusing to record suite errors as known verdicts: {', '.join(errors)}")
    path = Path(directory) / f"{target}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# Known verdicts of target {target!r}. `known` is regenerated by `conformance run --target {target} "
              "--update-expectations`;\n# `intermittent` is written by hand and kept. A run fails when a result's "
              "verdict or set of failing checks differs\n# from these (not listed: pass with no finding).\n")
    data: dict[str, Any] = {"intermittent": current.intermittent} if current.intermittent else {}
    data["known"] = known
    path.write_text(header + yaml.safe_dump(data, sort_keys=False, width=200, allow_unicode=True))
    return path
