"""An ensemble on a real SLURM cluster: a single-node SLURM started on this machine by
``.ci/slurm-up`` (munge and the daemons on localhost), members run by dask-jobqueue worker
jobs, and the result bitwise identical to the in-process run (issue 17 point 6).

Needs root and the Debian packages ``slurm-wlm`` and ``munge`` (``.ci/run`` installs them);
skipped with the reason where they are missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from helpers import REPO, config_text, environment, healthmob

DAEMONS = ("slurmctld", "slurmd", "munged", "sbatch", "sinfo")

CLUSTER = """
[ensemble]
members = 6
executor = "{executor}"
[cluster]
kind = "slurm"
cores = 1
memory = "1GB"
walltime = "00:10:00"
jobs = 2
port = 0
log_directory = "{logs}"
"""


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """SLURM_CONF of a running single-node SLURM; stopped after the module's tests."""
    if os.geteuid() != 0:
        pytest.skip("starting SLURM's daemons needs root")
    missing = [name for name in DAEMONS if shutil.which(name) is None
               and not Path("/usr/sbin", name).exists()]
    if missing:
        pytest.skip(f"SLURM is not installed ({', '.join(missing)} missing; Debian packages "
                    "slurm-wlm and munge, which .ci/run installs)")
    folder = tmp_path_factory.mktemp("slurm")
    up = subprocess.run([str(REPO / ".ci" / "slurm-up"), str(folder)], capture_output=True,
                        text=True, timeout=120)
    if up.returncode != 0:
        pytest.skip(f"could not start a single-node SLURM here: {up.stderr.strip()[-300:]}")
    yield up.stdout.strip()
    subprocess.run([str(REPO / ".ci" / "slurm-down"), str(folder)], capture_output=True,
                   timeout=60)


def _run(write_config, places_csv, tmp_path, executor: str, slurm_conf: str) -> Path:
    logs = tmp_path / f"logs-{executor}"
    config = write_config(config_text(places_csv, name=f"slurm-{executor}", seed=5,
                                      engine="stochastic", duration="30 days",
                                      extra=CLUSTER.format(executor=executor, logs=logs)),
                          name=f"{executor}.toml")
    done = healthmob("run", config, "--output-dir", tmp_path / "runs", "--no-progress",
                     env={**environment(), "SLURM_CONF": slurm_conf}, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return Path(done.stdout.strip().splitlines()[-1])


def test_an_ensemble_on_slurm_is_bitwise_the_in_process_one(slurm, write_config, places_csv,
                                                          tmp_path):
    on_slurm = _run(write_config, places_csv, tmp_path, "cluster", slurm)
    serial = _run(write_config, places_csv, tmp_path, "serial", slurm)
    workers = sorted((tmp_path / "logs-cluster").glob("dask-worker-*.err"))
    assert workers, "no SLURM job wrote a worker log"
    assert any("Starting Worker" in path.read_text() for path in workers)
    with xr.open_dataset(on_slurm / "results.nc", engine="h5netcdf") as a, \
            xr.open_dataset(serial / "results.nc", engine="h5netcdf") as b:
        assert set(a.data_vars) == set(b.data_vars)
        for name in b.data_vars:
            np.testing.assert_array_equal(a[name].values, b[name].values, name)
    queue = subprocess.run(["squeue", "-h"], env={**os.environ, "SLURM_CONF": slurm},
                           capture_output=True, text=True)
    assert queue.stdout.strip() == ""          # the worker jobs ended with the run
