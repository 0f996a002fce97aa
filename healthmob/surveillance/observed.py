"""Observed notifications: the long CSV of ``docs/surveillance.md``, read and checked.

One row per reporting place, period, disease and stratum::

    reporting_place,period,disease,count[,country_of_birth,years_since_entry,age_band,sex,
    site,bacteriological_confirmation,detection_route,population]

``period`` is a year (``2019``), a quarter (``2019-Q3``) or a month (``2019-07``); the
model counts calendar years, so complete years of quarters or months are summed to years;
``country_of_birth`` is empty (everyone), ``foreign``, ``native``, ``unknown`` or an ISO3
code; ``population`` is an optional denominator of the row's stratum (persons). Every
problem is reported as one line naming the file, its row (as a spreadsheet numbers it,
header = row 1) and what was expected: :class:`~healthmob.errors.DataError`.
"""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from ..store.resources import data_dir

log = logging.getLogger(__name__)

REQUIRED = ("reporting_place", "period", "disease", "count")
STRATA = ("country_of_birth", "years_since_entry", "age_band", "sex", "site",
          "bacteriological_confirmation", "detection_route")
OPTIONAL = (*STRATA, "population")
BIRTHPLACES = ("foreign", "native", "unknown")
DETECTION_ROUTES = ("pre-entry", "post-entry screening", "passive", "contact tracing")

#: tables shipped in geo/ (built by ``healthmob build-geo``), by the name a user gives
SHIPPED = {"who-notifications": "notifications_who.csv",
           "england-wales": "notifications_england_wales.csv"}

_PERIOD = re.compile(r"^(\d{4})(?:-Q([1-4])|-(0[1-9]|1[0-2]))?$")
_ISO3 = re.compile(r"^[A-Z]{3}$")


def observed_file(value: str | Path, base_dir: Path | None = None) -> Path:
    """The file of ``value``: a shipped table's name (:data:`SHIPPED`) or a path (relative
    to ``base_dir``, else the working folder). Raises DataError when it does not exist."""
    if str(value) in SHIPPED:
        return data_dir("geo") / SHIPPED[str(value)]
    path = Path(value)
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    if not path.is_file():
        raise DataError(f"{value}: observed file not found (give a CSV path or one of "
                        f"{sorted(SHIPPED)})")
    return path


def within_run(table: pd.DataFrame, places, years=None) -> pd.DataFrame:
    """The rows of a shipped table inside a run's places (and whole ``years``): shipped
    tables cover the world and every year, a user's table is checked as it is."""
    keep = table["reporting_place"].isin(list(places))
    if years is not None:
        keep &= table["year"].isin(list(years))
    return table[keep].reset_index(drop=True)


def read_observed(path: Path) -> pd.DataFrame:
    """Read and check an observed table (module docstring).

    Returns
    -------
    DataFrame
        The columns of :data:`REQUIRED` and :data:`OPTIONAL` (empty strings where a stratum
        is not given, NaN for a missing population), plus ``year`` (int) and ``row`` (the
        file's row, as a spreadsheet numbers it, for the messages of later checks), one
        row per calendar year: quarters and months are summed (:func:`_whole_years`).
    """
    table = _read_table(path)

    def fail(row: int, column: str, expected: str) -> None:
        raise DataError(f"{path}: row {row + 2}, column {column}: expected {expected}; got "
                        f"{table[column].iloc[row]!r}")

    for column in ("reporting_place", "disease"):
        empty = np.flatnonzero((table[column] == "").to_numpy())
        if len(empty):
            fail(int(empty[0]), column, "a value")
    periods = table["period"].str.extract(_PERIOD)
    bad = np.flatnonzero(periods[0].isna().to_numpy())
    if len(bad):
        fail(int(bad[0]), "period", "a year (2019), quarter (2019-Q3) or month (2019-07)")
    counts = pd.to_numeric(table["count"], errors="coerce")
    bad = np.flatnonzero((~np.isfinite(counts) | (counts < 0) | (counts % 1 != 0)).to_numpy())
    if len(bad):
        fail(int(bad[0]), "count", "a whole number of cases >= 0")
    birthplace = table["country_of_birth"]
    bad = np.flatnonzero((~(birthplace.isin(["", *BIRTHPLACES])
                            | birthplace.str.match(_ISO3))).to_numpy())
    if len(bad):
        fail(int(bad[0]), "country_of_birth",
             "empty, foreign, native, unknown or an ISO3 code such as IND")
    bad = np.flatnonzero(((table["years_since_entry"] != "")
                          & (birthplace.isin(["", "native"]))).to_numpy())
    if len(bad):
        fail(int(bad[0]), "years_since_entry",
             "nothing unless country_of_birth names the foreign-born")
    routes = table["detection_route"]
    bad = np.flatnonzero((~routes.isin(["", *DETECTION_ROUTES])).to_numpy())
    if len(bad):
        fail(int(bad[0]), "detection_route", f"empty or one of {', '.join(DETECTION_ROUTES)}")
    population = pd.to_numeric(table["population"].replace("", np.nan), errors="coerce")
    bad = np.flatnonzero(((population.isna() & (table["population"] != ""))
                          | ~(population.isna() | (np.isfinite(population)
                                                   & (population > 0)))).to_numpy())
    if len(bad):
        fail(int(bad[0]), "population", "nothing or a number of persons > 0")
    out = table.assign(count=counts, population=population,
                       disease=table["disease"].str.lower(), row=np.arange(len(table)) + 2)
    out["year"] = periods[0].astype(int)
    out["freq"] = np.where(periods[1].notna(), 4, np.where(periods[2].notna(), 12, 1))
    key = ["reporting_place", "period", "disease", *STRATA]
    twice = np.flatnonzero(out.duplicated(key).to_numpy())
    if len(twice):
        row = int(twice[0])
        raise DataError(f"{path}: row {row + 2}: place {out['reporting_place'].iloc[row]!r}, "
                        f"period {out['period'].iloc[row]!r} and its stratum appear twice")
    return _whole_years(out, path)


