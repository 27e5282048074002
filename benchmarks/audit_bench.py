"""Benchmark ``conformance audit`` against the floor: merely loading the same cassettes.

Builds a large input by code from ../shared/corpus (third-party data: written to a
temporary directory only, deleted afterwards unless --keep): the corpus
interactions, repeated until --interactions is reached, grouped as their original
cassettes, in vcrpy format with the body encodings rotating over text, gzip,
brotli, zstd, base64 and parsed mappings (one file in five gzipped).

Then it measures
  floor  loading every cassette in-process: YAML with the C loader, bodies decoded,
         JSON and SSE parsed (conformance.transport.recordings, the audit's own loader);
  audit  the real command, ``python -m conformance.audit DIR --json FILE`` (the same
         as ``conformance audit DIR --json FILE``), in a fresh process, start-up included;
and prints interactions per second and the ratio audit / floor, in wall-clock and in CPU time (the aim: CPU <= 1.5x),
of the best runs and, steadier on a machine whose speed drifts, the median of the ratios of adjacent runs.

    .venv/bin/python benchmarks/audit_bench.py [--interactions 10000] [--jobs N] [--keep DIR]

The figures in docs/audit.md come from this script. Each measurement is the best of
--repeat runs, and CPU time is printed too (all audit processes vs the floor's one
process), because other load on the machine shows in wall-clock times; so does the
load average, printed before and after (run it when the machine is quiet). The
package's bytecode is written first, as installing it does. ``--instructions`` counts
the audit with ``--jobs 1``: valgrind counts what a forked worker inherited from its
parent again in the worker.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT / "tests"))

from conformance.transport.recordings import find_cassettes, load_cassette  # noqa: E402
from support.cassettes import STYLES, from_corpus_record, write_cassette  # noqa: E402


def corpus_cassettes() -> list[list[dict]]:
    """The corpus records grouped by their original cassette, in recorded order."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for path in sorted(CORPUS.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    record = json.loads(line)
                    groups[(record["source_repo"], record["cassette_path"])].append(record)
    return [sorted(records, key=lambda r: r["index"]) for _, records in sorted(groups.items())]


def build(directory: Path, wanted: int) -> tuple[int, int]:
    """Write cassettes under ``directory`` until ``wanted`` interactions; return (files, interactions)."""
    groups = corpus_cassettes()
    files = interactions = 0
    while interactions < wanted:
        for records in groups:
            style = STYLES[files % len(STYLES)]
            suffix = ".yaml.gz" if files % 5 == 4 else ".yaml"
            path = directory / f"part{files // 500:03d}" / f"cassette{files:06d}{suffix}"
            write_cassette(path, [from_corpus_record(record, style) for record in records])
            files += 1
            interactions += len(records)
            if interactions >= wanted:
                break
    return files, interactions


def floor(directory: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds) to load every cassette and parse every body once; and the interaction count."""
    started, cpu = time.perf_counter(), time.process_time()
    files, _ = find_cassettes([str(directory)])
    count = 0
    for path in files:
        for recorded in load_cassette(path):
            exchange = recorded.exchange
            _ = exchange.events if exchange.is_sse else exchange.json
            count += 1
    return time.perf_counter() - started, time.process_time() - cpu, count


def instructions(argv: list[str], scratch: Path, cwd: Path = ROOT) -> int:
    """Machine instructions ``argv`` executes, all its processes summed (valgrind's cachegrind, no cache model):
    a count that does not drift with the machine's speed, unlike CPU time on a shared VM."""
    out = Path(tempfile.mkdtemp(prefix="cachegrind-", dir=scratch))
    subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--trace-children=yes",
                    f"--cachegrind-out-file={out}/cg.%p", *argv], cwd=cwd, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    total = 0
    for report in out.glob("cg.*"):
        for line in report.read_text().splitlines():
            if line.startswith("summary:"):
                total += int(line.split()[1])
    return total


def _floor_process(directory: Path, load: bool) -> None:
    """The floor in a process of its own (for ``--instructions``); without ``load`` only its start-up."""
    files, _ = find_cassettes([str(directory)])
    if load:
        for path in files:
            for recorded in load_cassette(path):
                exchange = recorded.exchange
                _ = exchange.events if exchange.is_sse else exchange.json


