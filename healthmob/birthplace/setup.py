"""Birthplace in a run: when it applies, the start that holds the foreign-born, the account.

The account needs the UN DESA stocks, so it applies to runs whose ``[mobility] layers``
include the world ``migration`` layer (and ``[birthplace] enabled`` is true). Its arrivals
are the migration layer's flows, its departures the ``return`` layer's.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import numpy as np
import pandas as pd

from ..disease.compile import CompiledModel
from ..disease.schedule import Schedule
from ..disease.selection import CorridorWeights, selection_weights
from ..disease.spec import ModelSpec
from ..mobility.config import MobilityConfig
from ..mobility.matrix import Mobility
from ..mobility.world import read_world_table
from .account import RETURN_LAYER, Account, StartCohorts, run_account, start_cohorts
from .config import BirthplaceConfig

log = logging.getLogger(__name__)
MIGRATION_LAYER = "migration"


def applies(cfg: BirthplaceConfig, mobility: MobilityConfig) -> bool:
    """True when the run counts the foreign-born (module docstring)."""
    return cfg.enabled and MIGRATION_LAYER in mobility.layers


def decimal_year(day: dt.date) -> float:
    """``2022-07-02`` -> 2022.5 (days of the year / 365.25)."""
    return day.year + (day.timetuple().tm_yday - 1) / 365.25


def foreign_born_start(cfg: BirthplaceConfig, mobility_cfg: MobilityConfig,
                       mobility: Mobility, places: pd.DataFrame, compiled: CompiledModel,
                       state: np.ndarray, force: np.ndarray, start: dt.date,
                       weights: np.ndarray | None = None) -> tuple[StartCohorts, np.ndarray]:
    """:func:`.account.start_cohorts` for a run: the stocks of ``geo/migration.csv``, the
    regions of ``region_column``, the returns of the ``return`` layer and ``weights``, who
    migrates on the ``migration`` layer."""
    t0 = time.perf_counter()
    migration = mobility_cfg.layer(MIGRATION_LAYER)
    column = cfg.regions_from(places.columns)
    regions = (places[column].fillna("").astype(str).to_numpy() if column is not None
               else np.full(len(places), ""))
    returns = mobility.layers.get(RETURN_LAYER)
    leaving = (np.asarray(returns.flow.sum(axis=1)).ravel() if returns is not None
               else np.zeros(len(places)))
    cohorts, new_state = start_cohorts(
        compiled, state, force, read_world_table("migration"), list(places["id"]), regions,
        leaving, cfg, decimal_year(start), migration.return_rate_per_year,
        migration.death_rate_per_year, weights)
    share = cohorts.cohorts.sum() / new_state.sum()
    log.info("birthplace: %.1f M foreign-born at the start (%.1f %% of the population), %d "
             "groups of origin per place, %d slots of years since entry (%.2f s)",
             cohorts.cohorts.sum() / 1e6, 100 * share, cohorts.groups.n_groups,
             cfg.n_slots, time.perf_counter() - t0)
    return cohorts, new_state


def account_of_run(models: Schedule, trajectory, coupling, mobility: Mobility,
                   start: StartCohorts, weights: dict) -> Account:
    """:func:`.account.run_account` of a deterministic trajectory; ``models``: the model of
    each day; ``weights``: who moves on each relocation layer
    (:func:`layer_weights`)."""
    t0 = time.perf_counter()
    forces = np.stack([coupling.force(models.at(t), x)
                       for t, x in zip(trajectory.times, trajectory.state)])
    arrivals = [(layer.flow.toarray(), weights.get(name))
                for name, layer in mobility.layers.items()
                if layer.coupling == "relocation" and name != RETURN_LAYER and layer.flow.nnz]
    account = run_account(models, trajectory.times, trajectory.state,
                          trajectory.tally_rates, forces, start, arrivals)
    log.info("birthplace account: %d periods (%.2f s)", len(account.edges) - 1,
             time.perf_counter() - t0)
    return account


def return_weights(cohorts: StartCohorts, state: np.ndarray) -> CorridorWeights:
    """Who the ``return`` layer moves (P, C) per corridor: on host j -> country of birth i,
    the people born in i living in j, relative to j's whole state; a corridor without a
    UN DESA stock moves j's foreign-born of every origin together."""
    total = state / np.maximum(state.sum(axis=1, keepdims=True), 1e-300)

    def relative(persons, host):
        share = persons / np.maximum(persons.sum(axis=1, keepdims=True), 1e-300)
        return np.divide(share, total[host], out=np.zeros_like(share), where=total[host] > 0)

    return CorridorWeights(cohorts.living, cohorts.born,
                           relative(cohorts.emigrants, cohorts.living),
                           relative(cohorts.cohorts.sum(axis=(1, 2)), np.arange(len(state))))


def layer_weights(spec: ModelSpec, mobility_cfg: MobilityConfig, mobility: Mobility,
                  compiled: CompiledModel, state: np.ndarray,
                  cohorts: StartCohorts | None) -> dict:
    """Who moves on each relocation layer: weights (P, C) per layer (empty: a random sample).

    A layer's ``category`` gives the model's selection factors
    (:func:`healthmob.disease.selection.selection_weights`) at the start state; the
    ``return`` layer takes each origin's own emigrants home, with their composition at the
    start (:func:`return_weights`).
    """
    out = {}
    for name, layer in mobility.layers.items():
        if layer.coupling != "relocation" or not layer.flow.nnz:
            continue
        if name == RETURN_LAYER and cohorts is not None:
            out[name] = return_weights(cohorts, state)
            continue
        category = mobility_cfg.layer(name).category
        if category in spec.selection:
            out[name] = selection_weights(spec, compiled.values, state, category)
    return out
