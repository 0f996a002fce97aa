"""Ensembles under faults: same numbers whatever the executor, a killed worker, or a resume.

Issue #5 point 6. Each run is a separate process (tests/cli/ensemble_driver.py), as
``healthmob run`` is; the dask scheduler and workers are real processes on 127.0.0.1 that
these tests start on free ports and always stop.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from ensemble_driver import MEMBERS, small_plan
from helpers import environment, python, start_python

from healthmob.ensemble.executors import local_cluster, wait_for_workers
from healthmob.ensemble.run import execute_plan
from healthmob.store.rundir import RunDirectory

DRIVER = Path(__file__).with_name("ensemble_driver.py")
DASK = Path(sys.executable).with_name("dask")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def dask_cluster(request, tmp_path_factory):
    """A `dask scheduler` and 2 `dask worker` processes on 127.0.0.1, stopped at teardown.

    Shared by the tests of this module; the killed-worker test, which runs last, kills one.
    """
    return _start_cluster(request, tmp_path_factory.mktemp("dask"))


def _start_cluster(request, tmp_path, n_workers: int = 2):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    processes = []
    request.addfinalizer(lambda: [_stop(p) for p in reversed(processes)])
    logs = tmp_path / "dask-logs"
    logs.mkdir(exist_ok=True)
    processes.append(subprocess.Popen(
        [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--dashboard-address", "127.0.0.1:0"], env=environment(), stdout=subprocess.DEVNULL,
        stderr=open(logs / "scheduler.log", "w")))
    workers = []
    for i in range(n_workers):
        worker = subprocess.Popen(
            [str(DASK), "worker", address, "--nthreads", "1", "--no-nanny",
             "--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0", "--name", f"w{i}"],
            env=environment(), cwd=tmp_path, stdout=subprocess.DEVNULL,
            stderr=open(logs / f"worker-{i}.log", "w"))
        processes.append(worker)
        workers.append(worker)
    assert wait_for_workers(address, n_workers, timeout=60) == n_workers
    return address, workers


def _run(out: Path, *args: str, timeout: float = 120) -> Path:
    done = python(DRIVER, out, *args, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return Path(done.stdout.splitlines()[0])


def _manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def _assert_same_results(run_dir: Path, reference: xr.Dataset) -> None:
    assert _manifest(run_dir)["status"] == "complete"
    with xr.open_dataset(run_dir / "results.nc", engine="h5netcdf") as ds:
        assert set(ds.data_vars) == set(reference.data_vars)
        for name in reference.data_vars:
            # bitwise: exact equality of every number, NaN included
            np.testing.assert_array_equal(ds[name].values, reference[name].values, name)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted serial run, in-process."""
    folder = RunDirectory(tmp_path_factory.mktemp("reference"), "reference", "run", 0, [])
    with execute_plan(small_plan(), folder) as ds:
        loaded = ds.load()
    folder.finish("complete")
    return loaded


def test_reference_is_a_real_ensemble(reference):
    population = reference.population
    assert population.sizes["member"] == MEMBERS
    # people conserved exactly in every member and at every time
    totals = population.sum(("place", "compartment"))
    assert (totals == totals.isel(time=0)).all()
    # members differ (they are random), and quantiles are ordered
    final = population.isel(time=-1).sel(compartment="R").sum("place")
    assert len(np.unique(final.values)) > MEMBERS // 2
    q = reference.population_quantile.sel(compartment="R").isel(time=-1)
    assert (q.diff("quantile") >= 0).all()


def test_local_cluster_with_two_workers_is_bitwise_identical(tmp_path, reference):
    _assert_same_results(_run(tmp_path, "--executor", "local", "--workers", "2"), reference)


def test_external_scheduler_and_two_workers_are_bitwise_identical(dask_cluster, tmp_path,
                                                                  reference):
    address, workers = dask_cluster
    assert all(w.poll() is None for w in workers)
    run_dir = _run(tmp_path / "runs", "--scheduler", address)
    _assert_same_results(run_dir, reference)
    assert _manifest(run_dir)["ensemble"]["sessions"][0]["executor"] == "address"


def test_the_test_cluster_listens_on_127_0_0_1_only(dask_cluster):
    import psutil

    processes = [p for p in psutil.Process().children()
                 if "dask" in " ".join(p.cmdline()) and p.is_running()]
    ips = {c.laddr.ip for p in processes for c in p.net_connections(kind="inet")
           if c.status == psutil.CONN_LISTEN}
    assert len(processes) >= 2 and ips == {"127.0.0.1"}


def _watch(out: Path, process: subprocess.Popen, at_least: int, timeout: float = 60) -> Path:
    """Wait until the run started by ``process`` has ``at_least`` member files."""
    run_dir = Path(process.stdout.readline().strip())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        members = list((run_dir / "members").glob("scenario-*-member-*.nc"))
        if len(members) >= at_least:
            return run_dir
        assert process.poll() is None, "the run ended before the fault was injected"
        time.sleep(0.02)
    raise AssertionError("the run did not make progress")