def compile_package(tree: Path) -> None:
    """Write the bytecode of ``tree``'s ``conformance`` package, as installing a wheel does: where
    PYTHONDONTWRITEBYTECODE is set (or the files changed since), every audit run would compile stale modules
    at start-up and the figure would measure the compiler."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "conformance")], check=False,
                   stdout=subprocess.DEVNULL)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def audit_argv(directory: Path, report: Path, jobs: int | None) -> list[str]:
    """The audit command, as the benchmark runs it."""
    argv = [sys.executable, "-m", "conformance.audit", str(directory), "--json", str(report)]
    return argv + ["--jobs", str(jobs)] if jobs else argv


def audit(directory: Path, report: Path, jobs: int | None, cwd: Path = ROOT) -> tuple[float, float, list[str], int]:
    """Run the real command in a fresh interpreter; (wall seconds, CPU seconds of all its processes, argv, status)."""
    argv = audit_argv(directory, report, jobs)
    started, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started, _children_cpu() - cpu, argv, done.returncode


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--interactions", type=int, default=10000)
    options.add_argument("--jobs", type=int, default=None, help="passed to the audit (default: its own choice)")
    options.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the best one counts")
    options.add_argument("--keep", metavar="DIR", help="build the input here and keep it (reused when it exists)")
    options.add_argument("--cwd", type=Path, default=ROOT,
                         help="run the audit from this checkout (its `conformance` package; to compare versions)")
    options.add_argument("--instructions", action="store_true",
                         help="also count the machine instructions of both (valgrind; about 30x slower)")
    options.add_argument("--floor-process", metavar="DIR", type=Path, help=argparse.SUPPRESS)
    options.add_argument("--startup-only", action="store_true", help=argparse.SUPPRESS)
    args = options.parse_args()
    if args.floor_process:  # the floor run as a process of its own, for --instructions
        _floor_process(args.floor_process, load=not args.startup_only)
        return 0
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}: nothing to benchmark", file=sys.stderr)
        return 2
    if args.instructions and shutil.which("valgrind") is None:
        print("--instructions needs valgrind on PATH (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    print(f"load average before: {_load()}")
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as scratch:
        directory = Path(args.keep) if args.keep else Path(scratch) / "cassettes"
        started = time.perf_counter()
        if directory.is_dir() and any(directory.iterdir()):
            print(f"input: reusing {directory} (built by an earlier --keep run)")
        else:
            files, _ = build(directory, args.interactions)
            print(f"input: {files} cassettes, built in {time.perf_counter() - started:.1f} s "
                  f"(styles: {', '.join(STYLES)}; every 5th file gzipped)")
        megabytes = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()) / 1e6
        print(f"input size: {megabytes:.0f} MB")
        compile_package(ROOT)  # the floor's loader
        compile_package(args.cwd)
        floor(directory)  # once untimed, so both measurements read from a warm page cache
        report = Path(scratch) / "report.json"
        # Best of --repeat runs: other work on the machine only ever makes a run slower. Floor and audit runs
        # alternate, so a machine that drifts slower or faster during the measurement affects both alike.
        floors, audits = [], []
        for _ in range(args.repeat):
            floors.append(floor(directory))
            audits.append(audit(directory, report, args.jobs, args.cwd))
        floor_seconds, floor_cpu, count = min(floors)
        audit_seconds, audit_cpu, argv, status = min(audits)
        summary = json.loads(report.read_text())["summary"]
        if args.instructions:
            # the floor's own start-up is left out, as in its timing (in-process); the audit's is counted
            me = [sys.executable, str(Path(__file__).resolve()), "--floor-process", str(directory)]
            floor_count = instructions(me, Path(scratch)) - instructions([*me, "--startup-only"], Path(scratch))
            # in one process: valgrind counts a forked worker's inherited share of its parent's instructions (all
            # it ran before the fork) again in the worker, so a pool run would be overcounted
            audit_count = instructions(audit_argv(directory, report, 1), Path(scratch), args.cwd)
    shown = ["conformance", "audit", *argv[3:]]
    print(f"command: {shlex.join(shown)}   (run as: {shlex.join(argv)}; exit status {status})")
    print(f"interactions: {count}   verdicts: {summary['verdicts']}")
    print(f"floor (load + parse, 1 process): {floor_seconds:6.2f} s   {count / floor_seconds:5.0f} interactions/s"
          f"   CPU {floor_cpu:.2f} s")
    print(f"audit (whole command):           {audit_seconds:6.2f} s   {count / audit_seconds:5.0f} interactions/s"
          f"   CPU {audit_cpu:.2f} s (all processes)")
    print(f"ratio audit / floor: {audit_seconds / floor_seconds:.2f} (wall clock), "
          f"{audit_cpu / floor_cpu:.2f} (CPU time)")
    # This VM's speed drifts within minutes: a ratio of two runs made one after the other is steadier than the
    # ratio of two bests that may come from different minutes
    paired = sorted(a[1] / f[1] for f, a in zip(floors, audits))
    print(f"CPU ratio of each floor run to the audit run right after it: median {statistics.median(paired):.2f} "
          f"(all: {', '.join(f'{r:.2f}' for r in paired)})")
    if args.instructions and not (floor_count > 0 and audit_count > 0):
        print("instructions (valgrind): not counted (valgrind wrote no summary)")
    elif args.instructions:
        print(f"instructions (valgrind): floor {floor_count / 1e9:.2f} G, audit {audit_count / 1e9:.2f} G (--jobs 1, "
              f"start-up included): ratio {audit_count / floor_count:.2f}")
    print(f"load average after: {_load()}   ({os.cpu_count()} CPUs)")
    return 0


def _load() -> str:
    """The 1, 5 and 15 minute load averages: other work on the machine slows both measurements."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    raise SystemExit(main())
