"""Fit a history: every year, all places at once, with mobility on.

From the start state, year after year: the yearly unknowns of every place (the force of
infection ``phi`` of a transmission parameter, or a programme parameter's value) are solved
so that each target's observable, averaged over the year, meets that year's observed value,
with the world carried by :class:`.chain.WorldChain` (every place's chain, migrants
arriving from the other places' states). The solve is a secant iteration per place and
target on the unknown's logarithm, all places together (each target is driven mostly by its
own parameter; the others' effects enter through the next evaluation), within the declared
ranges. Each year starts from where the fitted previous year ended, so the fit is
sequential: each unknown moves at most a factor :data:`YEARLY_FACTOR` from the year before,
the state of the last fitted year is the coupled model's own, and local
transmission is what the targets leave after migrants' and travellers' infections
(:func:`.chain.beta_from_force`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..calibration.fit import FLOOR, Calibrator
from ..clock import Pace
from ..engine.coupling import Coupling
from ..units import DAYS_PER_YEAR
from .chain import WorldChain, beta_from_force

log = logging.getLogger(__name__)

TOLERANCE = 0.005
"""A year's unknowns stop moving when every observable is within 0.5% of its target."""
MAX_ITERATIONS = 8
MAX_STEP = 1.5
"""Largest change of an unknown's logarithm in one iteration (a factor e^1.5 = 4.5)."""
FIRST_SLOPE = 0.5
"""Assumed d(residual)/d(log unknown) before two evaluations give the secant."""
YEARLY_FACTOR = 1.5
"""An unknown changes by at most this factor from one year to the next, except that it may
always rise back to its anchor (its value at the start, or a programme parameter's declared
value when that is higher: ART initiation starts near 0 in 2000). A year's target is met by
that year's parameters only partly (TB incidence lags infection, prevalence and coverage
are stocks); without the limit a sequential fit swings parameters to their bounds to
correct one year's residual, values that the projection would then hold."""
MIN_SLOPE = 0.02
"""Smallest slope a secant sets: an unknown whose effect has become small (ART initiation
pushed to its floor while imported people on ART already exceed a target of 0) then moves
by the largest step, instead of by a stale slope from an earlier year."""
BETA_FLOOR = 1e-12
"""Smallest transmission rate (1/day) where imported infection exceeds a place's force."""


@dataclass(frozen=True)
class HistoryFit:
    """What the fit found, year by year.

    Attributes
    ----------
    years : ndarray of int, shape (Y,)
    parameters : dict of str to ndarray (Y, P)
        Engine parameter values (base units) of the yearly parameters.
    goal, achieved : ndarray, shape (Y, P, n_targets)
        Observed values and what the fitted chain gives (annual means).
    capped : ndarray of bool, shape (Y, P)
        Transmission at its floor: migrants' and travellers' infections alone exceed the
        place's force of infection.
    growth : ndarray, shape (Y, P)
        Births beyond deaths per person per day (1/day) of each year.
    cache_file : Path, optional
        The calibration cache it was read from (an input of the run).
    """

    years: np.ndarray
    parameters: dict
    goal: np.ndarray
    achieved: np.ndarray
    capped: np.ndarray
    growth: np.ndarray
    cache_file: Path | None = None