def test_killed_worker_run_completes_identically(request, dask_cluster, tmp_path, reference):
    address, workers = dask_cluster
    run = start_python(DRIVER, tmp_path / "runs", "--scheduler", address)
    request.addfinalizer(lambda: _stop(run))
    run_dir = _watch(tmp_path, run, at_least=4)
    workers[0].send_signal(signal.SIGKILL)
    _, stderr = run.communicate(timeout=120)
    assert workers[0].wait(timeout=10) == -signal.SIGKILL
    assert run.returncode == 0, stderr[-3000:]
    remaining = len(list((run_dir / "members").glob("*"))) if (run_dir / "members").exists() \
        else 0
    assert remaining == 0  # member files removed after combining; no partial file left
    _assert_same_results(run_dir, reference)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_then_resume_is_identical_and_computes_each_member_once(tmp_path, reference,
                                                                          signum):
    run = start_python(DRIVER, tmp_path)
    try:
        run_dir = _watch(tmp_path, run, at_least=5)
        run.send_signal(signum)
        run.communicate(timeout=60)
    finally:
        _stop(run)
    assert run.returncode == 130
    manifest = _manifest(run_dir)
    assert manifest["status"] == "interrupted"
    first = manifest["ensemble"]["sessions"][0]
    assert 5 <= len(first["computed"]) < MEMBERS
    on_disk = {p.name for p in (run_dir / "members").glob("scenario-*-member-*.nc")}
    assert on_disk == {f"scenario-{k.replace('-', '-member-')}.nc" for k in first["computed"]}
    assert not list((run_dir / "members").glob(".*partial*"))
    assert not (run_dir / "results.nc").exists()

    assert _run(tmp_path, "--resume", str(run_dir)) == run_dir
    _assert_same_results(run_dir, reference)
    sessions = _manifest(run_dir)["ensemble"]["sessions"]
    assert len(sessions) == 2
    assert sessions[1]["reused"] == len(first["computed"])
    computed = [set(s["computed"]) for s in sessions]
    assert not computed[0] & computed[1]  # no member computed twice
    assert computed[0] | computed[1] == {f"0-{m}" for m in range(MEMBERS)}
    assert _manifest(run_dir)["resumed"][0]["previous_status"] == "interrupted"


def test_resume_refuses_a_changed_plan(tmp_path):
    run = start_python(DRIVER, tmp_path)
    try:
        run_dir = _watch(tmp_path, run, at_least=2)
        run.send_signal(signal.SIGINT)
        run.communicate(timeout=60)
    finally:
        _stop(run)
    done = python(DRIVER, tmp_path, "--resume", run_dir, "--members", "7", timeout=60)
    assert done.returncode != 0
    assert "cannot resume" in done.stderr


@pytest.mark.slow
def test_ctrl_c_to_the_process_group_with_a_local_cluster_interrupts_cleanly(tmp_path,
                                                                            reference):
    """Ctrl-C in a terminal reaches the worker processes too: still `interrupted`."""
    run = start_python(DRIVER, tmp_path, "--executor", "local", start_new_session=True)
    try:
        run_dir = _watch(tmp_path, run, at_least=4)
        os.killpg(run.pid, signal.SIGINT)
        run.communicate(timeout=60)
    finally:
        _stop(run)
    assert run.returncode == 130
    assert _manifest(run_dir)["status"] == "interrupted"
    assert _run(tmp_path, "--resume", str(run_dir), "--executor", "local") == run_dir
    _assert_same_results(run_dir, reference)


def test_a_local_cluster_listens_on_127_0_0_1_only():
    import psutil

    me = psutil.Process()

    def sockets(processes):
        return {(p.pid, c.laddr) for p in processes for c in p.net_connections(kind="inet")
                if c.status == psutil.CONN_LISTEN}

    before = sockets([me, *me.children(recursive=True)])
    with local_cluster(1) as address:
        assert address.startswith("tcp://127.0.0.1:")
        opened = sockets([me, *me.children(recursive=True)]) - before
    assert opened and {laddr.ip for _, laddr in opened} == {"127.0.0.1"}



def test_resume_recomputes_member_files_that_are_not_this_plans(tmp_path, caplog):
    """Files left by another process (a worker of an older plan, a damaged write) in a
    member's place are not trusted: deleted, named in the log, and computed again."""
    plan = small_plan(members=4)
    clean = RunDirectory(tmp_path, "clean", "run", 0, [])
    with execute_plan(plan, clean) as ds:
        expected = ds.load()
    folder = RunDirectory(tmp_path, "stopped", "run", 0, [])
    execute_plan(plan, folder, combine=False)
    members = folder.path / "members"
    other = RunDirectory(tmp_path, "other", "run", 0, [])
    execute_plan(small_plan(members=5), other, combine=False)   # another plan, same shapes
    os.replace(other.path / "members" / "scenario-0-member-1.nc",
               members / "scenario-0-member-1.nc")
    (members / "scenario-0-member-2.nc").write_bytes(b"not HDF5")
    with execute_plan(plan, folder, resume=True) as ds:
        for name in expected.data_vars:
            np.testing.assert_array_equal(ds[name].values, expected[name].values, name)
    session = folder.manifest["ensemble"]["sessions"][-1]
    assert session["reused"] == 2 and session["computed"] == ["0-1", "0-2"]
    assert "scenario-0-member-1.nc: unreadable, or written for another plan" in caplog.text


def test_resume_after_the_combine_reuses_results_whose_members_are_gone(tmp_path):
    """Stopped after results.nc was written and the members deleted, before the status was
    set: resume takes results.nc (it carries the plan's sha256) and computes nothing."""
    plan = small_plan(members=3)
    folder = RunDirectory(tmp_path, "combined", "run", 0, [])
    with execute_plan(plan, folder) as ds:
        expected = ds.load()
    assert not (folder.path / "members").exists()
    sessions = len(folder.manifest["ensemble"]["sessions"])
    with execute_plan(plan, folder, resume=True) as ds:
        np.testing.assert_array_equal(ds.population.values, expected.population.values)
    assert len(folder.manifest["ensemble"]["sessions"]) == sessions
    assert not (folder.path / "members").exists()
