"""Initial states: an endemic equilibrium calibrated to observed burden, or explicit fractions.

The endemic start (``[initial] method = "endemic"``) fits, place by place, the parameters
named in ``initial.targets`` so that the model's endemic state reproduces observed values
(WHO TB incidence, UNAIDS HIV prevalence, ...) and starts every place at that state; see
:mod:`healthmob.calibration`. Places are fitted one at a time, without mobility. A place
without data takes the median of its region (``fallback`` column) and is flagged. When the
run counts the foreign-born, a second fit holds them fixed and fits the native-born.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..clock import Pace
from ..disease.spec import ModelSpec
from ..errors import ConfigError
from .config import FractionStart
from .fit import Calibrator, Target

log = logging.getLogger(__name__)

FLAG_MEANINGS = ("fitted_to_data", "fallback_region_median", "fit_not_within_2_percent",
                 "explicit_fractions", "lower_priority_target_missed")


@dataclass(frozen=True)
class InitialState:
    """Initial persons per place and compartment, and what the calibration found.

    Attributes
    ----------
    state : ndarray, shape (P, C)
        Persons.
    overrides : dict of str to ndarray
        Fitted parameter values per place (base units), to compile the model with.
    flag : ndarray of int, shape (P,)
        Index into :data:`FLAG_MEANINGS` for each place.
    targets : list of Target
        What was fitted (empty for explicit starts).
    goal, achieved : ndarray, shape (P, n_targets)
        Target values used per place, and the values the model reached.
    """

    state: np.ndarray
    overrides: dict
    flag: np.ndarray
    targets: tuple = ()
    goal: np.ndarray | None = None
    achieved: np.ndarray | None = None
    cache_file: Path | None = None
    """The calibration cache the state was read from, if any (an input of the run)."""


def endemic_start(spec: ModelSpec, places: pd.DataFrame, overrides: dict,
                  targets: list[Target], fallback: str,
                  foreign: np.ndarray | None = None) -> InitialState:
    """Calibrate every place to its data and start it at its endemic state.

    Parameters
    ----------
    spec : ModelSpec
        The disease model; births must replace deaths (stationary population).
    places : pandas.DataFrame
        Places with ``population`` and one column per target (in the observable's units).
    overrides : dict
        Other parameter values (base units) from the config.
    targets : list of Target
        Observable, places column and fitted parameter, one per target.
    fallback : str
        Places column grouping places for the median target of a place without data
        (e.g. ``"subregion"``); the overall median when the group has none.
    foreign : ndarray, shape (P, C), optional
        Foreign-born persons per resident by compartment, held fixed: the targets are met
        by the place as a whole and only the native-born are fitted (:class:`.Calibrator`).
    """
    n = len(places)
    calibrator = Calibrator(spec, overrides, targets, n, foreign)
    goal = np.empty((n, len(targets)))
    flag = np.zeros(n, dtype=int)
    for j, target in enumerate(targets):
        if target.column is None:
            goal[:, j] = target.value
            continue
        goal[:, j], missing = _targets(places, target.column, fallback)
        flag[missing] = FLAG_MEANINGS.index("fallback_region_median")
    fitted = {t.parameter: np.empty(n) for t in targets}
    fractions = np.empty((n, len(spec.compartments)))
    achieved = np.empty_like(goal)
    pace = Pace()
    for p in range(n):
        if pace.due():
            log.info("endemic fit: place %d of %d", p + 1, n)
        fit = calibrator.fit_place(p, goal[p])
        fractions[p], achieved[p] = fit.fractions, fit.achieved
        for name, value in fit.parameters.items():
            fitted[name][p] = value
        if not fit.converged.all() and flag[p] == 0:
            solver_missed = (~fit.converged & ~fit.given_up).any()
            flag[p] = FLAG_MEANINGS.index("fit_not_within_2_percent" if solver_missed
                                          else "lower_priority_target_missed")
    for j, target in enumerate(targets):
        off = np.abs(achieved[:, j] - goal[:, j]) > 0.02 * np.maximum(np.abs(goal[:, j]), 1e-3)
        if off.any():
            named = " ".join(places["id"][off].head(12)) + (" ..." if off.sum() > 12 else "")
            log.warning("calibration: %s not within 2%% of its target in %d places (%s); see "
                        "initial_state_flag and the target_/fitted_ variables",
                        target.observable, off.sum(), named)
    state = fractions * places["population"].to_numpy()[:, None]
    return InitialState(state, {**overrides, **fitted}, flag, tuple(targets), goal, achieved)


def fraction_start(spec: ModelSpec, places: pd.DataFrame, start: FractionStart) -> InitialState:
    """Every place split by ``start.fractions`` of its population, then its seeds moved in.

    A seed moves ``count`` persons of its place from compartment ``from`` (default: the
    model's first compartment) into ``compartment``, at most as many as are there.
    """
    ids = list(spec.compartment_ids)
    share = np.zeros(len(ids))
    for cid, value in start.fractions.items():
        share[ids.index(cid)] = value
    state = places["population"].to_numpy()[:, None] * share[None, :]
    place_index = {pid: i for i, pid in enumerate(places["id"])}
    for seed in start.seeds:
        p = place_index[seed.place]
        source = ids.index(seed.source or ids[0])
        count = min(float(seed.count), state[p, source])
        state[p, source] -= count
        state[p, ids.index(seed.compartment)] += count
    return InitialState(state, {}, np.full(len(places), FLAG_MEANINGS.index("explicit_fractions")))


def _targets(places: pd.DataFrame, column: str, fallback: str):
    """Target values of ``column``, region medians where missing; and the missing mask."""
    if column not in places.columns:
        raise ConfigError(f"initial.targets: column must be a column of the places table; "
                          f"got {column!r}; columns: {list(places.columns)}")
    target = np.array(pd.to_numeric(places[column], errors="coerce"), dtype=float)
    missing = ~np.isfinite(target)
    if missing.any():
        overall = np.nanmedian(target)
        group = np.full(len(places), np.nan)
        if fallback in places.columns:
            medians = pd.Series(target).groupby(places[fallback].to_numpy()).median()
            group = np.array(places[fallback].map(medians), dtype=float)
        target[missing] = np.where(np.isfinite(group[missing]), group[missing], overall)
        log.warning("%d places have no %s; using the %s median: %s", missing.sum(), column,
                    fallback, places["id"][missing].tolist())
    return target, missing
