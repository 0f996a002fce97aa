"""Corridor files (GeoPackage, GeoJSON, GeoParquet): read, check, match ends to places.

The geopandas edge of the mobility stage. A corridor file is a vector layer of LineStrings
(ends = first and last vertex; a MultiLineString must merge into one line) or two-point
MultiPoints (origin, destination), in any declared CRS. Columns (``docs/mobility.md``):

``mode`` (required)
    ``air``, ``land``, ``sea``, ``migration`` or a mode of ``[mobility.modes]``; a row may
    also give its own ``speed_kmh``.
``layer``
    Layer the corridor belongs to (default: its mode).
``origin``, ``destination``
    Place ids of the ends; where empty, an end is matched to the place whose polygon
    contains it, else to the nearest place within ``mobility.match.tolerance_km``.
``persons_per_day`` or ``persons_per_year``
    Volume origin -> destination (the unit is in the name, never guessed). Empty cells are
    allowed only when the layer has a flow model.
``travel_time_hours`` or ``travel_time_days``, ``speed_kmh``, ``distance_km``
    Optional: travel time instead of speed + overhead; speed for this row; route length
    instead of the geodesic length of the geometry.

Every problem of a file is collected and raised as one :class:`~healthmob.errors.DataError`
naming the file and the rows (counted from 1, the GeoPackage feature id of a new file).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, join_problems
from ..units import DAYS_PER_YEAR
from .config import ModeConfig
from .edges import Edges, geodesic_km
from .travel_time import edge_time_days

VOLUME_COLUMNS = {"persons_per_day": 1.0, "persons_per_year": 1.0 / DAYS_PER_YEAR}
TIME_COLUMNS = {"travel_time_days": 1.0, "travel_time_hours": 1.0 / 24.0}
NUMERIC = ("persons_per_day", "persons_per_year", "travel_time_days", "travel_time_hours",
           "speed_kmh", "distance_km")
MAX_LISTED = 10
EDGE_TABLE_MODE = "land"
"""The mode of an edge table's rows without a ``mode`` column (its speed and overhead give
travel times where the table has none)."""


def read_corridor_file(path: str | Path):
    """Read a corridor file with pyogrio, or an edge table (CSV, or Parquet without
    geometry) with pandas; refuse a missing CRS or an empty file.

    Returns
    -------
    geopandas.GeoDataFrame or pandas.DataFrame
        As stored, plus nothing; ``index`` 0..n-1 in file order. A plain DataFrame is an
        edge table: its rows name their places by id (:func:`corridor_edges`).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: corridor file not found")
    if path.suffix.lower() == ".csv" or _plain_parquet(path):
        return _read_edge_table(path)
    import geopandas as gpd  # only for a vector corridor file (fast start-up otherwise)

    try:
        if path.suffix.lower() in (".parquet", ".geoparquet"):
            frame = gpd.read_parquet(path)  # GeoParquet: needs pyarrow
        else:
            frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio/arrow raise many types for unreadable files
        raise DataError(f"{path}: cannot read corridors: {exc}") from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame:
        raise DataError(f"{path}: corridors must have a geometry column; got columns "
                        f"{list(frame.columns)}")
    if frame.crs is None:
        raise DataError(f"{path}: corridors must declare a CRS; got none (set it, e.g. "
                        f"EPSG:4326, when writing the file)")
    if len(frame) == 0:
        raise DataError(f"{path}: corridors must contain at least one row; got 0")
    return frame.reset_index(drop=True)


def _plain_parquet(path: Path) -> bool:
    """A Parquet file without GeoParquet's ``geo`` metadata: an edge table."""
    if path.suffix.lower() != ".parquet":
        return False
    import pyarrow.parquet as pq  # only for Parquet corridor files

    try:
        metadata = pq.read_schema(path).metadata or {}
    except Exception as exc:  # pyarrow raises several types for unreadable files
        raise DataError(f"{path}: cannot read corridors: {exc}") from None
    return b"geo" not in metadata


def _read_edge_table(path: Path) -> pd.DataFrame:
    """An edge table as text columns (ids kept as written: Namibia is "NA", not missing)."""
    try:
        if path.suffix.lower() == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                                encoding="utf-8")
        else:
            frame = pd.read_parquet(path)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read the edge table: {exc}") from None
    if len(frame) == 0:
        raise DataError(f"{path}: corridors must contain at least one row; got 0")
    missing = [c for c in ("origin", "destination") if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: an edge table (no geometry) needs columns origin and "
                        f"destination (place ids); missing {missing} in columns "
                        f"{list(frame.columns)}")
    return frame.reset_index(drop=True)


