"""Benchmark: the default world run, stage by stage (median of repeats), against 60 s.

Run from the repository root: ``python benchmarks/bench_world.py [--repeats 3]``. Each
repeat runs ``healthmob run configs/world.toml`` in a fresh process (the cost a user pays,
imports included) and reads the stage timings from its ``run.log``; it does so with the
birthplace account (the default) and without it (``[birthplace] enabled = false``), and
prints the ratio and the peak memory of the runs. BLAS runs single-threaded as in the CLI;
``--blas-threads 2`` shows what two threads cost on this machine. ``--config world-history``
times the history run (2000-2043, every fit read from the shipped calibrations), ``--config
uk`` the UK country run with its 200-member uncertainty ensemble. Each run
has an empty user cache, so the calibrations read are the shipped ones.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
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
    "endemic start, native-born (cached)": r"endemic start of the native.*\(([\d.]+) s\)",
    "history fit (cached)": r"history: .*\(([\d.]+) s\)",
    "birthplace start (UN DESA cohorts)": r"birthplace: .*\(([\d.]+) s\)",
    "birthplace account": r"birthplace account: .*\(([\d.]+) s\)",
    "deterministic engine": r"deterministic engine: \d+ output times, ([\d.]+) s",
    "risk uncertainty ensemble (in the risk stage)": r"risk uncertainty: .*\(([\d.]+) s\)",
    "risk, every corridor x the compared policies": r"risk: .*\(([\d.]+) s\)",
    "arrival times, 20 stochastic members": r"arrival times: .*\(([\d.]+) s\)",
    "maps and report": r"maps and report: .*\(([\d.]+) s\)",
}


def one_run(threads: int, birthplace: bool, name: str = "world") -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    with tempfile.TemporaryDirectory() as out:
        env["HEALTHMOB_CACHE_DIR"] = str(Path(out) / "cache")  # the shipped calibrations
        config = REPO / "configs" / f"{name}.toml"
        if not birthplace:
            config = Path(out) / f"{name}.toml"
            config.write_text((REPO / "configs" / f"{name}.toml").read_text()
                              + "\n[birthplace]\nenabled = false\n")
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "healthmob", "-q", "run", str(config),
                               "--output-dir", str(Path(out) / "runs")],
                              capture_output=True, text=True, env=env, cwd=REPO)
        wall = time.perf_counter() - t0
        if done.returncode:
            sys.exit(done.stderr)
        log = next(Path(out).glob(f"runs/{name}-2*/run.log")).read_text()
    found = {name: float(m.group(1)) for name, pattern in STAGES.items()
             if (m := re.search(pattern, log))}
    return {**found, "whole process (wall)": wall}


def table(runs: list[dict], title: str) -> float:
    """Print the stage medians of ``runs``; return the median wall time."""
    print(f"{title}\n{'stage':<44} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name in runs[0]:
        values = [r[name] for r in runs if name in r]
        print(f"{name:<44} {statistics.median(values):>9.2f} {min(values):>7.2f} "
              f"{max(values):>7.2f}")
    return statistics.median(r["whole process (wall)"] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--config", default="world",
                        help="a shipped config: world (default, also run without the "
                             "birthplace account) or world-history (with it only: without "
                             "it the start is not among the shipped calibrations)")
    args = parser.parse_args()
    with_account, peak_with = [], 0.0
    for _ in range(args.repeats):
        with_account.append(one_run(args.blas_threads, True, args.config))
        peak_with = max(peak_with, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(f"{args.config} run, {args.repeats} repeats, BLAS threads {args.blas_threads}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    wall = table(with_account, "with the birthplace account (default)")
    if args.config == "world":
        without = [one_run(args.blas_threads, False) for _ in range(args.repeats)]
        wall_off = table(without, "without it ([birthplace] enabled = false)")
        print(f"{'birthplace cost: with / without':<44} {wall / wall_off:>9.2f} x (goal <= 2)")
    print(f"{'peak memory of a run with it':<44} {peak_with / 2**20:>9.2f} GB (goal < 4)")
    print(f"{'target: whole run <= 60 s':<44} {wall / TARGET_SECONDS:>9.2f} x target "
          f"({'met' if wall <= TARGET_SECONDS else 'NOT met'})")


if __name__ == "__main__":
    main()
