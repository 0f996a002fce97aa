"""`healthmob run` with the stochastic engine, `--resume` and `cluster-script`, as a user runs them.

Skipped until config.py accepts ``engine = "stochastic"`` and the ``[ensemble]``/``[cluster]``
tables (docs/ensembles.md); the ensemble machinery itself is tested through
tests/cli/test_ensemble_faults.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from healthmob.scenario import ENGINES, SECTIONS

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}

pytestmark = pytest.mark.skipif(
    "stochastic" not in ENGINES or "ensemble" not in SECTIONS,
    reason="config.py does not accept engine = 'stochastic' and [ensemble] yet")

CONFIG = """
name = "cli-ensemble"
model = "seir"
seed = 11
engine = "stochastic"
[places]
source = "{places}"
[time]
duration = "150 days"
step = "5 days"
[initial]
method = "fractions"
fractions = {{ S = 1.0 }}
seeds = [ {{ place = "AAA", compartment = "I", count = 50 }} ]
[ensemble]
members = {members}
step = "{step}"
quantiles = [0.1, 0.5, 0.9]
[cluster]
kind = "pbs"
queue = "workq"
cores = 2
walltime = "00:30:00"
"""


def _cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "healthmob.cli", *args], env=ENV,
                          capture_output=True, text=True, timeout=180, **kwargs)


def test_stochastic_run_writes_members_quantiles_and_a_complete_manifest(write_config,
                                                                          places_csv, tmp_path):
    config = write_config(CONFIG.format(places=places_csv, members=8, step="1 day"))
    done = _cli("run", str(config), "--output-dir", str(tmp_path / "runs"))
    assert done.returncode == 0, done.stderr[-2000:]
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["ensemble"]["sessions"][0]["reused"] == 0
    with xr.open_dataset(run_dir / "results.nc", engine="h5netcdf") as ds:
        assert dict(ds.population.sizes) == {"scenario": 1, "member": 8, "time": 31,
                                             "place": 3, "compartment": 4}
        assert ds.population.dtype == np.int32
        totals = ds.population.sum("compartment")
        assert (totals == totals.isel(time=0)).all()
        assert list(ds["quantile"].values) == [0.1, 0.5, 0.9]
        assert ds.attrs["engine"] == "stochastic" and ds.attrs["seed"] == 11
    assert not (run_dir / "members").exists()
    again = _cli("run", "--resume", str(run_dir))
    assert again.returncode == 2 and "nothing to resume" in again.stderr


def test_ctrl_c_then_resume_completes_the_run(write_config, places_csv, tmp_path):
    config = write_config(CONFIG.format(places=places_csv, members=40, step="0.05 day"))
    out = tmp_path / "runs"
    run = subprocess.Popen([sys.executable, "-m", "healthmob.cli", "run", str(config),
                            "--output-dir", str(out)], env=ENV, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if len(list(out.glob("*/members/scenario-*.nc"))) >= 3:
                break
            assert run.poll() is None, run.stderr.read()[-2000:]
            time.sleep(0.05)
        run.send_signal(signal.SIGINT)
        run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 130
    [run_dir] = list(out.iterdir())
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "interrupted"
    done = _cli("run", "--resume", str(run_dir), "--no-progress")
    assert done.returncode == 0, done.stderr[-2000:]
    sessions = json.loads((run_dir / "manifest.json").read_text())["ensemble"]["sessions"]
    assert sessions[1]["reused"] == len(sessions[0]["computed"]) >= 3
    assert len(sessions[0]["computed"]) + len(sessions[1]["computed"]) == 40


def test_cluster_script_prints_the_pbs_job(write_config, places_csv):
    config = write_config(CONFIG.format(places=places_csv, members=2, step="1 day"))
    done = _cli("cluster-script", str(config))
    assert done.returncode == 0, done.stderr
    assert "#PBS -q workq" in done.stdout and "walltime=00:30:00" in done.stdout
    assert "dask_worker tcp://127.0.0.1:8786" in done.stdout


def test_run_needs_exactly_one_of_config_and_resume(tmp_path):
    done = _cli("run")
    assert done.returncode == 2 and "--resume" in done.stderr
