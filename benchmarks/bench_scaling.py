"""How each stage of ``healthmob run`` grows with the number of places (issue #17, point 1).

Run on demand, not in CI::

    python benchmarks/bench_scaling.py [--bench-dir ../shared/bench] [--sizes 3000 10000 30000]
        [--repeats 1] [--work DIR]

For each size N the reference workload (``../shared/bench/make_workload.py``: N places, 10
commuting links each, so 10 N corridors; SEIR, 365 daily steps, one stochastic member) is
run as a user's config with the default outputs (``bench_peers.py`` writes it), in a fresh
process. The stages are read from the run's ``run.log`` timestamps: start-up and mobility
build (process start to the mobility line), ``mobility.nc``, the engine, ``results.nc``, the
risk stage, maps and report. Prints each stage's median seconds per size, its growth
exponent between the smallest and the largest size (``log(t2 / t1) / log(N2 / N1)``: 1 is
linear in places, hence in corridors), the whole process and its peak RSS, with the load
average (a shared machine: compare exponents, not seconds).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_peers import REPO, write_workload  # noqa: E402  (the same workload and configs)

STAGES = ("start-up and mobility build", "mobility.nc", "engine", "results.nc", "risk",
          "maps and report", "whole process")
LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ [\w.]+: (.*)$")
OWN = re.compile(r"\((\d+\.\d+) s\)$")


def stages(log_text: str, started: float, ended: float) -> dict[str, float]:
    """Seconds per stage from ``run.log`` (``started``/``ended``: the process's wall clock,
    epoch seconds)."""
    events = []
    for line in log_text.splitlines():
        match = LINE.match(line)
        if match:
            when = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            events.append((when, match[2]))

    def at(prefix: str) -> tuple[float, str]:
        return next((t, text) for t, text in events if text.startswith(prefix))

    mobility, _ = at("mobility:")
    ensemble, _ = at("ensemble: 1 scenario")
    computed, _ = at("ensemble: 1 member(s) computed")
    risk, risk_text = at("risk:")
    maps, maps_text = at("maps and report")
    risk_own = float(OWN.search(risk_text)[1])
    return {"start-up and mobility build": mobility - started,
            "mobility.nc": ensemble - mobility,
            "engine": computed - ensemble,
            "results.nc": risk - risk_own - computed,
            "risk": risk_own,
            "maps and report": float(OWN.search(maps_text)[1]),
            "whole process": ended - started}


def run_once(folder: Path, out: Path, env: dict) -> tuple[dict, float]:
    """One whole ``healthmob run default.toml``: its stages and peak RSS (MB)."""
    started = time.time()
    process = subprocess.Popen([sys.executable, "-m", "healthmob", "-q", "run", "default.toml",
                                "--output-dir", str(out), "--no-progress"], cwd=folder,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    _, status, usage = os.wait4(process.pid, 0)
    ended = time.time()
    stdout = process.stdout.read()
    if status != 0:
        raise SystemExit(f"run failed: {process.stderr.read()[-500:]}")
    run_dir = Path(stdout.strip().splitlines()[-1])
    return stages((run_dir / "run.log").read_text(), started, ended), usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench-dir", type=Path, default=Path("../shared/bench"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000, 10000, 30000])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    args = parser.parse_args()
    work = (args.work or Path(tempfile.mkdtemp(prefix="bench-scaling-"))).resolve()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    medians, peaks = {}, {}
    for n in args.sizes:
        folder = write_workload(args.bench_dir.resolve(), work, n)
        run_once(folder, work / "out", env)                       # warm-up: caches
        results = [run_once(folder, work / "out", env) for _ in range(args.repeats)]
        medians[n] = {s: statistics.median(r[0][s] for r in results) for s in STAGES}
        peaks[n] = max(r[1] for r in results)
    first, last = args.sizes[0], args.sizes[-1]
    print(f"| stage | {' | '.join(f'N={n:,} ({10 * n:,} corridors)' for n in args.sizes)} "
          f"| exponent {first:,} to {last:,} |")
    print("|---" * (len(args.sizes) + 2) + "|")
    for stage in STAGES:
        t1, t2 = medians[first][stage], medians[last][stage]
        exponent = math.log(t2 / t1) / math.log(last / first) if t1 > 0 and t2 > 0 else math.nan
        print(f"| {stage} | {' | '.join(f'{medians[n][stage]:.2f} s' for n in args.sizes)} "
              f"| {exponent:.2f} |")
    print(f"| peak RSS | {' | '.join(f'{peaks[n]:,.0f} MB' for n in args.sizes)} | |")
    print(f"\n{args.repeats} repeat(s) after a warm-up; load average "
          f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
