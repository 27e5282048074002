"""``conformance audit PATH [PATH ...] [--profile openai|compat|open-responses] [--json FILE] [--openapi FILE] [--sdk]``

Judges every Chat Completions / Responses interaction of vcrpy cassettes with the
suite's named checks. Every input gets a verdict: each interaction one (pass, stale, fail, skip, or
error when judging it failed), a file that cannot be read an input error naming the file and why, a
cassette with no interactions a place in ``summary.empty_cassettes``. Exit status (the highest that
applies): 3 on an internal error (an interaction whose judging raised, an audit worker that died or ran
past ``--file-timeout``, a crash of the command), 2 on usage or input errors (a missing path, a file that
is not a readable cassette, an unusable OpenAPI document), 1 when any interaction fails, else 0 (every
judged interaction is pass or stale); 141 when the reader of its output (the summary, or the report with
``--json -``) stopped reading (``| head``).

``--sdk`` also gives every judged answer to the installed openai SDK (``conformance.audit.sdk``) and
reports, beside the suite's verdict, what the SDK makes of it; it never changes the exit status.

Large inputs are split by cassette file over the CPU cores (``--jobs``, default:
the number of CPUs); small ones run in-process, where a pool would only add
start-up time. A worker that dies or hangs on a file is replaced (``conformance.audit.pool``): that
file gets an input error, the others their verdicts.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from conformance import redaction
from conformance.api import fastschema
from conformance.api.vocabulary import PROFILES
from conformance.audit import pool
from conformance.audit import sdk as sdk_audit
from conformance.audit.judge import audit_interaction
from conformance.checks.openapi import OpenApiError, OpenApiSpec
from conformance.reports import audit as report
from conformance.reports import pipe
from conformance.memory import FEWER_COLLECTIONS, fewer_collections
from conformance.transport.recordings import CassetteError, find_cassettes, load_cassette

# Below this much cassette data a worker pool costs more than it saves.
PARALLEL_BYTES = 4 * 1024 * 1024
# The audit allocates many objects that live until its report is written (parsed cassettes, findings): fewer
# young-generation collections save a sixth of its CPU time (conformance/memory.py)
AUDIT_GC_THRESHOLDS = FEWER_COLLECTIONS
FILE_TIMEOUT = 300.0  # seconds one audit worker may spend on one file before it is stopped
# Exit statuses (docs/audit.md, README "Reliability"): the highest that applies.
EXIT_PASS, EXIT_FAIL, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
INTERNAL = "internal"  # the check name of an interaction whose judging raised (verdict error)

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
    p.add_argument("--file-timeout", type=float, default=FILE_TIMEOUT, metavar="SECONDS",
                   help=f"stop a worker that spends longer than this on one file; the file gets an input error "
                        f"(default {FILE_TIMEOUT:g})")
    return p


def _init_worker(profile: str, spec_path: str | None, sdk: bool = False) -> None:
    _settings["profile"] = profile
    _settings["sdk"] = sdk
    _settings["spec"] = OpenApiSpec.load(spec_path) if spec_path else None


def audit_file(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Audit one cassette file: (report entries, input error or None). Never raises: a file that cannot be
    read is an input error; an interaction whose judging raises is an entry with verdict ``error``."""
    try:
        recorded = load_cassette(path)
    except CassetteError as exc:
        return [], {"message": str(exc), "internal": False}
    except Exception as exc:  # noqa: BLE001  (a bug of the reader: this file's verdict, not a lost batch)
        return [], {"message": f"internal error reading the file: {_exception(exc)}", "internal": True}
    entries, malformed = [], []
    for interaction in recorded:
        if interaction.malformed:  # the file's fault, not the recorded server's: an input error naming the index
            malformed.append(f"interaction {interaction.index}: {interaction.malformed}")
            continue
        try:
            entry = audit_interaction(interaction, _settings["profile"], _settings["spec"])
            if _settings["sdk"]:
                sdk_audit.add_sdk(entry, interaction, _settings["profile"])
        except Exception as exc:  # noqa: BLE001
            entry = _internal_entry(interaction, exc)
        entries.append(entry)
    if malformed:
        first = next(r.index for r in recorded if r.malformed)
        more = f" (and {len(malformed) - 1} more)" if len(malformed) > 1 else ""
        return entries, {"message": malformed[0] + more, "internal": False, "index": first}
    return entries, None


