"""Fit transmission and programme parameters per place so the endemic state matches data.

Unknowns are model parameters of two kinds:

* a **transmission** parameter ``beta`` that multiplies a group of infections sharing the same
  infectiousness weights ``w``: the force of infection is written ``phi * c_k`` with
  ``phi = beta * (w . x) / N``, and ``phi`` is the unknown;
* a **programme** parameter (e.g. ``art_initiation``, ``rr_tb_activation_hiv``) that enters
  spontaneous transition rates linearly; it stays inside its declared literature ``range``.

For given unknowns the endemic state is the stationary distribution of one linear chain
(deaths re-entering as births), one linear solve; observables (tallied rates per 100,000 per
year, or a spec output such as a prevalence) follow. Coordinate sweeps with ``brentq`` give
a start, ``scipy.optimize.least_squares`` solves observable = target for every target in
log-parameter space, and ``beta = phi / (w . x)``. Targets are in priority order: when they
cannot all be met, the last one missed is given up and the others are met exactly.

With a fixed foreign-born share ``y`` of each place (persons per resident by compartment,
from :mod:`healthmob.birthplace`), the place is ``X = (1 - sum y) x + y``: the native-born
``x`` at their stationary state, the foreign-born as they are. The observables are those of
``X`` (the foreign-born's flows at the same rates and force), and ``beta = phi / (w . X)``,
so local transmission is what the targets leave after the foreign-born's own cases and
infectiousness.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ..checks import REQUIRED, Number, Section, Text, setting
from ..disease.chains import stationary
from ..disease.compile import CompiledModel, compile_model
from ..disease.observables import observe
from ..disease.spec import ModelSpec
from ..errors import ConfigError

log = logging.getLogger(__name__)

TOLERANCE = 0.02
"""A place counts as fitted when every observable is within 2% of its target."""

FLOOR = 1e-3
"""Targets below this (in the observable's units, e.g. 0% TB-HIV share) are matched to
within ``TOLERANCE * FLOOR`` in absolute terms instead."""


@dataclass(frozen=True)
class Target(Section):
    """Match ``observable`` (a tally or spec output) by fitting ``parameter``.

    The observed value is the places table's ``column`` or, for an assumption shared by
    every place, a fixed ``value`` (in the observable's units). One entry of
    ``[initial] targets`` in a config.
    """

    observable: str = setting(REQUIRED, Text(nonempty=True))
    parameter: str = setting(REQUIRED, Text(nonempty=True))
    column: str | None = setting(None, Text(nonempty=True))
    value: float | None = setting(None, Number())


@dataclass(frozen=True)
class PlaceFit:
    """Result of one place's fit: state fractions, parameter values, achieved observables."""

    fractions: np.ndarray
    parameters: dict
    achieved: np.ndarray
    converged: np.ndarray
    """Per target: reached within 2%."""
    given_up: np.ndarray
    """Per target: dropped because it could not be met together with the targets before it."""


class Calibrator:
    """Per-place endemic calibration of a model (see the module docstring).

    Parameters
    ----------
    spec : ModelSpec
        The model; births must replace deaths (stationary population).
    overrides : dict
        Fixed parameter values in base units (scalars or per-place arrays of ``n_places``).
    targets : list of Target
        One target per fitted parameter.
    n_places : int
        Number of places.
    foreign : ndarray, shape (n_places, C), optional
        Foreign-born persons per resident by compartment, held fixed (module docstring).
    """

    def __init__(self, spec: ModelSpec, overrides: dict, targets: list[Target], n_places: int,
                 foreign: np.ndarray | None = None):
        _check(spec, targets)
        self.spec, self.targets = spec, targets
        self.foreign = (np.zeros((n_places, len(spec.compartments))) if foreign is None
                        else np.asarray(foreign, dtype=float))
        names = [t.parameter for t in targets]
        zeros = {name: 0.0 for name in names}
        self.base = compile_model(spec, n_places, {**overrides, **zeros})
        self.units = [compile_model(spec, n_places, {**overrides, **zeros, name: 1.0})
                      for name in names]
        self.is_transmission = np.array([_is_transmission(spec, name) for name in names])
        self.groups = [np.array([name in inf.rate.names() for inf in spec.infections])
                       for name in names]
        self.bounds = np.log(np.array([_bounds(spec, name, trans) for name, trans
                                       in zip(names, self.is_transmission)])).T

    def rates_at(self, place: int, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Transition rates (T,) and force of infection (K,) of one place (1/day) for the
        unknowns ``values`` (one per target: phi for a transmission parameter, else the
        parameter's value in base units)."""
        tr_rate = self.base.tr_rate[place].copy()
        force = np.zeros(len(self.spec.infections))
        for unit, group, trans, value in zip(self.units, self.groups, self.is_transmission,
                                             values):
            if trans:
                force[group] += value * unit.inf_rate[place, group]
            else:
                tr_rate += value * (unit.tr_rate[place] - self.base.tr_rate[place])
        return tr_rate, force

    def evaluate(self, place: int, values: np.ndarray):
        """The place's fractions ``X`` (natives stationary, plus the fixed foreign-born) and
        its observables at ``values``."""
        tr_rate, force = self.rates_at(place, values)
        foreign = self.foreign[place]
        x = (1.0 - foreign.sum()) * stationary(_generator(self.base, tr_rate, force)) + foreign
        flows_tr = x[self.base.tr_source] * tr_rate
        flows_inf = x[self.base.inf_source] * force
        tallies = flows_tr @ self.base.tally_tr + flows_inf @ self.base.tally_inf
        achieved = np.array([observe(self.spec, t.observable, x[None], tallies[None])[0]
                             for t in self.targets])
        return x, achieved

    def fit_place(self, place: int, goal: np.ndarray) -> PlaceFit:
        """Solve observables(place) = goal within the parameters' bounds.

        Targets are in priority order: when all cannot be met together, the last target
        not met is given up (its parameter stays where the joint solve left it, within its
        declared range) and the others are solved again.
        """
        scale = np.maximum(np.abs(goal), FLOOR)
        log_values = np.clip(np.log(self.start_values()), *self.bounds)
        free = np.ones(len(goal), dtype=bool)
        while True:
            log_values = self._solve(place, goal, scale, log_values, free)
            x, achieved = self.evaluate(place, np.exp(log_values))
            missed = np.abs(achieved - goal) > TOLERANCE * scale
            if not missed.any() or free.sum() <= 1 or not (missed & free).any():
                break
            free[np.flatnonzero(missed & free)[-1]] = False
        values = np.exp(log_values)
        parameters = {}
        for target, unit, group, trans, value in zip(self.targets, self.units, self.groups,
                                                     self.is_transmission, values):
            if trans:
                weights = unit.inf_weight[np.argmax(group)]
                value = value / max(float(weights @ x), 1e-300)
            parameters[target.parameter] = value
        return PlaceFit(x, parameters, achieved, ~missed, ~free)

    def _solve(self, place, goal, scale, log_values, free) -> np.ndarray:
        def residuals(free_values):
            trial = log_values.copy()
            trial[free] = free_values
            return ((self.evaluate(place, np.exp(trial))[1] - goal) / scale)[free]

        from scipy.optimize import least_squares  # 0.2 s to import: only when a fit runs

        bounds = (self.bounds[0][free], self.bounds[1][free])
        start = _sweep(residuals, log_values[free], bounds)
        solution = least_squares(residuals, start, method="trf", xtol=1e-12, ftol=1e-12,
                                 gtol=1e-12, max_nfev=400, bounds=bounds)
        out = log_values.copy()
        out[free] = solution.x
        return out

    def start_values(self) -> np.ndarray:
        """A starting point: phi = 1e-4 per day, other parameters at their spec values."""
        defaults = self.spec.base_values()
        return np.array([1e-4 if trans else max(defaults[t.parameter], 1e-6)
                         for t, trans in zip(self.targets, self.is_transmission)])


def _sweep(residuals, log_values: np.ndarray, bounds, n_sweeps: int = 2) -> np.ndarray:
    """Coordinate sweeps: solve each target for its own parameter with the others held, by
    brentq where the residual changes sign within the bounds (a robust start for the joint
    solve); otherwise the better bound."""
    from scipy.optimize import brentq

    log_values = log_values.copy()
    for _ in range(n_sweeps):
        for j in range(len(log_values)):
            def one(v, j=j):
                trial = log_values.copy()
                trial[j] = v
                return residuals(trial)[j]

            low, high = one(bounds[0][j]), one(bounds[1][j])
            if np.sign(low) != np.sign(high):
                log_values[j] = brentq(one, bounds[0][j], bounds[1][j], xtol=1e-6)
            else:
                log_values[j] = bounds[0][j] if abs(low) < abs(high) else bounds[1][j]
    return log_values


def _bounds(spec: ModelSpec, name: str, transmission: bool) -> tuple[float, float]:
    """Search bounds of an unknown: wide for a force of infection, else the parameter's
    declared literature range (base units) when it has one."""
    low, high = 1e-9, 1e3
    declared = spec.parameters[name]
    if not transmission and declared.range is not None:
        factor = declared.base_value / declared.value if declared.value else 1.0
        low = max(declared.range[0] * factor, low)
        high = max(declared.range[1] * factor, low * (1 + 1e-9))
    return low, high


def _generator(compiled: CompiledModel, tr_rate: np.ndarray, force: np.ndarray) -> np.ndarray:
    n = compiled.n_compartments
    q = np.zeros((n, n))
    target = np.where(compiled.tr_target >= 0, compiled.tr_target, compiled.birth_target)
    np.add.at(q, (compiled.tr_source, target), tr_rate)
    np.add.at(q, (compiled.inf_source, compiled.inf_target), force)
    np.fill_diagonal(q, 0.0)
    np.fill_diagonal(q, -q.sum(axis=1))
    return q


def _is_transmission(spec: ModelSpec, name: str) -> bool:
    return any(name in inf.rate.names() for inf in spec.infections)


def _check(spec: ModelSpec, targets: list[Target]) -> None:
    problems = []
    births = spec.births
    if any(t.target == "death" for t in spec.transitions) and not (
            births and births.replace_deaths):
        problems.append("the endemic start needs a stationary population: the model must "
                        "declare births = { ..., replace_deaths = true }")
    for i, target in enumerate(targets):
        key = f"initial.targets[{i}]"
        name = target.parameter
        if name not in spec.parameters:
            problems.append(f"{key}.parameter must be a parameter of model {spec.name!r}; "
                            f"got {name!r}")
            continue
        if target.observable not in spec.tallies and target.observable not in spec.outputs:
            problems.append(f"{key}.observable must be a tally or output of model "
                            f"{spec.name!r} {sorted(spec.tallies) + sorted(spec.outputs)}; "
                            f"got {target.observable!r}")
        if _is_transmission(spec, name):
            group = [inf for inf in spec.infections if name in inf.rate.names()]
            if any([p for n, _, p in inf.rate.factors if n == name] != [1] for inf in group):
                problems.append(f"{key}: {name} must multiply every infection rate it appears "
                                "in (power 1)")
            if any(inf.sources != group[0].sources for inf in group):
                problems.append(f"{key}: the infections using {name} must share sources")
        else:
            uses = [p for t in spec.transitions for n, _, p in t.rate.factors if n == name]
            if not uses or any(p != 1 for p in uses):
                problems.append(f"{key}: {name} must be a transmission parameter or multiply "
                                "transition rates (power 1)")
    if problems:
        raise ConfigError("; ".join(problems))
