"""Who is foreign-born, since when and from where: the cohort account of a run.

:func:`start_cohorts` splits each destination's UN DESA foreign-born stock by country of
birth and years since entry and gives every cohort the state of its origin at arrival,
carried through the destination's chain for its years since entry (latent infection
stabilises, reactivation goes on); the metapopulation start is then the native-born at
their own calibrated state plus these cohorts. :func:`run_account` follows the cohorts
through the run, year by year (:mod:`.cohorts`), with the arrivals of the relocation layers
and the departures of the ``return`` layer, in each destination's own force of infection
from the run; the native-born are the rest of the place. ``docs/architecture.md`` says why
an account and not strata in the state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..disease.compile import CompiledModel
from ..disease.schedule import Schedule
from ..disease.selection import travellers
from ..units import DAYS_PER_YEAR
from .cohorts import CohortYear, advance_year, propagator, propagators, tally_matrix
from .config import BirthplaceConfig
from .stocks import entry_cohorts

RETURN_LAYER = "return"
FORCE_TOLERANCE = 0.05
"""Relative change of a destination's force of infection or of one of its transition rates
that recomputes its propagator."""
OPEN_SLOT_YEARS = 15.0
"""Years since entry at which the open slot's members get their state at the start."""


@dataclass(frozen=True)
class OriginGroups:
    """Each destination's groups of countries of birth.

    Attributes
    ----------
    index : ndarray of int, shape (P, P)
        ``index[j, i]``: group of origin i in destination j (-1: no migrants from i).
    labels : ndarray of str, shape (P, G)
        Group names per destination: an origin id, ``"region:<value>"``, or ``""`` (unused).
    """

    index: np.ndarray
    labels: np.ndarray

    @property
    def n_groups(self) -> int:
        return self.labels.shape[1]


@dataclass(frozen=True)
class StartCohorts:
    """The foreign-born at the start, and what their account needs.

    Attributes
    ----------
    cohorts : ndarray, shape (P, G, S, C)
        Persons by destination, origin group, slot of years since entry and compartment.
    groups : OriginGroups
    hazard : ndarray, shape (P,)
        Return hazard of the foreign-born of each destination (1/day).
    born, living : ndarray of int, shape (R,)
        Country of birth and place of residence of each corridor's emigrants, sorted by
        residence then birth.
    emigrants : ndarray, shape (R, C)
        Persons born in ``born`` living in ``living`` at the start, by compartment (summed
        over the slots): who the ``return`` layer takes home.
    """

    cohorts: np.ndarray
    groups: OriginGroups
    hazard: np.ndarray
    born: np.ndarray
    living: np.ndarray
    emigrants: np.ndarray


