"""The plan of an ensemble: everything any member needs, and its parameter sweep.

An :class:`EnsemblePlan` is sent to the workers once; a member is ``(scenario, member)`` of
it (:mod:`healthmob.ensemble.members`). Everything here is numpy: it runs unchanged on a
dask worker or in-process.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import json
from dataclasses import dataclass, field

import numpy as np

from .. import units as _units
from ..disease.spec import ModelSpec
from ..engine.config import SolverConfig, TimeConfig
from ..engine.coupling import Coupling
from ..engine.seeds import lhs_generator
from ..engine.trajectory import output_times
from ..results import place_coords
from .config import QUANTILES, SweepConfig


@dataclass(frozen=True)
class Labels:
    """What labels the combined results; never changes a number."""

    place_coords: dict | None = None
    """Coordinates of the ``place`` dimension (:func:`healthmob.results.place_coords`)."""
    start: dt.date = TimeConfig().start
    quantiles: tuple = QUANTILES
    sweep: dict = field(default_factory=dict)
    """parameter -> (values per scenario in the stated units, CF units)."""
    initial_flag: np.ndarray | None = None
    attrs: dict = field(default_factory=dict)
    """Global attributes (``title``, ``config_sha256``, ``history``...)."""


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
    solver : SolverConfig
        Options of the deterministic engine.
    labels : Labels
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
    solver: SolverConfig = SolverConfig()
    labels: Labels = Labels()

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

    @functools.cached_property
    def fingerprint(self) -> str:
        """sha256 of everything that changes a member's numbers (not the labels); each
        member file and ``results.nc`` carry it (``plan_sha256``)."""
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
            "solver": self.solver.to_table()}, sort_keys=True).encode())
        return digest.hexdigest()


def plan_ensemble(prepared) -> EnsemblePlan:
    """The plan of a prepared scenario (:class:`healthmob.pipeline.Prepared`).

    The deterministic engine runs one member per scenario (a sweep without noise).
    """
    scenario = prepared.scenario
    ensemble = scenario.ensemble
    scenarios, sweep_labels = sweep_scenarios(ensemble.sweep, scenario.spec, ensemble.seed)
    x0 = prepared.initial.state
    if scenario.engine == "stochastic":
        x0 = integer_state(x0)
    labels = Labels(
        place_coords=place_coords(scenario.places), start=scenario.time.start,
        quantiles=tuple(ensemble.quantiles), sweep=sweep_labels,
        initial_flag=prepared.initial.flag,
        attrs={"title": f"healthmob scenario {scenario.name}: {scenario.spec.long_name}",
               "config_sha256": scenario.sha256,
               "history": f"healthmob run {scenario.path or '<in-memory config>'}"})
    return EnsemblePlan(
        spec=scenario.spec, x0=x0, coupling=prepared.coupling,
        times=output_times(scenario.time.duration_days, scenario.time.step_days),
        overrides={name: np.array(v) for name, v in prepared.compiled.values.items()},
        scenarios=scenarios,
        members=1 if scenario.engine == "deterministic" else ensemble.members,
        seed=ensemble.seed, engine=scenario.engine,
        dt=_units.parse_duration(ensemble.step), solver=scenario.solver, labels=labels)


def sweep_scenarios(sweep: SweepConfig | None, spec: ModelSpec,
                    seed: int) -> tuple[tuple[dict, ...], dict]:
    """Expand a checked ``[ensemble.sweep]`` into scenarios.

    Grid: the Cartesian product of the listed values (first parameter slowest). Latin
    hypercube: ``samples`` points of ``scipy.stats.qmc.LatinHypercube`` scaled to
    ``[min, max]``, drawn from the sweep's own stream (:mod:`healthmob.engine.seeds`).

    Returns
    -------
    scenarios : tuple of dict
        Parameter values in base units (per day, days) per scenario; ``({},)`` without a
        sweep.
    labels : dict
        parameter -> (values per scenario in the stated units, CF units) for the
        ``sweep_<parameter>`` coordinates.
    """
    if sweep is None or not sweep.parameters:
        return ({},), {}
    names, columns, units = [], [], []
    for name, entry in sweep.parameters.items():
        entry = {"values": entry} if isinstance(entry, list) else entry
        names.append(name)
        units.append(entry.get("units") or spec.parameters[name].units)
        columns.append(entry)
    if sweep.method == "grid":
        rows = list(itertools.product(*[c["values"] for c in columns]))
    else:
        from scipy.stats import qmc  # slow to import; only sweeps need it

        sample = qmc.LatinHypercube(d=len(names), rng=lhs_generator(seed)).random(
            sweep.samples)
        low = np.array([c["min"] for c in columns], dtype=float)
        high = np.array([c["max"] for c in columns], dtype=float)
        rows = [tuple(r) for r in qmc.scale(sample, low, high)] if np.all(high > low) else \
            [tuple(low + (high - low) * r) for r in sample]
    scenarios = tuple({n: _units.convert(float(v), u)[0] for n, v, u in zip(names, row, units)}
                      for row in rows)
    labels = {n: ([float(row[i]) for row in rows], _units.CF_UNITS.get(u, u))
              for i, (n, u) in enumerate(zip(names, units))}
    return scenarios, labels


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
