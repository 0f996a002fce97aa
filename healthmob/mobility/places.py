"""Places: ids, names, populations and locations, from the embedded world or a file.

A places table is a pandas DataFrame with at least ``id`` (str, unique), ``population``
(persons, > 0), ``name``, ``lat`` and ``lon`` (degrees). The embedded world
(``source = "world"``) adds the burden columns documented in ``geo/SOURCES.md``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, join_problems
from ..store.resources import data_dir
from .config import resolve_path, world_place_ids

WORLD = "world"
REQUIRED = ("id", "population")


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV without turning ISO codes such as Namibia's ``NA`` into NaN; a file that is
    not UTF-8 text, or a row with more or fewer fields than the header, is a DataError
    naming the row."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read as a UTF-8 CSV table: {exc}") from None
    if not rows or not any(rows[0]):
        raise DataError(f"{path}: the table is empty; it needs a header row")
    for number, row in enumerate(rows[1:], start=2):
        if row and len(row) != len(rows[0]):
            raise DataError(f"{path}: row {number} has {len(row)} fields; the header has "
                            f"{len(rows[0])}")
    return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"id": str})


def load_places(source: str | Path, ids: list[str] | None = None) -> pd.DataFrame:
    """Load and validate places.

    Parameters
    ----------
    source : str or Path
        ``"world"`` for the embedded 177 countries (``geo/places.csv``), a CSV with columns
        ``id, population`` (optionally ``name, lat, lon``), or a vector file (GeoPackage,
        GeoJSON, GeoParquet) with ``id``, ``population`` and point or polygon geometry.
    ids : list of str, optional
        Keep only these places, in this order.

    Returns
    -------
    pandas.DataFrame
        One row per place, ``id`` unique, in the order of ``ids`` (or of the source).

    Raises
    ------
    DataError
        Naming the file and the rows at fault.
    """
    path = data_dir("geo") / "places.csv" if str(source) == WORLD else Path(source)
    if not path.is_file():
        raise DataError(f"{path}: places file not found")
    if path.suffix.lower() == ".csv":
        table = read_table(path)
    else:
        table = _read_vector_places(path)
    table = validate_places(table, str(path))
    if ids:
        missing = [pid for pid in ids if pid not in set(table["id"])]
        if missing:
            raise DataError(f"{path}: places.ids {missing} are not in the geography "
                            f"({len(table)} places, e.g. {table['id'].head(5).tolist()})")
        table = table.set_index("id").loc[list(ids)].reset_index()
    return table.reset_index(drop=True)


def validate_places(table: pd.DataFrame, where: str = "places") -> pd.DataFrame:
    """Check a places table and return a copy with ``id`` (str), ``population`` (float),
    ``name``, ``lat`` and ``lon``; other columns are kept.

    ``lat``/``lon`` come from the columns, else from the representative points of a
    GeoDataFrame's geometry (its CRS is required). Every problem is reported at once: a
    missing column, duplicated ids (with their rows), a population that is not a number > 0.
    """
    problems = [f"column {column!r} is required; columns: {list(table.columns)}"
                for column in REQUIRED if column not in table.columns]
    if problems:
        raise DataError(join_problems(where, problems))
    out = table.copy()
    if out.empty:
        raise DataError(f"{where}: the table has no places (no rows under its header)")
    empty = (np.flatnonzero(out["id"].isna() | (out["id"].astype(str).str.strip() == ""))
             + 1).tolist()
    if empty:
        problems.append(f"id must not be empty; rows {empty[:10]} have none")
    out["id"] = out["id"].astype(str)
    duplicated = out["id"][out["id"].duplicated()].unique().tolist()
    if duplicated:
        rows = (np.flatnonzero(out["id"].isin(duplicated)) + 1)[:10].tolist()
        problems.append(f"id must be unique; got duplicates {duplicated[:10]} (rows {rows})")
    population = pd.to_numeric(out["population"], errors="coerce")
    bad = out["id"][~(np.isfinite(population) & (population > 0))].tolist()
    if bad:
        problems.append(f"population must be a number > 0; rows with id {bad[:10]} are not")
    if problems:
        raise DataError(join_problems(where, problems))
    out["population"] = population.astype(float)
    if "name" not in out.columns:
        out["name"] = out["id"]
    for column, limit in (("lat", 90.0), ("lon", 180.0)):
        if column not in out.columns:
            out[column] = np.nan
            continue
        values = pd.to_numeric(out[column], errors="coerce")
        bad = out["id"][(values.isna() & out[column].notna()) | (values.abs() > limit)]
        if len(bad):
            raise DataError(f"{where}: {column} must be a number in [-{limit:g}, {limit:g}] "
                            f"(degrees); rows with id {bad.tolist()[:10]} are not")
        out[column] = values
    if out[["lat", "lon"]].isna().all().all() and hasattr(table, "crs"):  # a GeoDataFrame
        if table.crs is None:
            raise DataError(f"{where}: geometry must declare a CRS; got none")
        points = table.geometry.to_crs(4326).representative_point()
        out["lat"], out["lon"] = points.y.to_numpy(), points.x.to_numpy()
    return out


def _read_vector_places(path: Path):
    import geopandas as gpd  # only for a vector places file (fast start-up otherwise)

    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise DataError(f"{path}: cannot read places: {exc}") from None
    if frame.crs is None:
        raise DataError(f"{path}: places must declare a CRS; got none")
    invalid = frame.index[frame.geometry.is_empty | ~frame.geometry.is_valid].tolist()
    if invalid:
        raise DataError(f"{path}: geometry must be valid and non-empty; rows {invalid[:10]}")
    return frame


def place_polygons(places, setting: str, base_dir: Path):
    """Polygons to match corridor ends by containment, indexed by place position.

    ``setting`` is ``"none"``, ``"world"`` (``geo/countries.gpkg``), a vector file with
    ``id`` and polygons, or ``"auto"``: the places' own polygons, else the world countries
    when every place id is a world place id (the world's point places have no polygon and
    match by distance), else none. Returns ``False`` for none.
    """
    import geopandas as gpd  # only when polygons are used (fast start-up otherwise)

    if setting == "none":
        return False
    own = _geometry(places)
    if setting == "auto" and own is not None and own.geom_type.isin(
            ["Polygon", "MultiPolygon"]).all():
        return own.reset_index(drop=True)
    path = data_dir("geo") / "countries.gpkg" if setting in ("auto", "world") \
        else resolve_path(setting, base_dir)
    if not path.is_file():
        if setting == "auto":
            return False
        raise DataError(f"{path}: polygons file (mobility.match.polygons) not found")
    shapes = gpd.read_file(path, engine="pyogrio")
    if shapes.crs is None:
        raise DataError(f"{path}: polygons must declare a CRS; got none")
    if "id" not in shapes.columns:
        raise DataError(f"{path}: column 'id' is required; columns: {list(shapes.columns)}")
    ids = shapes["id"].astype(str)
    dup = ids[ids.duplicated()].unique().tolist()
    if dup:
        raise DataError(f"{path}: id must be unique; got duplicates {dup[:10]}")
    position = pd.Series(np.arange(len(places)), index=places["id"].astype(str).to_numpy())
    if setting == "auto" and not position.index.isin(list(world_place_ids())).all():
        return False
    keep = ids.isin(position.index).to_numpy()
    series = shapes.to_crs(4326).geometry[keep]
    series.index = position[ids[keep]].to_numpy()
    return series


def _geometry(places):
    import geopandas as gpd  # only when polygons are used (fast start-up otherwise)

    if isinstance(places, gpd.GeoDataFrame) and places.geometry.name in places:
        if places.crs is None:
            raise DataError("places: geometry must declare a CRS; got none")
        return places.geometry.to_crs(4326)
    return None