def _exception(exc: BaseException) -> str:
    """``Type: message`` and where it was raised (the innermost frame), on one line."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}: {str(exc)[:300]}{where}"


def _internal_entry(interaction: Any, exc: BaseException) -> dict[str, Any]:
    """The report entry of an interaction whose judging raised: verdict ``error``, the exception as finding."""
    exchange = interaction.exchange
    return {"cassette": interaction.cassette, "index": interaction.index, "method": str(exchange.method),
            "url": str(exchange.url), "api": None, "endpoint": None, "stream": False, "status": exchange.status,
            "verdict": "error",
            "failures": [{"check": INTERNAL, "message": f"judging this interaction failed: {_exception(exc)}",
                          "verdict": "error"}]}


def _audit_files(files: list[Path], jobs: int, progress: report.Progress, spec_path: str | None,
                 file_timeout: float = FILE_TIMEOUT) -> list[tuple[list[dict[str, Any]], dict[str, Any] | None]]:
    """Audit every file, in order; over a pool of ``jobs`` processes when the input is large."""
    results: list[Any] = [None] * len(files)
    sizes = [f.stat().st_size for f in files]
    if jobs <= 1 or len(files) < 2 * jobs or sum(sizes) < PARALLEL_BYTES:
        for position, path in enumerate(files):
            results[position] = audit_file(path)
            progress.update(1, len(results[position][0]))
        return results
    # Warm up in-process first (imports, compiled schemas): forked workers inherit it.
    results[0] = audit_file(files[0])
    fastschema.prepare(_settings["profile"])
    progress.update(1, len(results[0][0]))
    fork = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if fork else None)
    # Forked workers inherit the settings (and the warm caches); spawned ones must build them.
    setup = {} if fork else {"initializer": _init_worker,
                             "initargs": (_settings["profile"], spec_path, _settings["sdk"])}
    # Biggest files first keeps the workers evenly busy; results go back to input order. Files go out in
    # batches: one task per file costs the parent more CPU in messaging than the batching saves in balance.
    order = sorted(range(1, len(files)), key=lambda i: -sizes[i])
    batch = max(1, min(32, len(order) // (jobs * 16)))
    if fork:  # what the workers inherit stays out of their garbage collections (no walking, no copy-on-write)
        gc.freeze()
    for at, result in pool.run([files[i] for i in order], audit_file, jobs=jobs, batch=batch,
                               timeout=file_timeout, context=context, **setup):
        if isinstance(result, pool.Lost):  # the worker died or hung on this file: its verdict says so
            result = ([], {"message": result.reason, "internal": True})
        results[order[at]] = result
        progress.update(1, len(result[0]))
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the audit; return the exit status (0 pass/stale, 1 fail, 2 usage or input error, 3 internal error,
    141 when the reader of its output stopped reading)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        status = _main(args)
        sys.stdout.flush()  # here, not at exit: a reader that stopped reading is caught below
        return status
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001  (a bug: say so with the distinct status, never as a verdict)
        if isinstance(exc, BrokenPipeError) and pipe.reader_went_away():
            return pipe.reader_gone()  # the reader of the printed report went away: not an internal error
        print("conformance audit: internal error (please report it):\n" + traceback.format_exc(), file=sys.stderr)
        return EXIT_INTERNAL


def _main(args: argparse.Namespace) -> int:
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
    with fewer_collections():  # forked workers inherit it
        results = _audit_files(files, jobs, progress, args.openapi, args.file_timeout)
    progress.close()
    interactions: list[dict[str, Any]] = []
    audited = 0
    empty: list[str] = []
    internal = False
    for path, (entries, error) in zip(files, results):
        interactions.extend(entries)  # the readable interactions of a file with a malformed one are still judged
        if error is None or error.get("index") is not None:
            audited += 1
            if not entries and error is None:
                empty.append(str(path))  # ``interactions: []``: read and listed; nothing to judge
        if error is None:
            continue
        if path in explicit or error["internal"] or not error["message"].startswith("not a cassette"):
            input_errors.append({"path": str(path), "index": error.get("index"), "message": error["message"],
                                 **({"internal": True} if error["internal"] else {})})
            internal = internal or error["internal"]
        # a non-cassette YAML file met in a directory search (a config file, say) is not an error
    summary = report.summarise(interactions, cassettes=audited, input_errors=input_errors, profile=args.profile,
                               openapi=args.openapi, seconds=time.monotonic() - started)
    summary["empty_cassettes"] = empty
    if version is not None:
        summary["sdk"] = sdk_audit.summarise(interactions, version)
    redaction.register_environment()
    # no key in the report: OpenAI-key-like strings and the environment's keys are replaced (messages quote bodies)
    document, text = redaction.redact_document_text({"summary": summary, "interactions": interactions})
    if args.json:
        try:
            report.write_json(args.json, document, text)
        except BrokenPipeError:
            raise  # ``--json -`` read by a reader that stopped: main's
        except OSError as exc:
            print(f"conformance audit: cannot write {args.json}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    print(report.render(document), file=sys.stderr if args.json == "-" else sys.stdout)
    if internal or summary["verdicts"].get("error"):
        return EXIT_INTERNAL
    if input_errors:
        return EXIT_INPUT
    return EXIT_FAIL if summary["verdicts"]["fail"] else EXIT_PASS
