"""Benchmark live runs: speed-up of ``conformance run --live --concurrency N`` against aimock with injected latency.

For each latency (aimock's own ``--chaos-latency``: a delay before handling every request, standing in for a
model's answer time; set through CONFORMANCE_AIMOCK_LATENCY_MS, which the server catalog passes on) and each
concurrency N, runs in a fresh process from the repository root:

    CONFORMANCE_AIMOCK_LATENCY_MS=<ms> conformance run --live --target aimock [--concurrency N] --reports TMP

and prints the wall time of the whole command (server start-up included), the speed-up over N = 1 and
whether every cell's verdict (verdict, shape verdict and the set of checks with findings) equals the N = 1
run's. Each figure is the median of --repeat runs (default 1: a serial run at 1 s latency takes minutes).

    .venv/bin/python benchmarks/live_bench.py [--latency 300 1000] [--concurrency 1 2 4 8] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = str(Path(sys.executable).with_name("conformance"))
LATENCY_ENV = "CONFORMANCE_AIMOCK_LATENCY_MS"


def verdicts(results: Path) -> dict[tuple, tuple]:
    """Each cell's (verdict, shape, checks with counted findings) from a results.json."""
    document = json.loads(results.read_text(encoding="utf-8"))
    return {(r["target"], r["capability"], r["case"], r["api"], bool(r["stream"])):
            (r["verdict"], r.get("shape"), tuple(sorted({f["check"] for f in r.get("failures") or []
                                                          if f.get("verdict") != "pass"})))
            for r in document["results"]}


def run(latency: int, concurrency: int, reports: Path, target: str) -> tuple[float, int, dict]:
    """(wall seconds, exit status, verdicts) of one live run."""
    argv = [CONFORMANCE, "run", "--live", "--target", target, "--reports", str(reports)]
    if concurrency > 1:
        argv += ["--concurrency", str(concurrency)]
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env={**os.environ, LATENCY_ENV: str(latency)},
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started, done.returncode, verdicts(reports / "results.json")


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--latency", type=int, nargs="+", default=[300, 1000], metavar="MS")
    options.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8], metavar="N")
    options.add_argument("--repeat", type=int, default=1, help="runs of each measurement; the median counts")
    options.add_argument("--target", default="aimock")
    args = options.parse_args()
    print(f"load average before: {_load()}   ({os.cpu_count()} CPUs)")
    same_everywhere = True
    with tempfile.TemporaryDirectory(prefix="live-bench-") as scratch:
        for latency in args.latency:
            base: float | None = None
            reference: dict | None = None
            for concurrency in args.concurrency:
                runs = [run(latency, concurrency, Path(scratch) / f"{latency}-{concurrency}-{i}", args.target)
                        for i in range(args.repeat)]
                wall = statistics.median(r[0] for r in runs)
                statuses = sorted({r[1] for r in runs})
                if reference is None:
                    reference, base = runs[0][2], wall
                same = all(r[2] == reference for r in runs)
                same_everywhere &= same
                command = (f"{LATENCY_ENV}={latency} conformance run --live --target {args.target}"
                           + (f" --concurrency {concurrency}" if concurrency > 1 else ""))
                print(f"latency {latency:5d} ms  concurrency {concurrency}:  {wall:6.1f} s  speed-up "
                      f"{base / wall:4.2f}x  cells {len(runs[0][2])}  verdicts "
                      f"{'identical' if same else 'DIFFERENT'}  exit {statuses}   $ {command}")
    print(f"(median of {args.repeat} run(s) each; wall time of the whole command, aimock start-up included)")
    print(f"verdicts identical in every run: {same_everywhere}")
    print(f"load average after: {_load()}")
    return 0 if same_everywhere else 1


def _load() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    raise SystemExit(main())
