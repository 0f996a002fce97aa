"""Travel totals per country from counts: the margins the air and land layers are fitted to.

For each place, the reference year's

* **arrivals by air and by land** at the destination: overnight visitors (tourists), the UN
  Tourism count. Countries report arrivals by mode on different bases (all visitors,
  overnight visitors, visitors in hotels); the mode counts are turned into overnight
  visitors by taking the same-day visitors (``by mode - overnight``) off the land count,
  then the water count, where the by-mode total includes them. A destination whose mode
  counts cannot be made overnight visitors this way (more than 5 % left over), or that
  reports no mode split, is imputed. Water arrivals (cruise and ferry) are not modelled.
* **departures** of the origin's residents over all modes: overnight departures, else
  total departures times the median overnight share of the country-years that report both.

A value comes from the reference year, else the nearest year within ``YEAR_WINDOW`` (the
earlier on a tie; 2020-2022 are skipped for a reference year before 2020: COVID). Where no
year has a value, a total is imputed by a least-squares regression of its logarithm on the
logarithms of population, of the place's airline routes (the airport-capacity proxy: no GDP
table is embedded) and of the population of its land neighbours, with a WHO-region
intercept; the air share of a bordered destination is the median share of its sub-region.
The error of each imputation is measured by leave-one-out over the countries with data
(``Margins.errors``) and documented in ``geo/MOBILITY.md``.

Arrivals count visits, not persons: a resident of i on three trips to j in a year is three
arrivals. A layer's flow i -> j in persons/day is visits per day; each visitor returns after
the layer's ``stay_days`` (the visiting coupling), so returning residents are the return leg
of the same visit and are not counted again.

References
----------
UN Tourism (2022). Key tourism statistics, 1995-2022 (``geo/tourism.csv``).
UN Statistics Division (2010). International Recommendations for Tourism Statistics 2008
(visitors, tourists, same-day visitors).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataError
from ..units import DAYS_PER_YEAR

YEAR_WINDOW = 3
COVID_YEARS = (2020, 2021, 2022)
SAME_DAY_TOLERANCE = 0.05
KEYS = ("air", "land", "departures")


@dataclass(frozen=True)
class Margins:
    """Yearly travel totals per place (persons/day) and where each comes from.

    Attributes
    ----------
    place_ids : tuple of str
    values : dict of str to ndarray
        ``air``, ``land`` (arrivals of overnight visitors at the destination) and
        ``departures`` (residents' overnight trips abroad), persons per day.
    source : dict of str to ndarray of str
        ``counted`` (UN Tourism), ``imputed`` (regression), ``user_file``, or ``none`` (land
        arrivals of a place without a land border: 0), per value.
    year : dict of str to ndarray of int
        Year of each counted value (0 where imputed or from a user file).
    errors : dict of str to dict
        Leave-one-out error of each imputation (:func:`factor_errors` of the left-out
        estimate against the count): ``n`` countries with a count, ``median_factor`` and
        ``p90_factor``.
    """

    place_ids: tuple
    values: dict
    source: dict
    year: dict
    errors: dict = field(default_factory=dict)


def select_year(table: pd.DataFrame, column: str, reference_year: int) -> pd.DataFrame:
    """Per country, the value of ``column`` in the year nearest ``reference_year``.

    Returns
    -------
    DataFrame
        Indexed by ``iso3``: ``value`` (persons per year) and ``year``.
    """
    years = [reference_year]
    for step in range(1, YEAR_WINDOW + 1):
        years += [reference_year - step, reference_year + step]
    if reference_year < COVID_YEARS[0]:
        years = [y for y in years if y not in COVID_YEARS]
    rank = {year: k for k, year in enumerate(years)}
    rows = table[table["year"].isin(rank) & table[column].notna()]
    rows = rows.assign(rank=rows["year"].map(rank)).sort_values("rank")
    first = rows.drop_duplicates("iso3").set_index("iso3")
    return pd.DataFrame({"value": first[column].astype(float), "year": first["year"]})


def overnight_by_mode(table: pd.DataFrame, reference_year: int) -> pd.DataFrame:
    """Overnight-visitor arrivals per destination: the total, and by air and land.

    Returns
    -------
    DataFrame
        Indexed by ``iso3``: ``total`` (overnight visitors, all modes), ``air`` and ``land``
        (NaN where the mode counts could not be made overnight visitors, module docstring)
        and ``year`` (persons per year).
    """
    rows = []
    for pick in select_year(table, "arrivals_overnight", reference_year).itertuples():
        rows.append((pick.Index, pick.value, np.nan, np.nan, pick.year))
    known = {r[0] for r in rows}
    for pick in select_year(table, "arrivals_total", reference_year).itertuples():
        row = _row(table, pick)
        if pick.Index not in known and (row["series"] != "VF" or pd.notna(
                row["arrivals_same_day"])):
            same_day = row["arrivals_same_day"] if pd.notna(row["arrivals_same_day"]) else 0
            rows.append((pick.Index, pick.value - same_day, np.nan, np.nan, pick.year))
    out = pd.DataFrame(rows, columns=["iso3", "total", "air", "land", "year"])
    out = out.set_index("iso3")
    for pick in select_year(table, "arrivals_by_mode", reference_year).itertuples():
        split = _mode_split(_row(table, pick))
        if split is None:
            continue
        air, land, overnight = split
        if pick.Index not in out.index or not np.isfinite(out.at[pick.Index, "total"]):
            out.loc[pick.Index, ["total", "year"]] = [overnight, pick.year]
        out.loc[pick.Index, ["air", "land"]] = [air, land]
    out["year"] = out["year"].astype(int)
    return out


def _row(table: pd.DataFrame, pick) -> pd.Series:
    return table[(table["iso3"] == pick.Index) & (table["year"] == pick.year)].iloc[0]


def _mode_split(row: pd.Series) -> tuple[float, float, float] | None:
    """(air, land, overnight) of a tourism row's mode counts as overnight visitors, or None."""
    parts = {m: float(row[f"arrivals_{m}"]) if pd.notna(row[f"arrivals_{m}"]) else 0.0
             for m in ("air", "water", "land")}
    by_mode = float(row["arrivals_by_mode"])
    if by_mode <= 0 or abs(sum(parts.values()) - by_mode) > SAME_DAY_TOLERANCE * by_mode:
        return None
    overnight = _overnight(row)
    excess = by_mode - overnight if np.isfinite(overnight) else 0.0
    for m in ("land", "water"):
        take = min(max(excess, 0.0), parts[m])
        parts[m] -= take
        excess -= take
    if excess > SAME_DAY_TOLERANCE * by_mode:
        return None
    return parts["air"], parts["land"], sum(parts.values())


def _overnight(row) -> float:
    """Overnight visitors of a tourism row: overnight, else total - same-day, else NaN."""
    if pd.notna(row["arrivals_overnight"]):
        return float(row["arrivals_overnight"])
    if pd.notna(row["arrivals_total"]) and pd.notna(row["arrivals_same_day"]):
        return float(row["arrivals_total"] - row["arrivals_same_day"])
    return np.nan


def overnight_departures(table: pd.DataFrame, reference_year: int) -> pd.DataFrame:
    """Residents' overnight trips abroad per origin (persons per year), with ``year``."""
    overnight = select_year(table, "departures_overnight", reference_year)
    total = select_year(table, "departures_total", reference_year)
    both = table.dropna(subset=["departures_overnight", "departures_total"])
    share = float(np.median(both["departures_overnight"] / both["departures_total"])) \
        if len(both) else 1.0
    extra = total.loc[total.index.difference(overnight.index)]
    extra = extra.assign(value=extra["value"] * share)
    out = pd.concat([overnight, extra])
    out.attrs["overnight_share"] = share
    return out


def impute_log_linear(values: pd.Series, features: pd.DataFrame
                      ) -> tuple[pd.Series, pd.Series]:
    """Fill missing ``values`` from a least-squares fit of ``log(value)`` on ``features``.

    Parameters
    ----------
    values : Series
        Values indexed by place id, NaN where missing (zeros are left out of the fit).
    features : DataFrame
        Explanatory columns (already logged, or dummies) of the same places.

    Returns
    -------
    filled : Series
        ``values`` with the missing ones predicted (``exp`` of the fitted log: the median,
        not the mean, of the predictive distribution).
    left_out : Series
        For each place with a value, its prediction from the fit without it (closed form
        ``y_i - e_i / (1 - h_ii)`` with the hat matrix ``h``): the leave-one-out estimate.
    """
    known = values.notna() & (values > 0)
    x = np.column_stack([np.ones(len(features)), features.to_numpy(dtype=float)])
    xk = x[known.to_numpy()]
    yk = np.log(values[known].to_numpy(dtype=float))
    coef, *_ = np.linalg.lstsq(xk, yk, rcond=None)
    hat = np.einsum("ij,ji->i", xk, np.linalg.pinv(xk.T @ xk) @ xk.T)
    residual = yk - xk @ coef
    left_out = pd.Series(np.exp(yk - residual / np.clip(1.0 - hat, 1e-9, None)),
                         index=values.index[known.to_numpy()])
    filled = values.copy()
    missing = values.isna().to_numpy()
    filled[missing] = np.exp(x[missing] @ coef)
    return filled, left_out


def impute_group_median(values: pd.Series, groups: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Fill missing ``values`` with the median of their group (first column of ``groups``
    with another place that has a value: e.g. sub-region, then continent).

    Returns
    -------
    filled, left_out : Series
        As :func:`impute_log_linear`; ``left_out`` is each known value's group median
        without it.
    """
    known = values.dropna()

    def median_for(place, exclude: bool) -> float:
        for column in groups.columns:
            peers = known[groups.loc[known.index, column] == groups.at[place, column]]
            if exclude:
                peers = peers.drop(place, errors="ignore")
            if len(peers):
                return float(peers.median())
        return float(known.median())

    filled = values.copy()
    for place in values.index[values.isna()]:
        filled[place] = median_for(place, exclude=False)
    left_out = pd.Series([median_for(p, exclude=True) for p in known.index], index=known.index)
    return filled, left_out


def factor_errors(estimate: pd.Series, truth: pd.Series) -> dict:
    """``n``, ``median_factor``, ``p90_factor``: exp of the median and 90th percentile of
    ``|log(estimate / truth)|`` over the places where both are positive."""
    both = (estimate > 0) & (truth > 0)
    error = np.abs(np.log(estimate[both] / truth[both]))
    if not len(error):
        return {"n": 0, "median_factor": np.nan, "p90_factor": np.nan}
    return {"n": int(both.sum()), "median_factor": float(np.exp(np.median(error))),
            "p90_factor": float(np.exp(np.quantile(error, 0.9)))}


def build_margins(places: pd.DataFrame, tourism: pd.DataFrame, air: pd.DataFrame,
                  land: pd.DataFrame, reference_year: int,
                  user: pd.DataFrame | None = None) -> Margins:
    """Margins of every place for the reference year (module docstring).

    Arrivals by mode are the overnight total times the air share: each counted where the
    tourism table gives it, else imputed: the total by a log-linear regression, the share as
    the median share of the place's sub-region (else continent) among places with a land
    border that report it (a place without a land border has share 1).
    Departures are counted, or imputed log-linearly.

    Parameters
    ----------
    places : DataFrame
        The world places (``id``, ``population``, ``who_region``).
    tourism : DataFrame
        ``geo/tourism.csv``.
    air, land : DataFrame
        ``geo/air.csv`` and ``geo/land.csv`` (features of the imputation).
    reference_year : int
    user : DataFrame, optional
        A user margins table (``iso3`` and any of ``arrivals_air``, ``arrivals_land``,
        ``departures``, persons per year) whose values replace the others.

    Raises
    ------
    DataError
        When no country has a count in the reference year's window.
    """
    ids = pd.Index(places["id"].astype(str), name="id")
    arrivals = overnight_by_mode(tourism, reference_year).reindex(ids)
    departures = overnight_departures(tourism, reference_year).reindex(ids)
    if arrivals["total"].notna().sum() < 10 or departures["value"].notna().sum() < 10:
        years = sorted(tourism["year"].unique())
        raise DataError(f"mobility.reference_year: fewer than 10 countries have UN Tourism "
                        f"counts within {YEAR_WINDOW} years of {reference_year}; years with "
                        f"data: {years[0]}-{years[-1]}")
    features = _features(places, air, land)
    bordered = ids.isin(set(land["origin"]))
    total, total_loo = impute_log_linear(arrivals["total"], features)
    share_known = arrivals["air"] / (arrivals["air"] + arrivals["land"])
    share = pd.Series(1.0, index=ids)
    groups = places.set_index("id").loc[ids, ["subregion", "continent"]]
    share[bordered], share_loo = impute_group_median(share_known[bordered], groups[bordered])
    split = arrivals["air"].notna()
    share_loo = share_loo.reindex(ids).fillna(share)
    estimate = {"air": total_loo * share_loo, "land": total_loo * (1 - share_loo)}
    values = {"air": (total * share).where(~split, arrivals["air"]),
              "land": (total * (1 - share)).where(~split, arrivals["land"])}
    counted = {"air": split, "land": split}
    dep, dep_loo = impute_log_linear(departures["value"],
                                 features.drop(columns="log_land_neighbours"))
    values["departures"], counted["departures"] = dep, departures["value"].notna()
    year = {"air": arrivals["year"], "land": arrivals["year"], "departures": departures["year"]}
    errors = {key: factor_errors(estimate[key], arrivals[key]) for key in ("air", "land")}
    errors["departures"] = factor_errors(dep_loo, departures["value"])
    out_values, out_source, out_year = {}, {}, {}
    for key in KEYS:
        source = np.where(counted[key], "counted", "imputed")
        if key == "land":
            source = np.where(bordered, source, "none")
        v = values[key].fillna(0.0).to_numpy(dtype=float)
        yr = np.where(counted[key], year[key].fillna(0).to_numpy(), 0).astype(int)
        column = "departures" if key == "departures" else f"arrivals_{key}"
        if user is not None and column in user:
            given = user.set_index("iso3")[column].reindex(ids).to_numpy(dtype=float)
            take = np.isfinite(given)
            v, source, yr = np.where(take, given, v), np.where(take, "user_file", source), \
                np.where(take, 0, yr)
        out_values[key], out_source[key], out_year[key] = v / DAYS_PER_YEAR, source, yr
    return Margins(tuple(ids), out_values, out_source, out_year, errors)


def _features(places: pd.DataFrame, air: pd.DataFrame, land: pd.DataFrame) -> pd.DataFrame:
    """Explanatory columns of the imputation, one row per place (in ``places`` order)."""
    ids = places["id"].astype(str)
    population = places.set_index("id")["population"].astype(float)
    routes = (air.groupby("origin")["n_routes"].sum()
              .add(air.groupby("destination")["n_routes"].sum(), fill_value=0))
    neighbours = land.assign(p=land["destination"].map(population)).groupby("origin")["p"].sum()
    out = pd.DataFrame({
        "log_population": np.log(population.reindex(ids).to_numpy()),
        "log_routes": np.log1p(routes.reindex(ids).fillna(0).to_numpy()),
        "log_land_neighbours": np.log1p(neighbours.reindex(ids).fillna(0).to_numpy()),
    }, index=ids.to_numpy())
    regions = places["who_region"].fillna("none").astype(str).to_numpy()
    for region in sorted(set(regions))[1:]:
        out[f"region_{region}"] = (regions == region).astype(float)
    return out
