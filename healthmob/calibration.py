"""Fit transmission and programme parameters per place so the endemic state matches data.

Unknowns are model parameters of two kinds:

* a **transmission** parameter ``beta`` that multiplies a group of infections sharing the same
  infectiousness weights ``w``: the force of infection is written ``phi * c_k`` with
  ``phi = beta * (w . x) / N``, and ``phi`` is the unknown;
* a **programme** parameter (e.g. ``art_initiation``) that enters spontaneous transition
  rates linearly.

For given unknowns the endemic state is the stationary distribution of one linear chain
(deaths re-entering as births), one linear solve; observables (tallied rates per 100,000 per
year, or a spec output such as a prevalence) follow. ``scipy.optimize.least_squares`` solves
observable/target = 1 for every target in log-parameter space; then
``beta = phi / (w . x)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from .errors import ConfigError
from .model import CompiledModel, compile_model
from .observables import observe
from .spec import ModelSpec

log = logging.getLogger(__name__)

TOLERANCE = 0.02
"""A place counts as fitted when every observable is within 2% of its target."""


@dataclass(frozen=True)
class Target:
    """Match ``observable`` (a tally or spec output) to ``column`` by fitting ``parameter``."""

    observable: str
    column: str
    parameter: str


@dataclass(frozen=True)
class PlaceFit:
    """Result of one place's fit: state fractions, parameter values, achieved observables."""

    fractions: np.ndarray
    parameters: dict
    achieved: np.ndarray
    converged: bool


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
    """

    def __init__(self, spec: ModelSpec, overrides: dict, targets: list[Target], n_places: int):
        _check(spec, targets)
        self.spec, self.targets = spec, targets
        fitted = {t.parameter for t in targets}
        self.transmission = [t.parameter for t in targets if _is_transmission(spec, t.parameter)]
        self.programme = [t.parameter for t in targets if t.parameter not in self.transmission]
        zeros = {name: 0.0 for name in fitted}
        self.base = compile_model(spec, n_places, {**overrides, **zeros})
        self.unit_programme = [compile_model(spec, n_places, {**overrides, **zeros, name: 1.0})
                               for name in self.programme]
        self.unit_force = [compile_model(spec, n_places, {**overrides, **zeros, name: 1.0})
                           for name in self.transmission]
        self.groups = [self._group(name) for name in self.transmission]

    def _group(self, name: str) -> np.ndarray:
        return np.array([name in inf.rate.names() for inf in self.spec.infections])

    def model_at(self, place: int, values: np.ndarray) -> tuple[CompiledModel, np.ndarray]:
        """Rates of one place for unknowns ``values`` (phi per transmission parameter, then
        programme parameters, all per day); returns the model and the force vector (K,)."""
        n_tr = len(self.transmission)
        tr_rate = self.base.tr_rate[place].copy()
        for unit, value in zip(self.unit_programme, values[n_tr:]):
            tr_rate += value * (unit.tr_rate[place] - self.base.tr_rate[place])
        force = np.zeros(len(self.spec.infections))
        for unit, group, phi in zip(self.unit_force, self.groups, values[:n_tr]):
            force[group] += phi * unit.inf_rate[place, group]
        return tr_rate, force

    def evaluate(self, place: int, values: np.ndarray):
        """Stationary fractions and observables of one place at ``values``."""
        tr_rate, force = self.model_at(place, values)
        x = stationary(_generator(self.base, tr_rate, force))
        flows_tr = x[self.base.tr_source] * tr_rate
        flows_inf = x[self.base.inf_source] * force
        tallies = flows_tr @ self.base.tally_tr + flows_inf @ self.base.tally_inf
        achieved = np.array([observe(self.spec, t.observable, x[None], tallies[None])[0]
                             for t in self.targets])
        return x, achieved

    def fit_place(self, place: int, goal: np.ndarray, start: np.ndarray) -> PlaceFit:
        """Solve observables(place) = goal, starting from ``start`` (per-day values)."""
        def residuals(log_values):
            return self.evaluate(place, np.exp(log_values))[1] / goal - 1.0

        solution = least_squares(residuals, np.log(start), method="trf", xtol=1e-12,
                                 ftol=1e-12, gtol=1e-12, max_nfev=400,
                                 bounds=(np.log(1e-9), np.log(1e3)))
        values = np.exp(solution.x)
        x, achieved = self.evaluate(place, values)
        n_tr = len(self.transmission)
        parameters = {}
        for name, group, phi in zip(self.transmission, self.groups, values[:n_tr]):
            weights = self.base.inf_weight[np.argmax(group)]
            parameters[name] = phi / max(float(weights @ x), 1e-300)
        parameters.update(zip(self.programme, values[n_tr:]))
        converged = bool(np.all(np.abs(achieved / goal - 1) <= TOLERANCE))
        return PlaceFit(x, parameters, achieved, converged)

    def start_values(self) -> np.ndarray:
        """A starting point: phi = 1e-4 per day, programme parameters at their spec values."""
        defaults = self.spec.base_values()
        return np.array([1e-4] * len(self.transmission)
                        + [max(defaults[name], 1e-6) for name in self.programme])


def stationary(generator: np.ndarray) -> np.ndarray:
    """Stationary distribution ``x`` (sums to 1) of a closed chain: ``x @ generator = 0``."""
    n = generator.shape[0]
    system = generator.T.copy()
    system[-1, :] = 1.0
    rhs = np.zeros(n)
    rhs[-1] = 1.0
    x = np.linalg.solve(system, rhs)
    x = np.clip(x, 0.0, None)
    return x / x.sum()


def _generator(model: CompiledModel, tr_rate: np.ndarray, force: np.ndarray) -> np.ndarray:
    n = model.n_compartments
    q = np.zeros((n, n))
    target = np.where(model.tr_target >= 0, model.tr_target, model.birth_target)
    np.add.at(q, (model.tr_source, target), tr_rate)
    np.add.at(q, (model.inf_source, model.inf_target), force)
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
