"""Geometry of the outputs: country polygons joined to results by id, corridor lines.

Geometry lives here, at the edge (docs/architecture.md): country polygons come from the
shipped ``geo/countries.gpkg`` and are joined to results **by id, never by position**; a
place without a polygon is drawn as a point at its population centre.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely
from pyproj import Geod

from ..mobility.files import corridors_frame
from ..mobility.matrix import Mobility, MobilityLayer
from ..store.resources import data_dir
from ..units import DAYS_PER_YEAR
from .tables import RunFiles, corridor_table, place_table


def country_shapes(ids, lat=None, lon=None, notes: list[str] | None = None):
    """Geometry of each place id: its country polygon, else a point at (lon, lat).

    Polygons come from the shipped ``geo/countries.gpkg`` (layer ``countries``), joined by
    ``id``. Places with no polygon and no finite centre get an empty geometry.

    Returns
    -------
    geopandas.GeoSeries
        Aligned with ``ids``, EPSG:4326.
    """
    ids = [str(p) for p in ids]
    polygons = {}
    path = data_dir("geo") / "countries.gpkg"
    try:
        countries = gpd.read_file(path, layer="countries", engine="pyogrio").to_crs(4326)
        polygons = dict(zip(countries["id"].astype(str), countries.geometry))
    except Exception as exc:  # pyogrio raises several types; the map can still use points
        if notes is not None:
            notes.append(f"{path}: country polygons could not be read ({exc}): points drawn")
    lat = np.full(len(ids), np.nan) if lat is None else np.asarray(lat, dtype=float)
    lon = np.full(len(ids), np.nan) if lon is None else np.asarray(lon, dtype=float)
    shapes = []
    for pid, y, x in zip(ids, lat, lon):
        if pid in polygons:
            shapes.append(polygons[pid])
        elif np.isfinite(x) and np.isfinite(y):
            shapes.append(shapely.Point(x, y))
        else:
            shapes.append(shapely.Point())
    without = [pid for pid in ids if pid not in polygons]
    if without and notes is not None and polygons:
        notes.append(f"{len(without)} places have no polygon in countries.gpkg and are drawn "
                     f"as points: {', '.join(without[:12])}{' ...' if len(without) > 12 else ''}")
    return gpd.GeoSeries(shapes, crs=4326)


def outside_countries(ids):
    """Countries of ``geo/countries.gpkg`` that are not among ``ids`` (drawn as context).

    Returns
    -------
    geopandas.GeoDataFrame
        ``id, name, geometry`` (EPSG:4326); empty when the file cannot be read.
    """
    try:
        countries = gpd.read_file(data_dir("geo") / "countries.gpkg", layer="countries",
                                  engine="pyogrio").to_crs(4326)
    except Exception:  # country_shapes has already noted it; no context then
        return gpd.GeoDataFrame({"id": [], "name": []}, geometry=[], crs=4326)
    keep = ~countries["id"].astype(str).isin({str(p) for p in ids})
    return countries.loc[keep, ["id", "name", "geometry"]].reset_index(drop=True)


def places_geoframe(run: RunFiles):
    """The ``places`` layer: ``id, name, lat, lon``, every per-place risk column, geometry."""
    table = place_table(run)
    geometry = country_shapes(table["id"], table["lat"], table["lon"], run.notes)
    return gpd.GeoDataFrame(table, geometry=geometry.values, crs=4326)


def corridors_geoframe(run: RunFiles):
    """The ``corridors`` layer: one LineString per corridor with a flow.

    Columns ``origin, destination, layer, origin_name, destination_name, flow`` (persons per
    year), ``arrives_as``, ``travel_time`` (days) and the arrivals of every measure (persons
    per year); straight lines between the
    population centres, as :func:`healthmob.mobility.files.corridors_frame` draws them.
    """
    table = corridor_table(run)
    if table.empty:
        return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries([], crs=4326), crs=4326)
    ids = [str(p) for p in run.risk["origin"].values]
    index = {pid: n for n, pid in enumerate(ids)}
    layers = {}
    for name, group in table.groupby("layer", sort=False):
        i = group["origin"].map(index).to_numpy()
        j = group["destination"].map(index).to_numpy()
        flow = sp.csr_array((group["flow"].to_numpy() / DAYS_PER_YEAR, (i, j)),
                            shape=(len(ids), len(ids)))
        layers[name] = MobilityLayer(name, flow, mode=name)
    places = place_table(run)
    places = places if len(places) else None
    lines = corridors_frame(Mobility(tuple(ids), layers), places)
    key = ["layer", "origin", "destination"]
    merged = lines[key + ["geometry"]].merge(table, on=key, how="right", validate="1:1")
    columns = ["origin", "destination", "layer"] + [c for c in table.columns if c not in key]
    return gpd.GeoDataFrame(merged[columns], geometry=merged["geometry"].values, crs=4326)


def great_circle(lon1: float, lat1: float, lon2: float, lat2: float, n: int = 48):
    """Points along the great circle between two points, split where it crosses 180°.

    Returns
    -------
    list of numpy.ndarray
        One ``(k, 2)`` array of (lon, lat) degrees per piece; two pieces when the path
        crosses the antimeridian (each piece ends on it), so no line wraps across the map.
    """
    middle = Geod(ellps="WGS84").npts(lon1, lat1, lon2, lat2, n)
    points = np.array([(lon1, lat1), *middle, (lon2, lat2)], dtype=float)
    pieces, start = [], 0
    for k in np.flatnonzero(np.abs(np.diff(points[:, 0])) > 180):
        a, b = points[k], points[k + 1]
        edge = 180.0 if a[0] > 0 else -180.0
        b_lon = b[0] + (360.0 if edge > 0 else -360.0)
        t = (edge - a[0]) / (b_lon - a[0])
        lat = a[1] + t * (b[1] - a[1])
        pieces.append(np.vstack([points[start:k + 1], [edge, lat]]))
        points[k] = (-edge, lat)           # the next piece starts on the other side
        start = k
    pieces.append(points[start:])
    return pieces
