"""`healthmob run` with the stochastic engine, `--resume` and `cluster-script`, as a user runs
them. The ensemble machinery itself is tested through tests/cli/test_ensemble_faults.py."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import numpy as np
import xarray as xr
from helpers import config_text, healthmob, start_healthmob

ENSEMBLE = """
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


def _config(write_config, places, members: int, step: str) -> Path:
    return write_config(config_text(places, name="cli-ensemble", seed=11, engine="stochastic",
                                    duration="150 days", step="5 days", infected=50,
                                    extra=ENSEMBLE.format(members=members, step=step)))


def test_stochastic_run_writes_members_quantiles_and_a_complete_manifest(write_config,
                                                                          places_csv, tmp_path):
    config = _config(write_config, places_csv, 8, "1 day")
    done = healthmob("run", config, "--output-dir", tmp_path / "runs")
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
    again = healthmob("run", "--resume", run_dir)
    assert again.returncode == 2 and "nothing to resume" in again.stderr


def test_ctrl_c_then_resume_completes_the_run(write_config, places_csv, tmp_path):
    config = _config(write_config, places_csv, 40, "0.05 day")
    out = tmp_path / "runs"
    run = start_healthmob("run", config, "--output-dir", out)
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
    done = healthmob("run", "--resume", run_dir, "--no-progress")
    assert done.returncode == 0, done.stderr[-2000:]
    sessions = json.loads((run_dir / "manifest.json").read_text())["ensemble"]["sessions"]
    assert sessions[1]["reused"] == len(sessions[0]["computed"]) >= 3
    assert len(sessions[0]["computed"]) + len(sessions[1]["computed"]) == 40


def test_cluster_script_prints_the_pbs_job(write_config, places_csv):
    config = _config(write_config, places_csv, 2, "1 day")
    done = healthmob("cluster-script", config)
    assert done.returncode == 0, done.stderr
    assert "#PBS -q workq" in done.stdout and "walltime=00:30:00" in done.stdout
    assert "dask_worker tcp://127.0.0.1:8786" in done.stdout


def test_run_needs_exactly_one_of_config_and_resume(tmp_path):
    done = healthmob("run")
    assert done.returncode == 2 and "--resume" in done.stderr
