"""The foreign-born at the start: UN DESA stocks by origin, split by years since entry.

For each corridor (born in i, living in j) the stock at the start year is interpolated
linearly between the UN DESA dates (1990-2024; extrapolated from the last interval past
2024). Its members are split by completed years since entry ``s = 0, 1, ..., n - 2`` and an
open slot for the rest: a slot holds the arrivals of its year that are still there,

    cohort_s = inflow(start - s - 1/2) * exp(-(r_j + mu) (s + 1/2)),

with the yearly inflow of the stock-change accounting of
:mod:`healthmob.mobility.migration_flows` over the UN DESA interval holding that year, and
the open slot takes the rest of the stock. Where the recent cohorts add up to more than
the stock (a stock that fell), they are scaled down to it and the open slot is empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..mobility.migration_flows import by_descent, corridor_return_rates, stock_and_growth


def stock_at(stocks: pd.DataFrame, year: float) -> np.ndarray:
    """Stock of every corridor at ``year``, linear between dates (and beyond the last)."""
    return np.maximum(stock_and_growth(stocks, year)[0], 0.0)


def inflow_at(stocks: pd.DataFrame, year: float, rates: np.ndarray,
              death_rate: float) -> np.ndarray:
    """Yearly inflow of every corridor at ``year``: growth + (return + death) x stock."""
    growth = stock_and_growth(stocks, year)[1]
    return np.maximum(growth + (rates + death_rate) * stock_at(stocks, year), 0.0)


def entry_cohorts(stocks: pd.DataFrame, start_year: float, n_slots: int,
                  return_rates: dict[str, float], death_rate: float) -> np.ndarray:
    """Persons of every corridor at the start by slot of years since entry.

    Parameters
    ----------
    stocks : DataFrame
        ``geo/migration.csv`` rows (``origin, destination, stock_<year>...``).
    start_year : float
        Decimal year of the run's start.
    n_slots : int
        Slots ``0 .. n_slots - 2`` (completed years since entry) and the open slot.
    return_rates : dict
        Return rate per year by destination group (``[mobility.migration]``).
    death_rate : float
        Deaths per migrant per year.

    Returns
    -------
    ndarray, shape (rows, n_slots)
        Persons; each row sums to the corridor's stock at ``start_year`` (0 for the stocks
        counted by descent, :data:`~healthmob.mobility.migration_flows.DESCENDANT_STOCKS`).
    """
    rates = corridor_return_rates(stocks, return_rates)
    total = stock_at(stocks, start_year)
    descent = by_descent(stocks)
    total[descent] = 0.0
    recent = np.zeros((len(stocks), n_slots - 1))
    for s in range(n_slots - 1):
        age = s + 0.5
        recent[:, s] = inflow_at(stocks, start_year - age, rates, death_rate) * np.exp(
            -(rates + death_rate) * age)
    recent[descent] = 0.0
    summed = recent.sum(axis=1)
    scale = np.where(summed > total, total / np.where(summed > 0, summed, 1.0), 1.0)
    recent *= scale[:, None]
    return np.column_stack([recent, total - recent.sum(axis=1)])
