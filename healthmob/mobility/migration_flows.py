"""Migrant flows from the UN DESA stock series: arrivals that keep each stock on its path, and
the returns that empty it.

For the stock ``S_ij`` of people born in i living in j, over the UN DESA interval
``[t0, t1]`` that holds the reference year,

    inflow_ij = max(0, (S_ij(t1) - S_ij(t0)) / (t1 - t0) + (r_j + mu) * S_ij(ref))
    return_ji = r_j * S_ij(ref)

persons a year, with ``S_ij(ref)`` interpolated linearly at the reference year, ``mu`` the
migrants' death rate (``death_rate_per_year``) and ``r_j`` the return rate of the
destination's group (``return_rate_per_year``): the stock's growth plus the replacement of
those who die or return (the demographic accounting of stock differences; Abel & Cohen 2019
compare it with other methods). The inflow is the ``migration`` layer (i -> j), the return
the ``return`` layer (j -> i), both relocation flows, so the net movement on a corridor is
the stock's growth plus its deaths, and a stable stock moves no one net.

Return rates are per migrant of the stock, not of an arrival cohort (cohort rates are higher
in the first years and fall with time since arrival): see ``geo/MOBILITY.md`` for the
sources of each group's value. The stocks of Palestine refugees registered by UNRWA in
Jordan, Lebanon and Syria (:data:`DESCENDANT_STOCKS`) grow by the births of refugees'
descendants, not by migration: they carry no flows.

References
----------
Abel GJ, Cohen JE (2019). Bilateral international migration flow estimates for 200
countries. Sci Data 6:82.
United Nations DESA Population Division (2024). International Migrant Stock 2024.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GROUPS = {
    "gulf": ("ARE", "BHR", "KWT", "OMN", "QAT", "SAU"),
    "settlement": ("AUS", "CAN", "NZL", "USA"),
    "europe": ("AUT", "BEL", "BGR", "CHE", "CYP", "CZE", "DEU", "DNK", "ESP", "EST", "FIN",
               "FRA", "GBR", "GRC", "HRV", "HUN", "IRL", "ISL", "ITA", "LTU", "LUX", "LVA",
               "MLT", "NLD", "NOR", "POL", "PRT", "ROU", "SVK", "SVN", "SWE"),
}
"""Destination groups of the return rates; every other destination is ``other``."""
DESCENDANT_STOCKS = {("PSE", "JOR"), ("PSE", "LBN"), ("PSE", "SYR")}
"""(origin, destination) stocks counted by descent (UNRWA-registered refugees)."""


def destination_group(place_id: str) -> str:
    """The return-rate group of a destination (:data:`GROUPS`, else ``other``)."""
    for group, members in GROUPS.items():
        if place_id in members:
            return group
    return "other"


def stock_dates(stocks: pd.DataFrame) -> list[int]:
    """The UN DESA dates of the ``stock_<year>`` columns, in order."""
    return sorted(int(c[6:]) for c in stocks.columns if c.startswith("stock_"))


def stock_and_growth(stocks: pd.DataFrame, year: float) -> tuple[np.ndarray, np.ndarray]:
    """Every corridor's stock at ``year`` and its growth (persons a year), linear over the
    UN DESA interval that holds ``year`` (the first or last interval outside the dates)."""
    dates = stock_dates(stocks)
    k = int(np.clip(np.searchsorted(dates, year, side="right") - 1, 0, len(dates) - 2))
    t0, t1 = dates[k], dates[k + 1]
    s0 = stocks[f"stock_{t0}"].to_numpy(dtype=float)
    change = stocks[f"stock_{t1}"].to_numpy(dtype=float) - s0
    return s0 + change * (year - t0) / (t1 - t0), change / (t1 - t0)


def corridor_return_rates(stocks: pd.DataFrame, return_rates: dict[str, float]) -> np.ndarray:
    """Return rate per year of every corridor, by its destination's group."""
    rates = stocks["destination"].map(lambda pid: return_rates[destination_group(pid)])
    return rates.to_numpy(dtype=float)


def by_descent(stocks: pd.DataFrame) -> np.ndarray:
    """Which corridors are stocks counted by descent (:data:`DESCENDANT_STOCKS`)."""
    return np.array([(o, d) in DESCENDANT_STOCKS for o, d in
                     zip(stocks["origin"], stocks["destination"])], dtype=bool)


def stock_flows(stocks: pd.DataFrame, year: int, return_rates: dict[str, float],
                death_rate: float) -> pd.DataFrame:
    """Yearly migrant inflows and returns of every corridor of ``geo/migration.csv``.

    Parameters
    ----------
    stocks : DataFrame
        ``origin, destination, stock_<year>...`` (persons).
    year : int
        Reference year, within the stock dates.
    return_rates : dict
        Returns per year per migrant, by destination group (:data:`GROUPS` and ``other``).
    death_rate : float
        Deaths per year per migrant.

    Returns
    -------
    DataFrame
        ``origin, destination`` (birth -> residence), ``stock`` (at the reference year),
        ``inflow_per_year`` and ``return_per_year`` (persons), aligned with ``stocks``.
    """
    stock, growth = stock_and_growth(stocks, year)
    rate = corridor_return_rates(stocks, return_rates)
    inflow = np.maximum(0.0, growth + (rate + death_rate) * stock)
    returns = rate * stock
    descent = by_descent(stocks)
    inflow[descent] = 0.0
    returns[descent] = 0.0
    return pd.DataFrame({"origin": stocks["origin"].to_numpy(),
                         "destination": stocks["destination"].to_numpy(), "stock": stock,
                         "inflow_per_year": inflow, "return_per_year": returns})
