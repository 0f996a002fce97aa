"""Ensemble members: how one member is computed, and its file.

Everything here is numpy (plus h5netcdf and h5py for the member files) and runs unchanged
on a dask worker or in-process; :mod:`healthmob.ensemble.executors` decides where. Member
``m`` of sweep scenario ``s`` draws from stream ``(s, m)`` of the plan's seed
(:mod:`healthmob.engine.seeds`): its numbers depend on ``(seed, s, m)`` only, whatever the
number of members, scenarios or workers and the order they run in.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import h5netcdf
import h5py
import numpy as np

from ..disease.compile import compile_model
from ..engine.binomial import simulate_stochastic
from ..engine.ode import simulate_deterministic
from ..engine.seeds import generator
from ..engine.trajectory import Trajectory
from ..store.atomic import atomic_path
from .plan import EnsemblePlan

log = logging.getLogger(__name__)

MEMBER_DIR = "members"
PLAN_FILE = "plan.json"
TALLY_DTYPE = np.float32
"""Tallied rates in member files: event counts per day are exact below 2**24 per step."""


def compute_member(plan: EnsemblePlan, scenario: int, member: int) -> Trajectory:
    """Compute one member (in any process)."""
    n_places = plan.x0.shape[0]
    compiled = compile_model(plan.spec, n_places,
                             {**plan.overrides, **plan.scenarios[scenario]})
    if plan.engine == "deterministic":
        solver = plan.solver
        return simulate_deterministic(compiled, plan.x0, plan.times, plan.coupling,
                                      method=solver.method, rtol=solver.rtol, atol=solver.atol)
    return simulate_stochastic(compiled, plan.x0, plan.times, plan.coupling,
                               generator(plan.seed, scenario, member), plan.dt,
                               state_dtype=plan.state_dtype)


def member_path(folder: Path, scenario: int, member: int) -> Path:
    """File of one member: ``members/scenario-<s>-member-<m>.nc``."""
    return Path(folder) / f"scenario-{scenario}-member-{member}.nc"


def run_member(plan: EnsemblePlan, scenario: int, member: int, folder: str) -> dict:
    """Compute one member and write its file atomically; return a small record.

    This is the unit of work an executor runs. The file appears complete or not at all,
    so an interrupted or killed worker never leaves a member half-written.
    """
    t0 = time.perf_counter()
    trajectory = compute_member(plan, scenario, member)
    seconds = time.perf_counter() - t0
    write_member(member_path(Path(folder), scenario, member), trajectory, plan.state_dtype,
                 scenario=scenario, member=member, seconds=seconds,
                 plan_sha256=plan.fingerprint)
    return {"scenario": scenario, "member": member, "seconds": round(seconds, 4),
            "pid": os.getpid()}


def write_member(path: Path, trajectory: Trajectory, dtype, **attrs) -> None:
    """Write ``state (place, time, compartment)`` and ``tally_rate (place, time, tally)``.

    ``tally_rate`` is float32 (:data:`TALLY_DTYPE`): half the bytes to write, which is what
    limits throughput when several workers share a disk.

    Place-major, so that a block of places (what the quantiles across members need) is
    one contiguous read.
    """
    with atomic_path(path) as tmp:
        with h5netcdf.File(tmp, "w") as f:
            n_t, n_p, n_c = trajectory.state.shape
            f.dimensions = {"place": n_p, "time": n_t, "compartment": n_c,
                            "tally": trajectory.tally_rates.shape[2]}
            # one copy each: transpose and convert together
            f.create_variable("state", ("place", "time", "compartment"), dtype,
                              data=np.ascontiguousarray(
                                  np.asarray(trajectory.state).transpose(1, 0, 2), dtype=dtype))
            f.create_variable("tally_rate", ("place", "time", "tally"), TALLY_DTYPE,
                              data=np.ascontiguousarray(
                                  np.asarray(trajectory.tally_rates).transpose(1, 0, 2),
                                  dtype=TALLY_DTYPE))
            f.attrs.update({k: v for k, v in attrs.items()})


def read_member(path: Path, variable: str, places: slice = slice(None)) -> np.ndarray:
    """Read ``state`` or ``tally_rate`` of a member file as (time, place, ...)."""
    with h5py.File(path, "r") as f:  # plain HDF5 read: several times faster than h5netcdf
        return f[variable][places].transpose(1, 0, 2)


def done_members(folder: Path, plan: EnsemblePlan) -> set[tuple[int, int]]:
    """Members whose file exists (complete, thanks to the atomic rename) and is verified:
    written for this plan (its ``plan_sha256``), scenario and member, with the plan's shapes.

    Any other file in its place, e.g. one written after a stop by a worker of another
    process for an older plan, or damaged, is deleted (logged) so that it is computed again.
    """
    done = set()
    for key in plan.keys:
        path = member_path(folder, *key)
        if not path.is_file():
            continue
        problem = _member_problem(path, plan, *key)
        if problem is None:
            done.add(key)
            continue
        log.warning("%s: %s; computing it again", path, problem)
        path.unlink(missing_ok=True)
    return done


def _member_problem(path: Path, plan: EnsemblePlan, scenario: int, member: int) -> str | None:
    """Why a member file is not this plan's member, or None (one read of the file)."""
    n_places, n_compartments = plan.x0.shape
    shapes = {"state": (n_places, len(plan.times), n_compartments),
              "tally_rate": (n_places, len(plan.times), len(plan.spec.tallies))}
    try:
        with h5py.File(path, "r") as f:
            sha = _text(f.attrs.get("plan_sha256"))
            found = {name: f[name].shape if name in f else None for name in shapes}
            key = (f.attrs.get("scenario"), f.attrs.get("member"))
    except OSError:
        sha = None
    if sha != plan.fingerprint:
        return "unreadable, or written for another plan (plan_sha256)"
    if key != (scenario, member):
        return f"holds scenario {key[0]} member {key[1]}"
    if found != shapes:
        return f"has shapes {found}, expected {shapes}"
    return None


def recorded_plan(path: Path) -> str | None:
    """The ``plan_sha256`` a member file or ``results.nc`` was written for; None when the
    file cannot be read as HDF5 or has none."""
    try:
        with h5py.File(path, "r") as f:
            return _text(f.attrs.get("plan_sha256"))
    except OSError:
        return None


def _text(value):
    """An HDF5 string attribute as str (h5py gives bytes for some writers)."""
    return value.decode() if isinstance(value, bytes) else value


def remove_partial_files(folder: Path) -> int:
    """Delete temporary files that an interrupted or killed writer left behind."""
    count = 0
    for path in Path(folder).glob(".*.partial-*"):
        path.unlink(missing_ok=True)
        count += 1
    return count
