"""``conformance audit PATH [PATH ...] [--profile openai|compat|open-responses] [--json FILE] [--openapi FILE] [--sdk]``

Judges every Chat Completions / Responses interaction of vcrpy cassettes with the
suite's named checks. Exit status: 0 when every judged interaction is pass or
stale, 1 when any fails, 2 on usage or input errors (a missing path, a file that
is not a readable cassette, an unusable OpenAPI document).

``--sdk`` also gives every judged answer to the installed openai SDK (``conformance.audit.sdk``) and
reports, beside the suite's verdict, what the SDK makes of it; it never changes the exit status.

Large inputs are split by cassette file over the CPU cores (``--jobs``, default:
the number of CPUs); small ones run in-process, where a pool would only add
start-up time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

from conformance.api.vocabulary import PROFILES
from conformance.audit import sdk as sdk_audit
from conformance.audit.judge import audit_interaction
from conformance.checks.openapi import OpenApiError, OpenApiSpec
from conformance.reports import audit as report
from conformance.transport.recordings import CassetteError, find_cassettes, load_cassette

# Below this much cassette data a worker pool costs more than it saves.
PARALLEL_BYTES = 4 * 1024 * 1024

# Per-process settings of the audit workers (set before the pool forks, or by its initializer).
_settings: dict[str, Any] = {"profile": "openai", "spec": None, "sdk": False}


def parser() -> argparse.ArgumentParser:
    """The command-line parser of ``conformance audit``."""
    p = argparse.ArgumentParser(prog="conformance audit",
                                description="Check recorded OpenAI traffic (vcrpy cassettes) with the suite's checks.")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="cassette files (.yaml, .yml, optionally .gz) or directories searched recursively")
    p.add_argument("--profile", choices=PROFILES, default="openai",
                   help="rule set: what OpenAI sends (openai, default), what SDKs need (compat), Open Responses")
    p.add_argument("--json", metavar="FILE", help="write the JSON report here ('-' for stdout)")
    p.add_argument("--openapi", metavar="FILE", help="also validate answers against this OpenAPI document")
    p.add_argument("--sdk", action="store_true",
                   help="also give every answer to the installed openai SDK and report what it makes of it")
    p.add_argument("--jobs", type=int, default=0, metavar="N",
                   help="worker processes for large inputs (default: the number of CPUs; 1 = no pool)")
    return p


def _init_worker(profile: str, spec_path: str | None, sdk: bool = False) -> None:
    _settings["profile"] = profile
    _settings["sdk"] = sdk
    _settings["spec"] = OpenApiSpec.load(spec_path) if spec_path else None


def audit_file(path: Path) -> tuple[list[dict[str, Any]], str | None]:
    """Audit one cassette file: (report entries, input error or None)."""
    try:
        recorded = load_cassette(path)
    except CassetteError as exc:
        return [], str(exc)
    entries = [audit_interaction(r, _settings["profile"], _settings["spec"]) for r in recorded]
    if _settings["sdk"]:
        for entry, interaction in zip(entries, recorded):
            sdk_audit.add_sdk(entry, interaction, _settings["profile"])
    return entries, None


def _audit_files(files: list[Path], jobs: int, progress: report.Progress,
                 spec_path: str | None) -> list[tuple[list[dict[str, Any]], str | None]]:
    """Audit every file, in order; over a pool of ``jobs`` processes when the input is large."""
    results: list[Any] = [None] * len(files)
    size = sum(f.stat().st_size for f in files)
    if jobs <= 1 or len(files) < 2 * jobs or size < PARALLEL_BYTES:
        for position, path in enumerate(files):
            results[position] = audit_file(path)
            progress.update(1, len(results[position][0]))
        return results
    # Warm up in-process first (imports, compiled schemas): forked workers inherit it.
    results[0] = audit_file(files[0])
    progress.update(1, len(results[0][0]))
    fork = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if fork else None)
    # Forked workers inherit the settings (and the warm caches); spawned ones must build them.
    setup = {} if fork else {"initializer": _init_worker,
                             "initargs": (_settings["profile"], spec_path, _settings["sdk"])}
    # Biggest files first keeps the workers evenly busy; results go back to input order. Files go out in
    # batches: one task per file costs the parent more CPU in messaging than the batching saves in balance.
    order = sorted(range(1, len(files)), key=lambda i: -files[i].stat().st_size)
    batch = max(1, min(32, len(order) // (jobs * 16)))
    with context.Pool(jobs, **setup) as pool:
        for position, result in pool.imap_unordered(_audit_at, [(i, files[i]) for i in order], chunksize=batch):
            results[position] = result
            progress.update(1, len(result[0]))
    return results


def _audit_at(job: tuple[int, Path]) -> tuple[int, tuple[list[dict[str, Any]], str | None]]:
    position, path = job
    return position, audit_file(path)


def main(argv: list[str] | None = None) -> int:
    """Run the audit; return the exit status (0 pass/stale, 1 fail, 2 usage or input error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    started = time.monotonic()
    _settings["profile"] = args.profile
    _settings["sdk"] = args.sdk
    version = sdk_audit.sdk_version() if args.sdk else None
    if args.sdk and version is None:
        print("conformance audit: --sdk needs the openai package: pip install -e '.[sdk]'", file=sys.stderr)
        return 2
    try:
        _settings["spec"] = OpenApiSpec.load(args.openapi) if args.openapi else None
    except OpenApiError as exc:
        print(f"conformance audit: --openapi: {exc}", file=sys.stderr)
        return 2
    files, input_errors = find_cassettes(args.paths)
    explicit = {Path(p) for p in args.paths if Path(p).is_file()}
    jobs = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)
    progress = report.Progress(len(files))
    results = _audit_files(files, jobs, progress, args.openapi)
    progress.close()
    interactions: list[dict[str, Any]] = []
    audited = 0
    for path, (entries, error) in zip(files, results):
        if error is None:
            audited += 1
            interactions.extend(entries)
        elif path in explicit or not error.startswith("not a cassette"):
            input_errors.append({"path": str(path), "message": error})
        # a non-cassette YAML file met in a directory search (a config file, say) is not an error
    summary = report.summarise(interactions, cassettes=audited, input_errors=input_errors, profile=args.profile,
                               openapi=args.openapi, seconds=time.monotonic() - started)
    if version is not None:
        summary["sdk"] = sdk_audit.summarise(interactions, version)
    document = {"summary": summary, "interactions": interactions}
    if args.json:
        try:
            report.write_json(args.json, document)
        except OSError as exc:
            print(f"conformance audit: cannot write {args.json}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    print(report.render(document), file=sys.stderr if args.json == "-" else sys.stdout)
    if input_errors:
        return 2
    return 1 if summary["verdicts"]["fail"] else 0