def corridor_edges(frame, places: pd.DataFrame, *, modes: dict[str, ModeConfig],
                   tolerance_km: float,
                   polygons=None, where: str = "corridors") -> list[Edges]:
    """Check a corridor GeoDataFrame and turn it into one :class:`Edges` per layer.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        From :func:`read_corridor_file` (any CRS).
    places : DataFrame
        ``id``, ``lat``, ``lon`` (degrees) in engine order.
    modes : dict of str to ModeConfig
        Speed and overhead of every mode (the built-in ones and the configured ones).
    tolerance_km : float
        Largest geodesic distance from an end to its nearest place (km).
    polygons : geopandas.GeoSeries, optional
        Place polygons (EPSG:4326) indexed by place position, for containment.
    where : str
        The file, for messages.

    Raises
    ------
    DataError
        One error listing every problem with the rows at fault.
    """
    problems: list[str] = []
    rows = np.arange(1, len(frame) + 1)
    spatial = hasattr(frame, "crs")
    if spatial:
        frame = frame.to_crs(4326)
        ends = _ends(frame, problems, rows)
    else:      # an edge table: its places' coordinates, in ``_aspatial_lengths``
        ends = (None, None, None)
        if "mode" not in frame.columns:
            frame = frame.assign(mode=EDGE_TABLE_MODE)
    if "mode" not in frame.columns:
        raise DataError(join_problems(where, [f"column 'mode' is required; columns: "
                                              f"{[c for c in frame.columns]}"] + problems))
    numbers = {c: _numeric(frame, c, problems, rows) for c in NUMERIC if c in frame.columns}
    mode = frame["mode"].astype("string")
    speed = numbers.get("speed_kmh", pd.Series(np.nan, index=frame.index))
    known = mode.isin(list(modes)).fillna(False).to_numpy(dtype=bool)
    unknown = (~known & ~np.isfinite(speed.to_numpy())) | mode.isna().to_numpy()
    _report(problems, unknown, rows, f"mode must be one of {sorted(modes)} (or the row must "
            f"give speed_kmh)", mode)
    _check_positive(numbers, problems, rows)
    volume = _volume(numbers, problems, rows)
    origin = _match(frame, "origin", ends[0], places, tolerance_km, polygons, problems, rows)
    destination = _match(frame, "destination", ends[1], places, tolerance_km, polygons,
                         problems, rows)
    same = (origin == destination) & (origin >= 0)
    _report(problems, same, rows, "origin and destination must be different places",
            pd.Series(np.asarray(places["id"])[np.maximum(origin, 0)]))
    if problems:
        raise DataError(join_problems(where, problems))
    if not spatial:
        ends = (None, None, _aspatial_lengths(origin, destination, places))
    length = numbers.get("distance_km", pd.Series(np.nan, index=frame.index)).to_numpy()
    length = np.where(np.isfinite(length), length, ends[2])
    time = _times(numbers, mode.fillna("").to_numpy(str), speed.to_numpy(), length, modes)
    _report(problems, ~np.isfinite(time), rows, "a row between places without coordinates "
            "must give travel_time_days, travel_time_hours or distance_km",
            pd.Series([None] * len(rows)))
    if problems:
        raise DataError(join_problems(where, problems))
    layer = mode.copy() if spatial else pd.Series(Path(where).stem, index=frame.index,
                                                  dtype="string")
    if "layer" in frame.columns:
        given = frame["layer"].astype("string")
        layer = given.where(given.notna() & (given != ""), mode)
    out = []
    for name in pd.unique(layer.to_numpy(str)):
        pick = (layer == name).to_numpy()
        layer_modes = pd.unique(mode[pick].to_numpy(str))
        out.append(Edges(
            layer=str(name), origin=origin[pick], destination=destination[pick],
            volume_per_day=volume[pick], time_days=time[pick], distance_km=length[pick],
            mode=str(layer_modes[0]) if len(layer_modes) == 1 else "mixed", source=where,
            rows=rows[pick], description=f"corridor file {where}"))
    return out


