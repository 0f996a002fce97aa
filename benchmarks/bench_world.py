"""Benchmark: the default world run, stage by stage (median of repeats), against 60 s.

Run from the repository root: ``python benchmarks/bench_world.py [--repeats 3]``. Each
repeat runs ``healthmob run configs/world.toml`` in a fresh process (the cost a user pays,
imports included) and reads the stage timings from its ``run.log``. BLAS runs single-threaded
as in the CLI; ``--blas-threads 2`` shows what two threads cost on this machine.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 60.0
STAGES = {
    "mobility build": r"mobility: .*\(([\d.]+) s\)",
    "endemic start (cached calibration)": r"endemic start: .*\(([\d.]+) s\)",
    "deterministic engine, 20 years": r"deterministic engine: .* in ([\d.]+) s",
    "risk, every corridor x 8 policies": r"risk: .*\(([\d.]+) s\)",
    "arrival times, 20 stochastic members": r"arrival times: .*\(([\d.]+) s\)",
    "maps and report": r"maps and report: .*\(([\d.]+) s\)",
}


def one_run(threads: int) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "healthmob", "-q", "run",
                               str(REPO / "configs" / "world.toml"), "--output-dir", out],
                              capture_output=True, text=True, env=env, cwd=REPO)
        wall = time.perf_counter() - t0
        if done.returncode:
            sys.exit(done.stderr)
        log = next(Path(out).glob("world-*/run.log")).read_text()
    found = {name: float(m.group(1)) for name, pattern in STAGES.items()
             if (m := re.search(pattern, log))}
    return {**found, "whole process (wall)": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--blas-threads", type=int, default=1)
    args = parser.parse_args()
    runs = [one_run(args.blas_threads) for _ in range(args.repeats)]
    print(f"world run, {args.repeats} repeats, BLAS threads {args.blas_threads}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    print(f"{'stage':<40} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name in runs[0]:
        values = [r[name] for r in runs if name in r]
        print(f"{name:<40} {statistics.median(values):>9.2f} {min(values):>7.2f} "
              f"{max(values):>7.2f}")
    wall = statistics.median(r["whole process (wall)"] for r in runs)
    print(f"{'target: whole run <= 60 s':<40} {wall / TARGET_SECONDS:>9.2f} x target "
          f"({'met' if wall <= TARGET_SECONDS else 'NOT met'})")


if __name__ == "__main__":
    main()
