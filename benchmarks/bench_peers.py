"""healthmob as a user runs it against MetaWards, on the reference workload (issue #17, point 3).

Run on demand, not in CI::

    python benchmarks/bench_peers.py [--bench-dir ../shared/bench] [--sizes 200 3000]
        [--repeats 3] [--metawards VENV/bin] [--work DIR]

For each size N, the shared workload (``../shared/bench/make_workload.py``: N places of
100,000 people, 10 commuting links each, SEIR, 365 daily steps, 100 exposed in place 0)
is written as a user's config: ``places.csv`` (id, population; the workload's planar x, y
are not geographic, so the places have no coordinates), the commuters as an edge table
``commuting.csv`` (visitors staying half a day, as MetaWards' ``length_day = 0.5``; a
travel time of 0.05 day) and ``workload.toml`` (one stochastic member). Then, interleaved,
``repeats`` times each, whole process: ``healthmob run`` with the defaults (risk, maps and
report), the same with ``[risk] enabled = false``, and MetaWards 1.6.2 with one thread
(``../shared/bench/peers/README.md``) when its environment is given. Prints wall-time
medians, peak RSS, the ratios to MetaWards and the 1-minute load average (shared
machines: compare ratios).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = """name = "workload-{n}"
model = "seir"
engine = "stochastic"
seed = 12345
[places]
source = "places.csv"
[time]
duration = "365 days"
step = "1 day"
[initial]
method = "fractions"
fractions = {{ S = 1.0 }}
seeds = [ {{ place = "P0", compartment = "E", count = 100 }} ]
[mobility]
corridors = ["commuting.csv"]
[mobility.commuting]
coupling = "visiting"
stay_days = 0.5
[ensemble]
members = 1
{risk}"""


def write_workload(bench: Path, work: Path, n: int) -> Path:
    """The shared workload of ``n`` places, and its healthmob configs, under ``work``."""
    subprocess.run([sys.executable, str(bench / "make_workload.py"), str(n),
                    str(work / "workloads")], check=True, capture_output=True)
    folder = work / "workloads" / f"N{n}"
    with open(folder / "pop.csv") as source, open(folder / "places.csv", "w") as places:
        places.write("id,name,population\n")
        places.writelines(f"P{r['id']},P{r['id']},{r['pop']}\n" for r in csv.DictReader(source))
    with open(folder / "edges.csv") as source, open(folder / "commuting.csv", "w") as edges:
        edges.write("origin,destination,persons_per_day,travel_time_days\n")
        edges.writelines(f"P{r['from']},P{r['to']},{r['commuters']},0.05\n"
                         for r in csv.DictReader(source))
    (folder / "default.toml").write_text(CONFIG.format(n=n, risk=""))
    (folder / "risk-off.toml").write_text(CONFIG.format(n=n, risk="[risk]\nenabled = false\n"))
    return folder


def metawards_command(bench: Path, work: Path, n: int, venv_bin: Path, env: dict
                      ) -> tuple[list, Path, dict]:
    """Build MetaWards' inputs for ``n`` (its own environment); its command, folder and
    environment (``env`` with its data folder)."""
    env = {**os.environ, "PEERS": str(work)}
    subprocess.run([str(venv_bin / "python"), str(bench / "peers" / "metawards_build.py"),
                    str(n)], check=True, capture_output=True, env=env, cwd=work)
    run_dir = work / "runs" / "metawards" / f"N{n}"
    data = work / "MetaWardsData"
    if not data.exists():
        shutil.copytree(bench / "peers" / "MetaWardsData", data)
    shutil.copy(run_dir / "params.json", data / "parameters" / "bench.json")
    return ([str(venv_bin / "metawards"), "-d", "seir.json", "-m", "net.json.bz2", "-a",
             "seeds.dat", "-p", "bench", "--nsteps", "365", "--nthreads", "1", "-o", "out",
             "--force-overwrite-output", "--no-spinner", "--no-progress", "--seed", "12345"],
            run_dir, {**env, "METAWARDSDATA": str(data)})


def timed(command: list, cwd: Path, env: dict) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one whole process."""
    t0 = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"{' '.join(command[:3])}... failed: {process.stderr.read()[-500:]}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench-dir", type=Path, default=Path("../shared/bench"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 3000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--metawards", type=Path, help="bin folder of MetaWards' venv")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    args = parser.parse_args()
    bench = args.bench_dir.resolve()
    work = (args.work or Path(tempfile.mkdtemp(prefix="bench-peers-"))).resolve()
    # bytecode is cached, as on a user's machine (this one sets PYTHONDONTWRITEBYTECODE)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])  # this checkout
    print(f"{'N':>6} | {'healthmob risk off':>18} | {'healthmob default':>17} | "
          f"{'MetaWards':>9} | {'off/MW':>6} | {'default/MW':>10} | peak RSS default | load")
    for n in args.sizes:
        folder = write_workload(bench, work, n)
        runs = {name: ([sys.executable, "-m", "healthmob", "-q", "run", f"{name}.toml",
                        "--output-dir", str(work / "out")], folder, env)
                for name in ("risk-off", "default")}
        if args.metawards:
            runs["metawards"] = metawards_command(bench, work, n, args.metawards.resolve(),
                                                  env)
        for run in runs.values():                     # warm-up: bytecode and file caches
            timed(*run)
        seconds = {name: [] for name in runs}
        rss = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, run in runs.items():
                wall, peak = timed(*run)
                seconds[name].append(wall)
                rss[name].append(peak)
        med = {name: statistics.median(values) for name, values in seconds.items()}
        mw = med.get("metawards")
        off, default = (f"{med[k] / mw:.2f}" if mw else "-" for k in ("risk-off", "default"))
        print(f"{n:>6} | {med['risk-off']:>16.2f} s | {med['default']:>15.2f} s | "
              f"{f'{mw:.2f} s' if mw else '-':>9} | {off:>6} | "
              f"{default:>10} | {max(rss['default']):>13,.0f} MB | "
              f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
