"""The observed series a history start follows: reading, checking, and yearly targets.

The table is long, one row per place and year (``id, year, <column>...``): the embedded
``geo/history.csv`` (WHO and UNAIDS, 2000-2023, built by ``healthmob build-geo``) unless
``[initial] observed`` names another file of the same shape. Every target column must hold
numbers >= 0 or nothing; a bad cell is reported with its file, row and column.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..store.resources import data_dir

EMBEDDED = "history.csv"


def observed_path(name: str | None, base_dir: Path | None) -> Path:
    """The observed table: ``name`` relative to the config's folder, else the embedded one."""
    if name is None:
        return data_dir("geo") / EMBEDDED
    path = Path(name)
    return path if path.is_absolute() else (base_dir or Path.cwd()) / path


def read_observed(path: Path, columns: list[str], optional: tuple = ()) -> pd.DataFrame:
    """Read and check the observed table (module docstring): ``columns`` must be there,
    ``optional`` ones are read when they are; raises ConfigError."""
    try:
        table = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype=str)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ConfigError(f"{path}: cannot read the observed series: "
                          f"{str(exc).splitlines()[0]}") from None
    missing = [c for c in ("id", "year", *columns) if c not in table.columns]
    if missing:
        raise ConfigError(f"{path}: the observed series must have the columns id, year and "
                          f"the targets' columns; missing {missing}")
    out = pd.DataFrame({"id": table["id"]})
    for column in ("year", *columns, *[c for c in optional if c in table.columns]):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = (values.isna() & table[column].notna()) | (values < 0) | np.isinf(values)
        if column == "year":
            bad |= values.isna() | (values % 1 != 0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            expected = "a whole year" if column == "year" else "a number >= 0 or nothing"
            raise ConfigError(f"{path}: row {row + 2}, column {column}: expected {expected}; "
                              f"got {table[column].iloc[row]!r}")
        out[column] = values
    out["year"] = out["year"].astype(int)
    if out.duplicated(["id", "year"]).any():
        row = int(np.flatnonzero(out.duplicated(["id", "year"]).to_numpy())[0])
        raise ConfigError(f"{path}: row {row + 2}: place {out['id'].iloc[row]!r} and year "
                          f"{out['year'].iloc[row]} appear twice")
    return out


def yearly_targets(table: pd.DataFrame, places: pd.DataFrame, column: str, years: np.ndarray,
                   fallback: str) -> tuple[np.ndarray, np.ndarray]:
    """Target values (Y, P) of ``column`` for ``years``, and which places have no data.

    Inside a place's series, missing years are interpolated linearly; after its last value,
    the last value is held. Before its first value, the series follows the median of its
    ``fallback`` group (e.g. ``subregion``) scaled to meet that first value (India's only
    ART coverage is 68% in 2022: earlier years follow Southern Asia's scale-up), or holds
    the first value where the group's median is 0 there. A place without any value takes,
    each year, the median of its group among places with data, else of all places.
    """
    wide = table.pivot(index="year", columns="id", values=column)
    wide = wide.reindex(index=years, columns=places["id"])
    observed = np.array(wide.to_numpy(dtype=float))
    values = np.array(wide.interpolate(axis=0, limit_area="inside").ffill().to_numpy(
        dtype=float))
    missing = ~np.isfinite(observed).any(axis=0)
    groups = (places[fallback].astype(str).to_numpy() if fallback in places.columns
              else np.full(len(places), ""))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN years of a group
        shapes = {g: np.nanmedian(values[:, groups == g], axis=1) for g in np.unique(groups)}
        for p in np.flatnonzero(~missing & ~np.isfinite(values[0])):
            first = int(np.flatnonzero(np.isfinite(observed[:, p]))[0])
            shape = shapes[groups[p]]
            scaled = values[first, p] * shape[:first] / shape[first]
            values[:first, p] = np.where(np.isfinite(scaled), scaled, values[first, p])
        overall = np.median(values[:, ~missing], axis=1)
        for p in np.flatnonzero(missing):
            members = (groups == groups[p]) & ~missing
            values[:, p] = np.median(values[:, members], axis=1) if members.any() else overall
    return values, missing
