"""Ensemble members: what one member is, its seed, its file, and how it is computed.

Everything here is numpy (plus h5netcdf for the member files) and runs unchanged on a dask
worker or in-process; :mod:`healthmob.ensemble` decides where.

Seeding rule: member ``m`` of sweep scenario ``s`` draws from
``numpy.random.SeedSequence(seed, spawn_key=(s, m))``, which is the child
``SeedSequence(seed).spawn(S)[s].spawn(M)[m]``; its result depends on ``(seed, s, m)`` only,
whatever the number of members, scenarios or workers and the order they run in.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import h5netcdf
import h5py
import numpy as np

from ..disease.compile import compile_model
from ..disease.spec import ModelSpec
from ..engine.binomial import simulate_stochastic
from ..engine.coupling import Coupling
from ..engine.ode import Trajectory, simulate_deterministic
from ..store.atomic import atomic_path

ENGINES = ("stochastic", "deterministic")
MEMBER_DIR = "members"
PLAN_FILE = "plan.json"
TALLY_DTYPE = np.float32
"""Tallied rates in member files: event counts per day are exact below 2**24 per step."""


@dataclass(frozen=True)
class EnsemblePlan:
    """Everything needed to compute any member, and to label the combined results.

    Attributes
    ----------
    spec : ModelSpec
        Disease model.
    x0 : ndarray, shape (P, C)
        Initial persons (whole numbers for the stochastic engine).
    coupling : Coupling
        Mobility coupling.
    times : ndarray
        Output times (days since the start).
    overrides : dict
        Parameter values in base units shared by every scenario (config and fitted ones).
    scenarios : tuple of dict
        Per sweep scenario, the parameter values (base units) that replace ``overrides``;
        ``({},)`` without a sweep.
    members : int
        Members per scenario.
    seed : int
        Root of every member's stream.
    engine : {"stochastic", "deterministic"}
    dt : float
        Stochastic step (days).
    solver : dict
        ``method``, ``rtol``, ``atol`` of the deterministic engine.
    labels : dict
        Labelling only (never changes a number): ``place_coords``, ``start``, ``attrs``,
        ``sweep`` (parameter -> (values in declared units, CF units)), ``quantiles``,
        ``initial_flag``.
    """

    spec: ModelSpec
    x0: np.ndarray
    coupling: Coupling
    times: np.ndarray
    overrides: dict = field(default_factory=dict)
    scenarios: tuple = ({},)
    members: int = 1
    seed: int = 0
    engine: str = "stochastic"
    dt: float = 1.0
    solver: dict = field(default_factory=lambda: {"method": "RK45", "rtol": 1e-6,
                                                  "atol": 1e-6})
    labels: dict = field(default_factory=dict)

    @property
    def n_scenarios(self) -> int:
        """Number of sweep scenarios (1 without a sweep)."""
        return len(self.scenarios)

    @property
    def keys(self) -> list[tuple[int, int]]:
        """Every ``(scenario, member)`` pair, scenario-major."""
        return [(s, m) for s in range(self.n_scenarios) for m in range(self.members)]

    @property
    def state_dtype(self) -> np.dtype:
        """int32 counts when they fit (stochastic), float64 persons (deterministic)."""
        if self.engine == "deterministic":
            return np.dtype(np.float64)
        grows = self.spec.births is not None and not self.spec.births.replace_deaths
        small = not grows and float(np.sum(self.x0)) < 2**31 - 1
        return np.dtype(np.int32 if small else np.int64)

    def fingerprint(self) -> str:
        """sha256 of everything that changes a member's numbers (not the labels)."""
        digest = hashlib.sha256()
        arrays = [self.x0, self.times]
        for matrix in (self.coupling.relocation, self.coupling.away):
            matrix = matrix.tocsr()
            matrix.sort_indices()
            arrays += [matrix.indptr, matrix.indices, matrix.data]
        for array in arrays:
            digest.update(np.ascontiguousarray(array, dtype=float).tobytes())
        digest.update(json.dumps({
            "model": self.spec.sha256, "overrides": _jsonable(self.overrides),
            "scenarios": _jsonable(self.scenarios), "members": self.members,
            "seed": self.seed, "engine": self.engine, "dt": self.dt,
            "solver": self.solver}, sort_keys=True).encode())
        return digest.hexdigest()


def member_seed(seed: int, scenario: int, member: int) -> np.random.SeedSequence:
    """The seed sequence of one member: ``SeedSequence(seed).spawn(...)[scenario]...[member]``."""
    return np.random.SeedSequence(seed, spawn_key=(scenario, member))


def compute_member(plan: EnsemblePlan, scenario: int, member: int) -> Trajectory:
    """Compute one member (in any process)."""
    n_places = plan.x0.shape[0]
    model = compile_model(plan.spec, n_places, {**plan.overrides, **plan.scenarios[scenario]})
    if plan.engine == "deterministic":
        return simulate_deterministic(model, plan.x0, plan.times, plan.coupling,
                                      **plan.solver)
    rng = np.random.Generator(np.random.PCG64(member_seed(plan.seed, scenario, member)))
    return simulate_stochastic(model, plan.x0, plan.times, plan.coupling, rng, plan.dt,
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
                 scenario=scenario, member=member, seconds=seconds)
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
    """Members whose file exists (complete, thanks to the atomic rename)."""
    return {key for key in plan.keys if member_path(folder, *key).is_file()}


def remove_partial_files(folder: Path) -> int:
    """Delete temporary files that an interrupted or killed writer left behind."""
    count = 0
    for path in Path(folder).glob(".*.partial-*"):
        path.unlink(missing_ok=True)
        count += 1
    return count


def integer_state(x0: np.ndarray) -> np.ndarray:
    """Whole persons per compartment keeping each place's rounded total (largest remainder).

    The stochastic engine needs integers; an initial state from fractions of a population
    generally is not.
    """
    x0 = np.asarray(x0, dtype=float)
    base = np.floor(x0 + 1e-9)
    short = np.rint(x0.sum(axis=1)) - base.sum(axis=1)
    order = np.argsort(-(x0 - base), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(x0.shape[1])[None, :].repeat(len(x0), 0), 1)
    return (base + (rank < short[:, None])).astype(np.int64)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