def stock_matrix(stocks: pd.DataFrame, ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of ``stocks`` as (origin, destination) place indices (-1 outside)."""
    position = pd.Series(np.arange(len(ids)), index=ids)
    origin = stocks["origin"].map(position).fillna(-1).to_numpy(dtype=int)
    destination = stocks["destination"].map(position).fillna(-1).to_numpy(dtype=int)
    return origin, destination


def origin_groups(stock: np.ndarray, regions: np.ndarray, ids: list[str],
                  cfg: BirthplaceConfig) -> OriginGroups:
    """Groups of countries of birth per destination.

    Parameters
    ----------
    stock : ndarray, shape (P, P)
        ``stock[i, j]``: persons born in i living in j at the start.
    regions : ndarray of str, shape (P,)
        Region of each place (``region_column``; ``""`` where missing).
    ids : list of str
    cfg : BirthplaceConfig
        ``origins`` (fixed list) or ``top_origins`` (largest stocks of each destination).
    """
    n = len(ids)
    region_names = sorted({r for r in regions if r}) + ["unknown"]
    named = len(cfg.origins) if cfg.origins else cfg.top_origins
    labels = np.full((n, named + len(region_names)), "", dtype=object)
    index = np.full((n, n), -1, dtype=int)
    for j in range(n):
        present = np.flatnonzero(stock[:, j] > 0)
        if cfg.origins:
            chosen = [ids.index(pid) for pid in cfg.origins if ids.index(pid) in set(present)]
        else:
            chosen = list(present[np.argsort(-stock[present, j], kind="stable")][:named])
        for g, i in enumerate(chosen):
            index[j, i], labels[j, g] = g, ids[i]
        for i in present:
            if index[j, i] < 0:
                region = regions[i] or "unknown"
                g = named + region_names.index(region)
                index[j, i], labels[j, g] = g, f"region:{region}"
    return OriginGroups(index, labels.astype(str))


def start_cohorts(compiled: CompiledModel, state: np.ndarray, force: np.ndarray,
                  stocks: pd.DataFrame, ids: list[str], regions: np.ndarray,
                  return_flow: np.ndarray, cfg: BirthplaceConfig, start_year: float,
                  return_rates: dict, death_rate: float,
                  weights: np.ndarray | None = None) -> tuple[StartCohorts, np.ndarray]:
    """The foreign-born at the start and the metapopulation start that holds them.

    Parameters
    ----------
    compiled : CompiledModel
    state : ndarray, shape (P, C)
        Each place at its own (calibrated) state: the native-born's composition.
    force : ndarray, shape (P, K)
        Force of infection in each place at that state (1/day).
    stocks : DataFrame
        ``geo/migration.csv``.
    ids : list of str
        Place ids in engine order.
    regions : ndarray of str
        Region of each place.
    return_flow : ndarray, shape (P,)
        Persons/day leaving each destination on the ``return`` layer.
    cfg : BirthplaceConfig
    start_year : float
        Decimal year of the start.
    return_rates, death_rate
        ``[mobility.migration]`` settings (the stock accounting of
        :mod:`healthmob.mobility.migration_flows`).
    weights : ndarray, shape (P, C), optional
        Who migrates from each origin (the migration layer's selection weights): the
        cohorts' state at arrival is ``weights * x`` of their origin, normalised.

    Returns
    -------
    StartCohorts
    ndarray, shape (P, C)
        The start: native-born (``state``'s composition, population minus the foreign-born)
        plus the cohorts; each place keeps its population.
    """
    n, n_comp = state.shape
    origin, destination = stock_matrix(stocks, ids)
    keep = (origin >= 0) & (destination >= 0) & (origin != destination)
    slots = entry_cohorts(stocks[keep], start_year, cfg.n_slots, return_rates, death_rate)
    origin, destination = origin[keep], destination[keep]
    population = state.sum(axis=1)
    stock = np.zeros((n, n))
    np.add.at(stock, (origin, destination), slots.sum(axis=1))
    # the foreign-born are at most 95 % of a place (UN DESA and World Bank years differ)
    foreign = stock.sum(axis=0)
    shrink = np.where(foreign > 0.95 * population, 0.95 * population / np.maximum(foreign, 1),
                      1.0)
    slots *= shrink[destination][:, None]
    stock *= shrink[None, :]
    groups = origin_groups(stock, regions, ids, cfg)
    composition = state / np.maximum(population, 1e-300)[:, None]
    arriving = composition if weights is None else composition * weights
    hazard = np.where(stock.sum(axis=0) > 0, return_flow / np.maximum(stock.sum(axis=0), 1), 0)
    cohorts = np.zeros((n, groups.n_groups, cfg.n_slots, n_comp))
    keys, pair = np.unique(destination.astype(np.int64) * n + origin, return_inverse=True)
    emigrants = np.zeros((len(keys), n_comp))
    for j in np.unique(destination):
        rows = np.flatnonzero(destination == j)
        chain = compiled.generator(int(j), force[j]) - hazard[j] * np.eye(n_comp)
        year = propagator(chain, DAYS_PER_YEAR)
        carry = [year.half]                      # s + 1/2 years since entry
        for _ in range(cfg.n_slots - 2):
            carry.append(carry[-1] @ year.full)
        carry.append(np.linalg.matrix_power(year.full, int(OPEN_SLOT_YEARS)))
        for s, matrix in enumerate(carry):
            carried = arriving[origin[rows]] @ matrix
            carried /= np.maximum(carried.sum(axis=1, keepdims=True), 1e-300)
            np.add.at(cohorts[j, :, s], groups.index[j, origin[rows]],
                      slots[rows, s][:, None] * carried)
            np.add.at(emigrants, pair.ravel()[rows], slots[rows, s][:, None] * carried)
    natives = (population - stock.sum(axis=0))[:, None] * composition
    start = StartCohorts(cohorts, groups, hazard, (keys % n).astype(np.intp),
                         (keys // n).astype(np.intp), emigrants)
    return start, natives + cohorts.sum(axis=(1, 2))


@dataclass(frozen=True)
class Account:
    """The foreign-born of a run, period by period (years from the start).

    Attributes
    ----------
    edges : ndarray, shape (Y + 1,)
        Period edges (days since the start).
    population : ndarray, shape (Y, P, G, S)
        Foreign-born persons at the start of each period.
    tallies : ndarray, shape (Y, P, G, S, n_tally)
        Tallied flows of the foreign-born in each period (persons per period).
    arrivals : ndarray, shape (Y, P, G)
        Persons arriving in each period.
    native_population : ndarray, shape (Y, P)
        Native-born persons at the start of each period (the place minus the foreign-born).
    native_tallies : ndarray, shape (Y, P, n_tally)
        Tallied flows of the native-born in each period.
    groups : OriginGroups
    """

    edges: np.ndarray
    population: np.ndarray
    tallies: np.ndarray
    arrivals: np.ndarray
    native_population: np.ndarray
    native_tallies: np.ndarray
    groups: OriginGroups


def period_edges(duration_days: float) -> np.ndarray:
    """Edges of the account's periods: whole years, the last one shorter (at least a day)."""
    edges = np.arange(0.0, duration_days, DAYS_PER_YEAR)
    if duration_days - edges[-1] >= 1.0 or len(edges) == 1:
        edges = np.append(edges, duration_days)
    else:
        edges[-1] = duration_days
    return edges


def run_account(models: Schedule, times: np.ndarray, states: np.ndarray,
                tally_rates: np.ndarray, forces: np.ndarray, start: StartCohorts,
                arrivals: list[tuple[np.ndarray, np.ndarray | None]]) -> Account:
    """Follow the foreign-born through a run.

    Parameters
    ----------
    models : Schedule
        The model of each day of the run (each period uses the one of its first day).
    times : ndarray, shape (T,)
        Output times of the run (days since the start).
    states : ndarray, shape (T, P, C)
        The metapopulation state at those times.
    tally_rates : ndarray, shape (T, P, n_tally)
        Tallied flows (persons/day) at those times.
    forces : ndarray, shape (T, P, K)
        Force of infection at those times (1/day).
    start : StartCohorts
    arrivals : list of (flow, weights)
        The relocation layers that bring migrants (all but ``return``): ``flow`` (P, P)
        persons/day from origin (row) to destination (column), ``weights`` (P, C) the
        relative propensity to migrate of each compartment in each origin (selection; None
        for a random sample).
    """
    edges = period_edges(float(times[-1]))
    n_years, (n, n_groups, n_slots, n_comp) = len(edges) - 1, start.cohorts.shape
    n_tally = tally_rates.shape[2]
    cohorts = start.cohorts.copy()
    out_pop = np.zeros((n_years, n, n_groups, n_slots))
    out_tally = np.zeros((n_years, n, n_groups, n_slots, n_tally))
    out_arrivals = np.zeros((n_years, n, n_groups))
    cached: dict[int, tuple] = {}
    inflow = sum((flow.sum(axis=0) for flow, _ in arrivals), np.zeros(n))
    receiving = np.flatnonzero((inflow > 0) | (cohorts.sum(axis=(1, 2, 3)) > 0))
    for y in range(n_years):
        lo, hi = edges[y], edges[y + 1]
        inside = (times >= lo) & (times < hi) if hi > lo else times == lo
        force = (forces[inside].mean(axis=0) if inside.any()
                 else _state_at(times, forces, 0.5 * (lo + hi)))
        at = _state_at(times, states, lo)
        leaving = [(flow, travellers(at, weights)) for flow, weights in arrivals]
        compiled = models.at(lo)
        _refresh(compiled, cached, receiving, force, start.hazard, hi - lo)
        for j in receiving:
            step = cached[j][1]
            entering = sum(_arrivals(flow[:, j] * (hi - lo), composition,
                                     start.groups.index[j], n_groups)
                           for flow, composition in leaving) + np.zeros((n_groups, n_comp))
            cohorts[j], year = advance_year(cohorts[j], entering, step,
                                            tally_matrix(compiled, j, force[j]))
            _store(out_pop, out_tally, out_arrivals, y, j, year)
    native_pop = _state_at_many(times, states, edges[:-1]).sum(axis=2) - out_pop.sum(axis=(2, 3))
    native_tally = _integrals(times, tally_rates, edges) - out_tally.sum(axis=(2, 3))
    return Account(edges, out_pop, out_tally, out_arrivals, native_pop, native_tally,
                   start.groups)


def _refresh(compiled: CompiledModel, cached: dict, places: np.ndarray, force: np.ndarray,
             hazard: np.ndarray, days: float) -> None:
    """Recompute, all at once, the propagators of the destinations whose force of
    infection or transition rates (a history start changes them every year) moved by more
    than :data:`FORCE_TOLERANCE` since their propagator was made, or whose step length
    changed."""
    stale = []
    for j in places:
        known = cached.get(j)
        if known is None or known[2] != days or _moved(force[j], known[0]) or _moved(
                compiled.tr_rate[j], known[3]):
            stale.append(j)
    if not stale:
        return
    eye = np.eye(compiled.n_compartments)
    chains = np.stack([compiled.generator(int(j), force[j]) - hazard[j] * eye for j in stale])
    for j, step in zip(stale, propagators(chains, days)):
        cached[j] = (force[j].copy(), step, days, compiled.tr_rate[j].copy())


def _moved(now: np.ndarray, then: np.ndarray) -> bool:
    return bool(np.any(np.abs(now - then) > FORCE_TOLERANCE * np.maximum(np.abs(then), 1e-12)))


def _arrivals(persons: np.ndarray, leaving: np.ndarray, group: np.ndarray,
              n_groups: int) -> np.ndarray:
    """Arrivals (G, C) of a destination from ``persons`` per origin in the period."""
    out = np.zeros((n_groups, leaving.shape[1]))
    sends = np.flatnonzero((persons > 0) & (group >= 0))
    np.add.at(out, group[sends], persons[sends][:, None] * leaving[sends])
    return out


def _store(out_pop, out_tally, out_arrivals, y: int, j: int, year: CohortYear) -> None:
    out_pop[y, j] = year.population
    out_tally[y, j] = year.tallies
    out_arrivals[y, j] = year.arrivals


def _state_at(times: np.ndarray, states: np.ndarray, t: float) -> np.ndarray:
    """The state (P, C) at time t, linear between output times."""
    return _state_at_many(times, states, np.array([t]))[0]


def _state_at_many(times: np.ndarray, states: np.ndarray, at: np.ndarray) -> np.ndarray:
    k = np.clip(np.searchsorted(times, at, side="right") - 1, 0, len(times) - 2)
    span = np.maximum(times[k + 1] - times[k], 1e-300)
    w = np.clip((at - times[k]) / span, 0.0, 1.0)[:, None, None]
    return states[k] * (1 - w) + states[k + 1] * w


def _integrals(times: np.ndarray, rates: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Trapezoid integrals (Y, P, n_tally) of ``rates`` (T, P, n_tally) over each period."""
    grid = np.union1d(times, edges)
    values = _state_at_many(times, rates, grid)
    cumulative = np.concatenate([np.zeros((1, *values.shape[1:])), np.cumsum(
        0.5 * (values[1:] + values[:-1]) * np.diff(grid)[:, None, None], axis=0)])
    at = np.searchsorted(grid, edges)
    return cumulative[at[1:]] - cumulative[at[:-1]]