def fit_history(calibrator: Calibrator, coupling: Coupling, x0: np.ndarray, goal: np.ndarray,
                start: np.ndarray, yearly: np.ndarray, years: np.ndarray,
                last_observed: np.ndarray | None = None,
                population: np.ndarray | None = None) -> HistoryFit:
    """Fit every year of ``years`` in turn (module docstring).

    Parameters
    ----------
    calibrator : Calibrator
        The targets and how their unknowns enter the rates (no foreign-born share).
    coupling : Coupling
        The run's mobility coupling (relocation with its selection, visiting).
    x0 : ndarray, shape (P, C)
        Persons at the start of the first year.
    goal : ndarray, shape (Y, P, n_targets)
        Each year's target values.
    start : ndarray, shape (P, n_targets)
        Unknowns at the start (phi per unit rate, or parameter values; base units).
    yearly : ndarray of bool, shape (n_targets,)
        Which unknowns are refitted every year; the others keep their start value.
    years : ndarray of int, shape (Y,)
    last_observed : ndarray of int, shape (n_targets,), optional
        Last year with an observed value of each target's series: later years are not
        fitted (the unknown is held), so a series held flat past its end (UNAIDS HIV
        prevalence ends in 2021) does not drive its parameter.
    population : ndarray, shape (Y + 1, P), optional
        Observed population at the start of each year and after the last (nan where
        unknown): each year's births beyond deaths are the observed growth less the net
        migration of the model's own state (:func:`growth_rates`); none without it.
    """
    chain = WorldChain(calibrator, coupling)
    low, high = calibrator.bounds
    values = np.log(np.clip(start, np.exp(low), np.exp(high)))
    declared = np.array([np.log(max(calibrator.spec.base_values()[t.parameter], 1e-300))
                         if not trans else -np.inf for t, trans in
                         zip(calibrator.targets, calibrator.is_transmission)])
    anchor = np.minimum(np.maximum(values, declared), high)
    slope_guess = np.full(values.shape, FIRST_SLOPE)
    x = x0
    parameters = {t.parameter: np.empty((len(years), len(x0))) for t, y in
                  zip(calibrator.targets, yearly) if y}
    achieved = np.empty_like(goal)
    capped = np.zeros((len(years), len(x0)), dtype=bool)
    growth = np.zeros((len(years), len(x0)))
    evaluations, pace = 0, Pace()
    for y in range(len(years)):
        if pace.due():
            log.info("history fit: year %d (%d of %d)", years[y], y + 1, len(years))
        if population is not None:
            growth[y] = growth_rates(population[y], population[y + 1], chain.net_migration(x))
        step = np.log(YEARLY_FACTOR)
        bounds = (np.maximum(low, values - step),
                  np.minimum(high, np.maximum(values + step, anchor)))
        fitted = yearly if last_observed is None else yearly & (years[y] <= last_observed)
        values, result, slope_guess, n = _solve_year(chain, x, goal[y], values, fitted,
                                                     slope_guess, bounds, growth[y])
        evaluations += n
        achieved[y], x = result.observed, result.end
        for j, (target, unit, group, trans) in enumerate(zip(
                calibrator.targets, calibrator.units, calibrator.groups,
                calibrator.is_transmission)):
            if not yearly[j]:
                continue
            if trans:
                k = int(np.argmax(group))
                beta, capped_j = beta_from_force(coupling, unit.inf_rate[:, k],
                                                 np.exp(values[:, j]),
                                                 result.infectious_share[:, j], BETA_FLOOR)
                parameters[target.parameter][y] = beta
                capped[y] |= capped_j
            else:
                parameters[target.parameter][y] = np.exp(values[:, j])
    log.info("history fit: %d years x %d places, %d evaluations of the world chain",
             len(years), len(x0), evaluations)
    return HistoryFit(np.asarray(years), parameters, goal, achieved, capped, growth)


GROWTH_LIMITS = (-0.01, 0.05)
"""Births beyond deaths stay within -1% and +5% of the population a year: births cannot fall
below about 0.4% a year when deaths are 1/70 a year, and no country grows faster than 5%."""


def growth_rates(start: np.ndarray, end: np.ndarray, net_migration: np.ndarray) -> np.ndarray:
    """Births beyond deaths (1/day) that take a population from ``start`` to ``end`` in a
    year given the model's net migration per resident per day; 0 where either is unknown."""
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = np.log(end / start) / DAYS_PER_YEAR
    rate = np.where(np.isfinite(observed), observed - net_migration, 0.0)
    return np.clip(rate, *(np.array(GROWTH_LIMITS) / DAYS_PER_YEAR))


def _solve_year(chain: WorldChain, x: np.ndarray, goal: np.ndarray, values: np.ndarray,
                yearly: np.ndarray, slope: np.ndarray, bounds, growth: np.ndarray):
    """Secant iterations of one year; returns the unknowns, the chain's year at them, the
    slopes (the next year's first guess) and the number of evaluations."""
    scale = np.maximum(np.abs(goal), FLOOR)
    previous, n = None, 0
    while True:
        n += 1
        result = chain.year(x, np.exp(values), growth)
        residual = np.where(yearly, (result.observed - goal) / scale, 0.0)
        residual = np.nan_to_num(residual)
        moving = (np.abs(residual) > TOLERANCE) & yearly
        if previous is not None:
            step, change = values - previous[0], residual - previous[1]
            known = np.abs(step) > 1e-9
            secant = np.divide(change, step, out=np.zeros_like(step), where=known)
            slope = np.where(known & (secant > 0), np.maximum(secant, MIN_SLOPE), slope)
        if not moving.any() or n == MAX_ITERATIONS:
            return values, result, slope, n
        previous = (values.copy(), residual)
        update = np.clip(-residual / slope, -MAX_STEP, MAX_STEP)
        values = np.where(moving, np.clip(values + update, *bounds), values)
