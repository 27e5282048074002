"""Benchmark replay: milliseconds per recorded interaction that ``conformance run`` spends beyond collection.

Runs, in fresh processes from the repository root, on the committed cassettes:

  run      ``conformance run --reports TMP``              the whole replay (start-up, collection, items, reports)
  collect  ``conformance run --collect-only --reports TMP`` start-up and collection only

and prints (run - collect) / interactions, where interactions counts every request/response pair of the
committed cassettes the run replays (``cassettes/**/*.yaml``). Each figure is the median of --repeat runs
(default 3; runs and collections alternate), and the best of them is printed too (the fastest run minus the
fastest collection, in CPU time: a shared machine's speed can vary by half from hour to hour). CPU time (user
+ system of the child process) is printed beside wall time, because other work on a shared machine shows in
wall-clock times. The reports go to a temporary directory (./reports is left
alone); the exit status of the run is checked (0: every verdict equals expectations/).

    .venv/bin/python benchmarks/replay_bench.py [--repeat 3] [PYTEST ARGS...]
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [str(Path(sys.executable).with_name("conformance")), "run"]


def interactions(root: Path) -> tuple[int, int]:
    """(cassettes, interactions) under ``root``."""
    files = count = 0
    for path in sorted(root.rglob("*.yaml")):
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        if isinstance(document, dict) and isinstance(document.get("interactions"), list):
            files += 1
            count += len(document["interactions"])
    return files, count


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], cwd: Path) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds, exit status, last output line) of one run in a fresh process."""
    started, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    last = (done.stdout.strip().splitlines() or [""])[-1]
    return time.perf_counter() - started, _children_cpu() - cpu, done.returncode, last


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the median counts")
    options.add_argument("--command", default=shlex.join(COMMAND),
                         help="how to run the suite (default: this venv's `conformance run`); e.g. to measure "
                              "another checkout: --cwd DIR --command 'python -m conformance run'")
    options.add_argument("--cwd", type=Path, default=ROOT, help="where to run it (its cassettes/ are counted)")
    args, extra = options.parse_known_args()
    command = shlex.split(args.command)
    files, count = interactions(args.cwd / "cassettes")
    print(f"load average before: {_load()}   ({os.cpu_count()} CPUs)")
    print(f"input: {files} committed cassettes, {count} recorded interactions")
    with tempfile.TemporaryDirectory(prefix="replay-bench-") as scratch:
        run_argv = [*command, "--reports", str(Path(scratch) / "run"), *extra]
        collect_argv = [*command, "--collect-only", "--reports", str(Path(scratch) / "collect"), *extra]
        timed(run_argv, args.cwd)  # once untimed: a warm page cache and compiled bytecode for every measured run
        runs, collects = [], []
        for _ in range(args.repeat):  # alternated: a slow spell of the machine weighs on both alike
            runs.append(timed(run_argv, args.cwd))
            collects.append(timed(collect_argv, args.cwd))
    statuses = {status for _, _, status, _ in runs}
    run_wall, run_cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
    collect_wall, collect_cpu = statistics.median(c[0] for c in collects), statistics.median(c[1] for c in collects)
    print(f"command: {shlex.join(['conformance', 'run', *extra])}   (exit status {', '.join(map(str, statuses))}; "
          f"last line: {runs[-1][3]})")
    print(f"run (whole command):   {run_wall:6.2f} s wall   {run_cpu:6.2f} s CPU   (median of {args.repeat})")
    print(f"collection only:       {collect_wall:6.2f} s wall   {collect_cpu:6.2f} s CPU   "
          f"(`conformance run --collect-only`, median of {args.repeat})")
    print(f"beyond collection:     {(run_wall - collect_wall) * 1000 / count:6.2f} ms wall per interaction   "
          f"{(run_cpu - collect_cpu) * 1000 / count:6.2f} ms CPU per interaction   ({count} interactions)")
    best_run, best_collect = min(r[1] for r in runs), min(c[1] for c in collects)
    print(f"best of {args.repeat}:            {(best_run - best_collect) * 1000 / count:6.2f} ms CPU per interaction   "
          f"(fastest run {best_run:.2f} s - fastest collection {best_collect:.2f} s: the least disturbed by other "
          f"work on the machine)")
    print(f"load average after: {_load()}")
    return 0 if statuses == {0} else 1


def _load() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    raise SystemExit(main())