def _aspatial_lengths(origin, destination, places) -> np.ndarray:
    """Geodesic km between the places of an edge table's rows (NaN where a place has no
    coordinates: such a row needs travel_time_* or distance_km)."""
    lon = np.asarray(places["lon"], dtype=float)
    lat = np.asarray(places["lat"], dtype=float)
    return geodesic_km(lon[origin], lat[origin], lon[destination], lat[destination])


def _ends(frame, problems, rows):
    """Origin and destination (lon, lat) of each row, and its geodesic length (km)."""
    import shapely  # only when a run reads corridor files (fast start-up)

    geometry = frame.geometry
    bad = (geometry.isna() | geometry.is_empty | ~geometry.is_valid).to_numpy()
    why = [("missing" if g is None else f"empty {g.geom_type}" if g.is_empty
            else f"{g.geom_type}: {shapely.is_valid_reason(g)}") for g in geometry.to_numpy()]
    _report(problems, bad, rows, "geometry must be valid and non-empty", why)
    geoms = geometry.to_numpy()
    kinds = geometry.geom_type.to_numpy()
    lines = np.array([None] * len(geoms), dtype=object)
    for k in np.flatnonzero(~bad):
        g = geoms[k]
        if kinds[k] == "MultiLineString":
            g = shapely.line_merge(g)
        elif kinds[k] == "MultiPoint" and shapely.get_num_geometries(g) == 2:
            g = shapely.linestrings(shapely.get_coordinates(g))
        if g.geom_type == "LineString":
            lines[k] = g
    wrong = ~bad & np.array([g is None for g in lines])
    _report(problems, wrong, rows, "geometry must be a LineString, a MultiLineString that "
            "merges into one line, or a MultiPoint of two points", pd.Series(kinds))
    ok = np.array([g is not None for g in lines])
    start = np.full((len(geoms), 2), np.nan)
    stop = np.full((len(geoms), 2), np.nan)
    length = np.full(len(geoms), np.nan)
    if ok.any():
        coords, index = shapely.get_coordinates(lines[ok], return_index=True)
        first = np.r_[True, index[1:] != index[:-1]]
        last = np.r_[index[1:] != index[:-1], True]
        start[ok], stop[ok] = coords[first], coords[last]
        same_line = ~last
        seg = geodesic_km(coords[:-1, 0][same_line[:-1]], coords[:-1, 1][same_line[:-1]],
                          coords[1:, 0][same_line[:-1]], coords[1:, 1][same_line[:-1]])
        length[ok] = np.bincount(index[:-1][same_line[:-1]], weights=seg,
                                 minlength=ok.sum())
    return start, stop, length


def _numeric(frame, column, problems, rows) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    text = frame[column].notna() & values.isna()
    _report(problems, text.to_numpy(), rows, f"{column} must be a number", frame[column])
    return values.astype(float)


def _check_positive(numbers, problems, rows) -> None:
    for column, values in numbers.items():
        v = values.to_numpy()
        strict = column in ("speed_kmh", "travel_time_days", "travel_time_hours",
                            "distance_km")
        bad = np.isinf(v) | ((v <= 0) if strict else (v < 0))
        _report(problems, bad, rows,
                f"{column} must be a finite number {'> 0' if strict else '>= 0'}", values)


def _volume(numbers, problems, rows) -> np.ndarray:
    """Persons/day per row; NaN where no volume is given (the layer's flow model fills it)."""
    given = [c for c in VOLUME_COLUMNS if c in numbers]
    n = len(rows)
    volume = np.full(n, np.nan)
    both = np.zeros(n, dtype=bool)
    for column in given:
        v = numbers[column].to_numpy() * VOLUME_COLUMNS[column]
        both |= np.isfinite(volume) & np.isfinite(v)
        volume = np.where(np.isfinite(v), v, volume)
    if both.any():
        shown = [f"persons_per_day={d:g}, persons_per_year={y:g}" for d, y in
                 zip(numbers["persons_per_day"], numbers["persons_per_year"])]
        _report(problems, both, rows, "a row must give persons_per_day or persons_per_year, "
                "not both", shown)
    return volume


def _times(numbers, mode, speed, length, modes) -> np.ndarray:
    time = np.full(len(mode), np.nan)
    for column, factor in TIME_COLUMNS.items():
        if column in numbers:
            v = numbers[column].to_numpy() * factor
            time = np.where(np.isfinite(time), time, v)
    default_speed = np.array([modes[m].speed_kmh if m in modes else np.nan for m in mode])
    overhead = np.array([modes[m].overhead_hours if m in modes else 0.0 for m in mode])
    speed = np.where(np.isfinite(speed), speed, default_speed)
    return np.where(np.isfinite(time), time, edge_time_days(length, speed, overhead))


