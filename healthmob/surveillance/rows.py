"""Checks of an observed table's rows against a run, planned or finished: its places, whole
years and the strata it can count. Kept apart from :mod:`.expected` so that loading a
config (which checks ``[surveillance]`` before anything runs) needs no xarray.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from ..birthplace.account import period_edges
from ..errors import DataError

#: what the model counts for each disease of an observed table
COUNTED = {"tb": "tb_notifications"}


def run_years(start: dt.date, duration_days: float) -> np.ndarray:
    """The whole years a run of ``duration_days`` from ``start`` will count (as
    :func:`.expected.period_years` reads them from its results)."""
    edges = period_edges(duration_days)
    lengths = np.diff(edges)
    middle = pd.Timestamp(start) + pd.to_timedelta(edges[:-1] + lengths / 2, unit="D")
    return np.asarray(middle.year)[lengths >= 365]


def check_places_and_years(observed: pd.DataFrame, path: Path, place_ids: set,
                           years: np.ndarray) -> None:
    """Raise DataError (file and row) for a place not in ``place_ids`` or a period that is
    not one of the whole ``years``."""
    def fail(row: int, message: str) -> None:
        raise DataError(f"{path}: row {observed['row'].iloc[row]}: {message}")

    for row, place in enumerate(observed["reporting_place"]):
        if place not in place_ids:
            fail(row, f"reporting_place {place!r} is not a place of the run")
    outside = np.flatnonzero(~observed["year"].isin(years).to_numpy())
    if len(outside):
        span = f"{years[0]}-{years[-1]}" if len(years) else "none"
        fail(int(outside[0]), f"period {observed['period'].iloc[outside[0]]} is outside the "
             f"run's whole years ({span})")


def check_strata(observed: pd.DataFrame, path: Path, places: list[str], bands: list[str],
                 origin_labels: np.ndarray | None) -> None:
    """Raise DataError (file and row) for a row the model cannot count: a disease it does
    not count, a stratum column it has no strata of, an entry band it does not keep, or a
    country of birth that is not an origin group of the place (``origin_labels``: the
    run's group names per place, as ``OriginGroups.labels``; None: not checked yet)."""
    def fail(row: int, message: str) -> None:
        raise DataError(f"{path}: row {observed['row'].iloc[row]}: {message}")

    for column in ("age_band", "sex", "site", "bacteriological_confirmation",
                   "detection_route"):
        given = np.flatnonzero((~observed[column].isin(["", "all"])).to_numpy())
        if len(given):
            fail(int(given[0]), f"{column} {observed[column].iloc[given[0]]!r}: the model "
                 f"has no {column.replace('_', ' ')} strata (leave it empty or 'all')")
    index = {p: i for i, p in enumerate(places)}
    for row, (place, disease, birthplace, band) in enumerate(zip(
            observed["reporting_place"], observed["disease"], observed["country_of_birth"],
            observed["years_since_entry"])):
        if disease not in COUNTED:
            fail(row, f"disease {disease!r}: the model counts notifications of "
                 f"{', '.join(COUNTED)} only")
        if band and band not in bands:
            fail(row, f"years_since_entry {band!r} is not an entry band of the run "
                 f"({', '.join(bands)})")
        if birthplace == "unknown":
            fail(row, "country_of_birth 'unknown': the model knows everyone's birthplace; "
                 "leave these cases out or add them to the place's total")
        if birthplace not in ("", "native", "foreign"):
            if band:
                fail(row, "years_since_entry by country of birth: the run counts entry "
                     "bands for all the foreign-born together")
            if origin_labels is not None and birthplace not in set(origin_labels[index[place]]):
                kept = [str(n) for n in origin_labels[index[place]] if len(str(n)) == 3]
                fail(row, f"country_of_birth {birthplace!r} is not an origin kept for "
                     f"{place} by the run ([birthplace] origins; kept: {', '.join(kept)})")
