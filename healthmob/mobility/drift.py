"""Population drift: how much the relocation layers change each place's population in a run.

Engines replace deaths by births place by place, so over a run a population changes only by
its net relocation (migrant inflows minus returns and emigration). Over ``years`` that is

    change_j = years * 365.25 * (sum_i F_ij - sum_k F_jk) / N_j

for the relocation flows F (persons/day). The check compares it with what the place's
population actually did over the 20 years before the data (World Bank, 2002 to 2022,
births and deaths included): a change larger than ``max(|observed|, tolerance)`` is flagged
with its stated reason, the corridor with the largest net flow. The UN World Population
Prospects projections are not embedded, so the observed history is the yardstick.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..units import DAYS_PER_YEAR
from .matrix import Mobility

log = logging.getLogger(__name__)

TOLERANCE = 0.05
"""Smallest allowed change (fraction of the population) over the horizon."""


def population_drift(mobility: Mobility, places: pd.DataFrame, years: float = 20.0,
                     tolerance: float = TOLERANCE) -> pd.DataFrame:
    """Relative population change from relocation over ``years``, place by place.

    Parameters
    ----------
    mobility : Mobility
    places : DataFrame
        ``id``, ``population`` and, when present, ``population_2002`` (the population 20
        years before the data, for the allowance).
    years : float
        Horizon (years).
    tolerance : float
        Smallest allowance (fraction).

    Returns
    -------
    DataFrame
        One row per place: ``id``, ``change`` (fraction of today's population),
        ``observed`` (World Bank 2002-2022 change, NaN without it), ``flagged`` (``|change|``
        above ``max(|observed|, tolerance)``) and ``reason`` (for flagged places: the
        corridor with the largest net flow and its persons a year).
    """
    flow = mobility.total_flow("relocation")
    inflow = np.asarray(flow.sum(axis=0)).ravel()
    outflow = np.asarray(flow.sum(axis=1)).ravel()
    population = places["population"].to_numpy(dtype=float)
    change = years * DAYS_PER_YEAR * (inflow - outflow) / population
    if "population_2002" in places:
        before = pd.to_numeric(places["population_2002"], errors="coerce").to_numpy(float)
        observed = population / before - 1.0
    else:
        observed = np.full(len(places), np.nan)
    allowance = np.fmax(np.abs(observed), tolerance)
    flagged = np.abs(change) > allowance
    net = sp.csc_array(flow - flow.T) * DAYS_PER_YEAR      # sparse: N can be 30,000
    net.sort_indices()
    ids = list(mobility.place_ids)
    reasons = [""] * len(ids)
    for j in np.flatnonzero(flagged):
        rows = net.indices[net.indptr[j]:net.indptr[j + 1]]
        values = net.data[net.indptr[j]:net.indptr[j + 1]]
        if not len(values):
            continue
        k = int(np.argmax(np.abs(values)))
        direction = f"from {ids[rows[k]]}" if values[k] > 0 else f"to {ids[rows[k]]}"
        reasons[j] = (f"net migration {direction}: {abs(values[k]):,.0f} persons a year "
                      "(UN DESA stock change in the reference period)")
    return pd.DataFrame({"id": ids, "change": change, "observed": observed,
                         "flagged": flagged, "reason": reasons})


def warn_drift(mobility: Mobility, places, years: float) -> None:
    """Log the places whose population the relocation layers change more than their own
    2002-2022 history did (:func:`healthmob.mobility.drift.population_drift`)."""
    drift = population_drift(mobility, places, years)
    flagged = drift[drift["flagged"]].sort_values("change")
    if len(flagged):
        log.warning("population drift over %.0f years: %d places change by more than over "
                    "2002-2022 (or 5%%): %s", years, len(flagged), "; ".join(
                        f"{r.id} {r.change:+.0%} ({r.reason})" for r in flagged.itertuples()))