def _match(frame, column, end, places, tolerance_km, polygons, problems, rows) -> np.ndarray:
    """Place index of one end of every row (-1 where unmatched, reported)."""
    n = len(frame)
    index = np.full(n, -1)
    position = pd.Series(np.arange(len(places)), index=np.asarray(places["id"], dtype=str))
    by_id = np.zeros(n, dtype=bool)
    if column in frame.columns:
        ids = frame[column].astype("string")
        by_id = (ids.notna() & (ids != "")).to_numpy()
        found = by_id & ids.isin(position.index).fillna(False).to_numpy(dtype=bool)
        index[found] = position[ids[found].to_numpy(str)].to_numpy()
        _report(problems, by_id & ~found, rows,
                f"{column} must be a place id (e.g. {position.index[:3].tolist()})", ids)
    if end is None:                                       # an edge table: ids only
        _report(problems, ~by_id, rows, f"{column} must be a place id (an edge table has "
                "no geometry to match)", pd.Series([None] * n))
        return index
    spatial = ~by_id & np.isfinite(end[:, 0])
    if spatial.any():
        index[spatial], gap = _nearest_places(end[spatial], places, polygons)
        unmatched = np.zeros(n, dtype=bool)
        unmatched[spatial] = gap > tolerance_km
        far = pd.Series(np.full(n, np.nan))
        far[spatial] = gap
        _report(problems, unmatched, rows, f"{column} end must lie in a place or within "
                f"{tolerance_km:g} km of one (mobility.match.tolerance_km)",
                far.map(lambda km: f"{km:.0f} km away"))
        index[unmatched] = -1
    return index


def _nearest_places(points, places, polygons):
    """Place index containing each (lon, lat) point, else the nearest; and the gap (km)."""
    import shapely  # only when a run reads corridor files (fast start-up)
    from scipy.spatial import cKDTree

    lon, lat = points[:, 0], points[:, 1]
    index = np.full(len(points), -1)
    gap = np.full(len(points), np.inf)
    pts = shapely.points(lon, lat)
    if polygons is not None and len(polygons):
        geoms = polygons.to_numpy()
        tree = shapely.STRtree(geoms)
        hit_pt, hit_poly = tree.query(pts, predicate="intersects")
        first = np.unique(hit_pt, return_index=True)[1]
        index[hit_pt[first]] = polygons.index.to_numpy()[hit_poly[first]]
        gap[hit_pt[first]] = 0.0
        rest = np.flatnonzero(index < 0)
        if len(rest):
            near = tree.nearest(pts[rest])
            closest = shapely.get_coordinates(
                shapely.shortest_line(pts[rest], geoms[near])).reshape(-1, 2, 2)[:, 1]
            gap[rest] = geodesic_km(lon[rest], lat[rest], closest[:, 0], closest[:, 1])
            index[rest] = polygons.index.to_numpy()[near]
        return index, gap
    plat = np.radians(np.asarray(places["lat"], dtype=float))
    plon = np.radians(np.asarray(places["lon"], dtype=float))
    xyz = np.c_[np.cos(plat) * np.cos(plon), np.cos(plat) * np.sin(plon), np.sin(plat)]
    qlat, qlon = np.radians(lat), np.radians(lon)
    query = np.c_[np.cos(qlat) * np.cos(qlon), np.cos(qlat) * np.sin(qlon), np.sin(qlat)]
    _, index = cKDTree(xyz).query(query)
    gap = geodesic_km(lon, lat, np.degrees(plon[index]), np.degrees(plat[index]))
    return index, gap


def _report(problems, mask, rows, constraint, values) -> None:
    """Append ``<constraint>; got <values> in rows [...]`` when any row is flagged."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return
    flagged = rows[mask]
    shown = [v for v in pd.Series(values).reset_index(drop=True)[mask].tolist()][:3]
    shown = ["missing" if (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)))
             else v for v in shown]
    listed = flagged[:MAX_LISTED].tolist()
    more = f" and {len(flagged) - MAX_LISTED} more" if len(flagged) > MAX_LISTED else ""
    problems.append(f"{constraint}; got {shown} in rows {listed}{more}")
