"""Faults: a run stopped by SIGTERM (what SLURM sends at its time limit) ends as
``interrupted``; a run whose process died is reported as ``crashed``, not ``running``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from helpers import WORLD_CONFIG, config_text, environment

from healthmob.store.rundir import effective_status


def test_sigterm_ends_a_deterministic_run_as_interrupted(write_config, places_csv, tmp_path):
    config = write_config(config_text(places_csv, duration="2000000 days", step="1 day"))
    out = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "healthmob", "run", str(config),
                             "--output-dir", str(out)], env=environment(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    manifest = None
    while time.time() < deadline:
        found = list(out.glob("small-*/manifest.json"))
        if found:
            manifest = found[0]
            break
        time.sleep(0.1)
    assert manifest is not None, proc.communicate(timeout=60)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    recorded = json.loads(manifest.read_text())
    assert recorded["status"] == "interrupted", recorded
    assert "healthmob: interrupted" in err and "Traceback" not in err


def test_a_run_whose_process_is_gone_is_crashed():
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    here = socket.gethostname()
    assert effective_status({"status": "running", "pid": dead.pid, "host": here}) == "crashed"
    assert effective_status({"status": "running", "pid": os.getpid(), "host": here}) == \
        "running"
    assert effective_status({"status": "running", "pid": dead.pid, "host": "elsewhere"}) == \
        "running"                       # another machine's process cannot be checked here
    assert effective_status({"status": "complete", "pid": dead.pid, "host": here}) == \
        "complete"


def test_a_run_on_another_host_is_crashed_when_its_heartbeat_stops(tmp_path):
    from healthmob.store.rundir import HEARTBEAT_MISSED, RunDirectory

    folder = RunDirectory(tmp_path, "beating", "run", 0, [])
    manifest = json.loads((folder.path / "manifest.json").read_text())
    assert manifest["heartbeat"]["file"] == ".heartbeat"
    elsewhere = {**manifest, "host": "node-17"}
    assert effective_status(elsewhere, folder.path) == "running"      # beating
    late = time.time() - (HEARTBEAT_MISSED + 1) * manifest["heartbeat"]["every_seconds"]
    os.utime(folder.path / ".heartbeat", (late, late))
    assert effective_status(elsewhere, folder.path) == "crashed"
    folder.finish("complete")
    assert effective_status({**elsewhere, "status": "complete"}, folder.path) == "complete"


def test_resuming_removes_the_stopped_process_half_written_files(tmp_path):
    from healthmob.store.rundir import RunDirectory

    run = tmp_path / "run-1"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"status": "interrupted", "command": "run"}))
    (run / ".results.partial-12345.nc").write_bytes(b"half")
    folder = RunDirectory.reopen(run)
    try:
        assert not list(run.glob(".*partial*"))
        assert json.loads((run / "manifest.json").read_text())["status"] == "running"
    finally:
        folder.detach_log()


def test_a_second_process_in_a_locked_run_folder_is_refused(tmp_path, capsys):
    """Two ``--resume`` of one folder at once: the second is refused with one line and
    changes nothing (the first holds the folder's lock)."""
    from healthmob.cli import main
    from healthmob.store.rundir import RunDirectory

    run = tmp_path / "run-1"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"status": "interrupted", "command": "run",
                                                   "config": "/nonexistent.toml"}))
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); "
        "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)"),
        str(run / ".lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = (run / "manifest.json").read_bytes()
        try:
            RunDirectory.reopen(run)
        except Exception as exc:          # noqa: BLE001 - the refusal is what is tested
            assert "another healthmob process is working in this run folder" in str(exc)
        else:
            raise AssertionError("a locked folder was reopened")
        assert (run / "manifest.json").read_bytes() == before
        code = main(["run", "--resume", str(run)])
        assert code == 2 and "Traceback" not in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()


@pytest.fixture
def small_disk(tmp_path):
    """A 400 kB tmpfs (root only; skipped elsewhere), unmounted after the test."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    yield disk
    subprocess.run(["umount", str(disk)], capture_output=True)


def test_a_full_disk_is_one_clear_error_and_leaves_no_partial_file(small_disk):
    """Writing 8 MB to a 400 kB disk is refused with the free and needed sizes, and nothing
    half-written stays."""
    import numpy as np
    import xarray as xr

    from healthmob.errors import RunError
    from healthmob.store.netcdf import write_dataset

    ds = xr.Dataset({"x": (("a",), np.random.default_rng(0).random(1_000_000))})
    with pytest.raises(RunError, match="no space left on device while writing results.nc; "
                                       r"0 MB free, about \d MB needed"):
        write_dataset(ds, small_disk / "results.nc")
    assert list(small_disk.iterdir()) == []


FILLED_WHILE_WRITING = """
import collections, sys
import healthmob.store.netcdf as netcdf
Usage = collections.namedtuple("Usage", "total used free")
netcdf.shutil = type("S", (), {"disk_usage": staticmethod(lambda p: Usage(1e12, 0, 1e12))})
from healthmob.cli import main
sys.exit(main(["-q", "run", sys.argv[1], "--output-dir", sys.argv[2]]))
"""
"""A run whose disk looks empty when checked and fills while results.nc is written."""


def test_a_disk_that_fills_while_writing_is_one_line_and_a_failed_run(small_disk, write_config,
                                                                      places_csv):
    """No segfault from HDF5 (exit 139 before), no traceback: exit 2, the run ``failed``."""
    config = write_config(config_text(places_csv, duration="20000 days"))
    done = subprocess.run([sys.executable, "-c", FILLED_WHILE_WRITING, str(config),
                           str(small_disk)], env=environment(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no space left on device while writing results.nc" in lines[0]
    [run] = list(small_disk.iterdir())
    assert json.loads((run / "manifest.json").read_text())["status"] == "failed"
    assert not list(run.glob(".*partial*")) and not (run / "results.nc").exists()


WORLD_ENSEMBLE = (WORLD_CONFIG.replace('name = "bad"', 'name = "maps"\nengine = "stochastic"')
                  .replace('"60 days"', '"30 days"').replace('"1 month"', '"15 days"')
                  .replace('["air", "migration"]', '["air", "land", "migration"]')
                  + "[ensemble]\nmembers = 2\n")
"""A two-member TB ensemble on three world places, with the risk stage, maps and report."""


def test_resume_rebuilds_maps_and_report_that_a_stop_interrupted(tmp_path, monkeypatch):
    """A stop while the maps are drawn leaves a complete run marked ``maps_error``;
    ``--resume`` draws them (and only them), and the run is complete with all its files."""
    from healthmob.cli import main
    from healthmob.outputs import publish

    config = tmp_path / "maps.toml"
    config.write_text(WORLD_ENSEMBLE)

    def stopped(_run_dir):
        raise KeyboardInterrupt("signal 15")

    monkeypatch.setattr(publish, "write_risk_outputs", stopped)
    assert main(["-q", "run", str(config), "--output-dir", str(tmp_path / "runs")]) == 130
    [run] = list((tmp_path / "runs").iterdir())
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["maps_error"] == "interrupted"
    assert not (run / "report.html").exists()
    risk = (run / "risk.nc").stat().st_mtime_ns
    monkeypatch.undo()
    assert main(["-q", "run", "--resume", str(run)]) == 0
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "complete" and "maps_error" not in manifest
    assert (run / "report.html").is_file() and (run / "risk_map.png").is_file()
    assert (run / "risk.nc").stat().st_mtime_ns == risk       # not computed again
    assert main(["-q", "run", "--resume", str(run)]) == 2      # now nothing to resume


def test_a_stop_between_the_first_manifest_and_the_run_is_interrupted(tmp_path, monkeypatch):
    """SIGTERM just after the folder's manifest is written, before the run is recorded
    (3 of 30 signals sent within 3 ms of the manifest left ``running`` before)."""
    from healthmob.store.rundir import RunDirectory

    def stopped(self, earlier_logs=()):
        raise KeyboardInterrupt("signal 15")

    monkeypatch.setattr(RunDirectory, "attach_log", stopped)
    with pytest.raises(KeyboardInterrupt):
        RunDirectory(tmp_path, "early", "run", 0, [])
    [manifest] = list(tmp_path.glob("early-*/manifest.json"))
    assert json.loads(manifest.read_text())["status"] == "interrupted"