def _whole_years(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Quarters and months summed to calendar years, the model's periods: a year whose
    quarters (or months) are all given becomes one row (its count the sum, its population
    the mean, its ``row`` the first of them); a year with some missing is left out with a
    warning (the year in progress, as a surveillance extract usually ends); a year given
    both whole and by quarter or month, or by both, is an error naming the row."""
    sub = table["freq"] > 1
    if not sub.any():
        return table.drop(columns="freq")
    key = ["reporting_place", "disease", *STRATA, "year"]
    mixed = table.groupby(key, sort=False)["freq"].transform("nunique") > 1
    if mixed.any():
        row = int(np.flatnonzero(mixed.to_numpy())[0])
        raise DataError(f"{path}: row {table['row'].iloc[row]}: period "
                        f"{table['period'].iloc[row]!r}: year {table['year'].iloc[row]} of "
                        "this place and stratum is given in more than one kind of period "
                        "(whole years, quarters, months); give one")
    parts = table[sub].groupby(key, sort=False)
    summed = parts.agg(count=("count", "sum"), population=("population", "mean"),
                       row=("row", "min"), given=("count", "size"), freq=("freq", "first"))
    whole = summed["given"] == summed["freq"]
    for values in summed.index[~whole][:5]:
        log.warning("%s: %s %s of %s (%s) left out: not every %s of it is given", path,
                    values[1], values[-1], values[0], ", ".join(v for v in values[2:-1] if v)
                    or "all cases", "quarter" if summed.loc[values, "freq"] == 4 else "month")
    if (~whole).sum() > 5:
        log.warning("%s: %d more incomplete years left out", path, int((~whole).sum()) - 5)
    years = summed[whole].reset_index().drop(columns=["given", "freq"])
    years["period"] = years["year"].astype(str)
    return (pd.concat([table[~sub].drop(columns="freq"), years[table.columns.drop("freq")]],
                      ignore_index=True).sort_values("row", ignore_index=True))


def _read_table(path: Path) -> pd.DataFrame:
    """The table's cells as stripped strings, every column of :data:`OPTIONAL` present;
    DataError for a file that is not a rectangular UTF-8 CSV with the known columns."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read the observed table as UTF-8 CSV: "
                        f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                        ) from None
    while rows and not rows[-1]:
        rows.pop()  # blank lines at the end
    if not rows:
        raise DataError(f"{path}: cannot read the observed table: the file is empty")
    ragged = [k for k, row in enumerate(rows[1:]) if len(row) != len(rows[0])]
    if ragged:
        raise DataError(f"{path}: row {ragged[0] + 2} has {len(rows[ragged[0] + 1])} fields; "
                        f"the header has {len(rows[0])}")
    table = pd.DataFrame(rows[1:], columns=rows[0], dtype=str)
    table.columns = [str(c).strip() for c in table.columns]
    twice = table.columns[table.columns.duplicated()]
    if len(twice):
        raise DataError(f"{path}: column {twice[0]!r} appears twice in the header")
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise DataError(f"{path}: the observed table must have the columns "
                        f"{', '.join(REQUIRED)}; missing {', '.join(missing)}")
    unknown = [c for c in table.columns if c not in (*REQUIRED, *OPTIONAL)]
    if unknown:
        raise DataError(f"{path}: unknown column {unknown[0]!r}; the columns are "
                        f"{', '.join((*REQUIRED, *OPTIONAL))} (docs/surveillance.md)")
    if table.empty:
        raise DataError(f"{path}: the observed table has no rows")
    for column in OPTIONAL:
        if column not in table.columns:
            table[column] = ""
    return table.apply(lambda c: c.str.strip())
