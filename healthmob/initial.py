"""Initial states: an endemic equilibrium fitted to observed burden, or explicit fractions.

The endemic start (``[initial] method = "endemic"``) finds, for each place, the transmission
parameter whose endemic equilibrium reproduces an observed rate (e.g. WHO TB incidence per
100,000 per year), and starts every place at that equilibrium. Places are fitted one at a
time, without mobility.

Method. When every infection has the same infectiousness weights ``w`` and a rate
proportional to the fitted parameter ``beta`` (``rate_k = beta * c_k``), write the force of
infection as ``phi * c_k`` with ``phi = beta * (w . x) / N``. For fixed ``phi`` the equilibrium
is the stationary distribution of a linear chain (deaths re-entering as births), found by one
linear solve; the tallied rate rises with ``phi``, so ``scipy.optimize.brentq`` finds the
``phi`` that matches the target, and ``beta = phi * N / (w . x)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from .errors import ConfigError
from .model import CompiledModel, compile_model
from .spec import ModelSpec
from .units import DAYS_PER_YEAR

log = logging.getLogger(__name__)

PER_100K_YEAR = 1e5 * DAYS_PER_YEAR
"""Factor from a per-capita rate per day to a rate per 100,000 per year."""

FLAG_MEANINGS = ("fitted_to_data", "fallback_region_median", "target_unattainable",
                 "explicit_fractions")


@dataclass(frozen=True)
class InitialState:
    """Initial persons per place and compartment, and what the fit changed.

    Attributes
    ----------
    state : ndarray, shape (P, C)
        Persons.
    overrides : dict of str to ndarray
        Fitted parameter values per place (base units), to compile the model with.
    flag : ndarray of int, shape (P,)
        Index into :data:`FLAG_MEANINGS` for each place.
    target : ndarray, shape (P,)
        Target rate used per place (per 100,000 per year), NaN for explicit starts.
    """

    state: np.ndarray
    overrides: dict
    flag: np.ndarray
    target: np.ndarray


def endemic_start(spec: ModelSpec, places: pd.DataFrame, overrides: dict, *, tally: str,
                  column: str, parameter: str, fallback: str) -> InitialState:
    """Fit ``parameter`` per place so the endemic ``tally`` rate equals ``places[column]``.

    Parameters
    ----------
    spec : ModelSpec
        The disease model; births must replace deaths (stationary population).
    places : pandas.DataFrame
        Places with ``population`` and the target ``column`` (per 100,000 per year).
    overrides : dict
        Other parameter values (base units) from the config.
    tally, column, parameter : str
        Model tally to match, places column with the target, parameter to fit.
    fallback : str
        Places column used to group places for the median target when a place has no data
        (e.g. ``"subregion"``); the global median is used when the group has none.

    Returns
    -------
    InitialState
    """
    n = len(places)
    _check_endemic_model(spec, tally, parameter)
    target, flag = _targets(places, column, fallback)
    unit = compile_model(spec, n, {**overrides, parameter: 1.0})
    k_tally = unit.tally_names.index(tally)
    weights = unit.inf_weight[0]
    fitted = np.empty(n)
    fractions = np.empty((n, unit.n_compartments))
    for p in range(n):
        def rate_at(phi, p=p):
            x = stationary(unit.generator(p, phi * unit.inf_rate[p], births_close=True))
            return x, (unit.tally_rates(x[None], phi * unit.inf_rate[p][None])[0, k_tally]
                       * PER_100K_YEAR)

        goal = target[p]
        high = 1.0
        x_high, rate_high = rate_at(high)
        if goal > rate_high:
            log.warning("place %s: %s target %.4g per 100k/yr is above the model's maximum "
                        "%.4g; clipped", places["id"].iat[p], tally, goal, rate_high)
            flag[p], phi, x = 2, high, x_high
        else:
            phi = brentq(lambda f: rate_at(f)[1] - goal, 0.0, high, xtol=1e-14, rtol=1e-12)
            x = rate_at(phi)[0]
        infectious = float(weights @ x)
        fitted[p] = phi / infectious if infectious > 0 else spec.base_values()[parameter]
        fractions[p] = x
    state = fractions * places["population"].to_numpy()[:, None]
    return InitialState(state, {**overrides, parameter: fitted}, flag, target)


def stationary(generator: np.ndarray) -> np.ndarray:
    """Stationary distribution ``x`` (sums to 1) of a closed chain: ``x @ generator = 0``."""
    n = generator.shape[0]
    system = np.vstack([generator.T, np.ones(n)])
    rhs = np.zeros(n + 1)
    rhs[-1] = 1.0
    solution, *_ = np.linalg.lstsq(system, rhs, rcond=None)
    return np.clip(solution, 0.0, None) / np.clip(solution, 0.0, None).sum()


def fraction_start(model: CompiledModel, places: pd.DataFrame, fractions: dict,
                   seeds: list[dict]) -> InitialState:
    """Every place split by ``fractions`` of its population, then ``seeds`` moved in.

    Parameters
    ----------
    fractions : dict of str to float
        Share of each place's population per compartment; must sum to 1.
    seeds : list of dict
        ``{place, compartment, count, from}``: move ``count`` persons of ``place`` from
        compartment ``from`` (default: the first compartment) into ``compartment``.
    """
    ids = list(model.compartments)
    share = np.zeros(len(ids))
    for cid, value in fractions.items():
        share[ids.index(cid)] = value
    state = places["population"].to_numpy()[:, None] * share[None, :]
    place_index = {pid: i for i, pid in enumerate(places["id"])}
    for seed in seeds:
        p = place_index[seed["place"]]
        source = ids.index(seed.get("from", ids[0]))
        count = min(float(seed["count"]), state[p, source])
        state[p, source] -= count
        state[p, ids.index(seed["compartment"])] += count
    n = len(places)
    return InitialState(state, {}, np.full(n, FLAG_MEANINGS.index("explicit_fractions")),
                        np.full(n, np.nan))


def _check_endemic_model(spec: ModelSpec, tally: str, parameter: str) -> None:
    problems = []
    if tally not in spec.tallies:
        problems.append(f"initial.tally must be a tally of model {spec.name!r} "
                        f"{sorted(spec.tallies)}; got {tally!r}")
    if parameter not in spec.parameters:
        problems.append(f"initial.parameter must be a parameter of model {spec.name!r}; "
                        f"got {parameter!r}")
    births = spec.births
    has_deaths = any(t.target == "death" for t in spec.transitions)
    if has_deaths and not (births and births.replace_deaths):
        problems.append("the endemic start needs a stationary population: the model must "
                        "declare births = { ..., replace_deaths = true }")
    if not spec.infections:
        problems.append(f"model {spec.name!r} has no infections to fit")
    else:
        first = spec.infections[0].sources
        for i, infection in enumerate(spec.infections):
            powers = [pw for name, _, pw in infection.rate.factors if name == parameter]
            if powers != [1]:
                problems.append(f"infections[{i}].rate must be proportional to {parameter} "
                                f"for the endemic start; got {infection.rate.text!r}")
            if infection.sources != first:
                problems.append(f"infections[{i}].sources must equal infections[0].sources "
                                "for the endemic start")
    if problems:
        raise ConfigError("; ".join(problems))


def _targets(places: pd.DataFrame, column: str, fallback: str):
    if column not in places.columns:
        raise ConfigError(f"initial.column must be a column of the places table; got "
                          f"{column!r}; columns: {list(places.columns)}")
    target = np.array(pd.to_numeric(places[column], errors="coerce"), dtype=float)
    flag = np.zeros(len(places), dtype=int)
    missing = ~np.isfinite(target)
    if missing.any():
        overall = np.nanmedian(target)
        if fallback in places.columns:
            medians = pd.Series(target).groupby(places[fallback].to_numpy()).median()
            group = places[fallback].map(medians).to_numpy(dtype=float)
        else:
            group = np.full(len(places), np.nan)
        target[missing] = np.where(np.isfinite(group[missing]), group[missing], overall)
        flag[missing] = FLAG_MEANINGS.index("fallback_region_median")
        log.warning("%d places have no %s; using the %s median: %s", missing.sum(), column,
                    fallback, places["id"][missing].tolist())
    return target, flag
