"""Mobility out: a CF xarray Dataset (``mobility.nc``) and a GeoPackage of corridors.

Up to :data:`DENSE_LIMIT` places the Dataset holds dense ``(origin, destination, layer)``
arrays (177 countries x 3 layers is 0.75 MB). Above it, the arrays are stored sparse by CF
"compression by gathering" (CF 1.10 section 8.2): a ``pair`` dimension whose coordinate is
``origin_index * n_places + destination_index`` with ``compress = "origin destination"``,
so no dense N x N x layer array is ever built. :func:`read_mobility` reads both forms.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import xarray as xr

from .. import __version__
from ..errors import DataError
from ..schema import CONVENTIONS, require_conforming
from ..store.atomic import atomic_path
from ..store.netcdf import write_dataset
from .effective_distance import effective_distance
from .matrix import VOLUME_SOURCE_ATTRS, VOLUME_SOURCES, Mobility, MobilityLayer

log = logging.getLogger(__name__)

DENSE_LIMIT = 500
"""Most places stored dense in mobility.nc (500^2 pairs x 3 layers x 25 bytes: 19 MB)."""
VARIABLES = {
    "flow": {"units": "day-1", "long_name": "persons per day travelling from origin to "
                                            "destination"},
    "travel_time": {"units": "day", "long_name": "travel time of the fastest route over the "
                                                 "corridor graph (mode speeds plus overheads)"},
    "distance": {"units": "km", "long_name": "geodesic length of the fastest route"},
}
EFFECTIVE = {"units": "1", "long_name": "effective distance D_eff from origin to destination "
             "over all layers' combined flows (Brockmann & Helbing 2013)",
             "comment": "shortest path of 1 - ln P, P = share of origin's travellers per link; "
                        "0 on the diagonal, inf where unreachable"}


def mobility_to_dataset(mobility: Mobility, places: pd.DataFrame | None = None, *,
                        dense_limit: int = DENSE_LIMIT) -> xr.Dataset:
    """Label a Mobility as a CF Dataset with dims ``origin, destination, layer``.

    Parameters
    ----------
    mobility : Mobility
    places : DataFrame, optional
        ``id`` with ``name``, ``lat``, ``lon``: joined by id to label origins/destinations.
    dense_limit : int
        Largest number of places stored dense; above it, gathered pairs.

    Returns
    -------
    xarray.Dataset
        ``flow`` (persons/day), ``travel_time`` (days), ``distance`` (km) per layer;
        ``effective_distance(origin, destination)`` from the combined flows when dense and
        ``mobility.attrs["effective_distance"]`` is not False; per-layer ``coupling``,
        ``stay_days``, ``mode`` and ``description``.
    """
    n = mobility.n_places
    names = list(mobility.layers)
    ids = np.array(mobility.place_ids, dtype=str)
    coords = {"origin": ("origin", ids, {"long_name": "place id of the origin"}),
              "destination": ("destination", ids, {"long_name": "place id of the destination"}),
              "layer": ("layer", np.array(names, dtype=str), {"long_name": "mobility layer"})}
    coords.update(_place_coords(mobility, places))
    layers = [mobility.layers[k] for k in names]
    data = {
        "stay_days": (("layer",), np.array([lay.stay_days for lay in layers], dtype=float),
                      {"units": "day", "long_name": "mean stay of a visitor at the destination"
                                                    " (visiting coupling)"}),
    }
    coords["coupling"] = ("layer", np.array([lay.coupling for lay in layers], dtype=str),
                          {"long_name": "how travellers couple places: relocation or visiting"})
    coords["mode"] = ("layer", np.array([lay.mode or "" for lay in layers], dtype=str),
                      {"long_name": "travel mode of the layer's corridors"})
    coords["description"] = ("layer", np.array([lay.description for lay in layers], dtype=str),
                             {"long_name": "source and assumptions of the layer's volumes"})
    mats = {"flow": [lay.flow for lay in layers],
            "travel_time": [_or_empty(lay.travel_time, n) for lay in layers],
            "distance": [_or_empty(lay.distance, n) for lay in layers]}
    if n <= dense_limit:
        for key, matrices in mats.items():
            arr = np.stack([_dense(m, 0.0 if key == "flow" else np.nan) for m in matrices],
                           axis=-1) if layers else np.zeros((n, n, 0))
            data[key] = (("origin", "destination", "layer"), arr, dict(VARIABLES[key]))
        every = np.arange(n)
        data["volume_source"] = (("origin", "destination", "layer"), mobility.volume_sources(
            np.repeat(every, n), np.tile(every, n)).reshape(n, n, len(layers)),
                                 dict(VOLUME_SOURCE_ATTRS))
        if mobility.attrs.get("effective_distance", True) and n > 1:
            data["effective_distance"] = (("origin", "destination"),
                                          effective_distance(mobility.combined_flow()),
                                          dict(EFFECTIVE))
    else:
        union = sp.csr_array((n, n))
        for lay in layers:
            union = union + (lay.flow != 0).astype(float)
        i, j = sp.csr_array(union).nonzero()
        key = i.astype(np.int64) * n + j
        coords["pair"] = ("pair", key, {"long_name": "gathered (origin, destination) pair",
                                        "compress": "origin destination"})
        for name, matrices in mats.items():
            cols = [_gather(m, i, j) for m in matrices]
            arr = np.stack(cols, axis=-1) if cols else np.zeros((len(i), 0))
            if name != "flow":
                arr = np.where(arr > 0, arr, np.nan)
            data[name] = (("pair", "layer"), arr, dict(VARIABLES[name]))
        data["volume_source"] = (("pair", "layer"), mobility.volume_sources(i, j),
                                 dict(VOLUME_SOURCE_ATTRS))
    ds = xr.Dataset(data, coords={k: xr.Variable(*v) for k, v in coords.items()})
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    ds.attrs = {"title": "healthmob mobility layers", "source": f"healthmob {__version__}",
                "history": f"{now} healthmob mobility", "Conventions": CONVENTIONS,
                "references": "Brockmann D, Helbing D (2013) Science 342:1337 (effective "
                              "distance); see docs/mobility.md for the volume assumptions"}
    return require_conforming(ds, "mobility.nc")


def write_mobility(mobility: Mobility, places: pd.DataFrame, directory: str | Path
                   ) -> list[Path]:
    """Write ``mobility.nc`` and ``corridors.gpkg`` into ``directory`` atomically
    (``corridors.gpkg``, 3 MB and about 0.15 s for the world, only when some place has
    coordinates: without them a corridor has no line to draw).

    Parameters
    ----------
    mobility : Mobility
    places : DataFrame
        ``id`` with ``name``, ``lat``, ``lon``; joined by id.
    directory : Path
        An existing folder.

    Returns
    -------
    list of Path
        The files written.
    """
    directory = Path(directory)
    ds = mobility_to_dataset(mobility, places)
    nc = write_dataset(ds, directory / "mobility.nc")
    located = [np.isfinite(pd.to_numeric(places[c], errors="coerce").to_numpy(float))
               for c in ("lat", "lon") if c in places]
    if len(located) < 2 or not (located[0] & located[1]).any():
        log.info("corridors.gpkg left out: no place has coordinates (the corridors are in "
                 "mobility.nc)")
        return [nc]
    gpkg = directory / "corridors.gpkg"
    frame = corridors_frame(mobility, places)
    with atomic_path(gpkg) as tmp:
        frame.to_file(tmp, driver="GPKG", layer="corridors", engine="pyogrio")
    return [nc, gpkg]


def corridors_frame(mobility: Mobility, places: pd.DataFrame):
    """One LineString per (layer, origin, destination) with a flow, EPSG:4326.

    Columns: ``layer, mode, coupling, origin, destination, origin_name, destination_name,
    persons_per_day, volume_source, travel_time_days, distance_km``; readable again as a
    corridor file.
    """
    import geopandas as gpd  # only to write corridors.gpkg (fast start-up otherwise)
    import shapely

    table = _joined(mobility, places)
    rows = []
    for name, lay in mobility.layers.items():
        flow = sp.coo_array(lay.flow)
        i, j = flow.row, flow.col
        rows.append(pd.DataFrame({
            "layer": name, "mode": lay.mode or name, "coupling": lay.coupling,
            "origin": table["id"].to_numpy()[i], "destination": table["id"].to_numpy()[j],
            "origin_name": table["name"].to_numpy()[i],
            "destination_name": table["name"].to_numpy()[j],
            "persons_per_day": flow.data,
            "volume_source": source_names(_gather(_or_empty(lay.volume_source, len(table)),
                                                  i, j)),
            "travel_time_days": _at(lay.travel_time, i, j),
            "distance_km": _at(lay.distance, i, j),
            "_i": i, "_j": j}))
    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["layer", "mode", "coupling", "origin", "destination", "origin_name",
                 "destination_name", "persons_per_day", "volume_source", "travel_time_days",
                 "distance_km", "_i", "_j"])
    lon, lat = table["lon"].to_numpy(float), table["lat"].to_numpy(float)
    i, j = frame.pop("_i").to_numpy(int), frame.pop("_j").to_numpy(int)
    coords = np.stack([np.c_[lon[i], lat[i]], np.c_[lon[j], lat[j]]], axis=1)
    placed = np.isfinite(coords).all(axis=(1, 2))       # places without coordinates: None
    lines = np.full(len(frame), None, dtype=object)
    if placed.any():
        lines[placed] = shapely.linestrings(coords[placed])
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(lines, crs=4326), crs=4326)


def source_names(codes) -> np.ndarray:
    """The :data:`~healthmob.mobility.matrix.VOLUME_SOURCES` name of each code ("" for 0)."""
    names = np.array(("", *VOLUME_SOURCES), dtype=object)
    return names[np.asarray(codes, dtype=int)]


def read_mobility(path: str | Path) -> Mobility:
    """Read ``mobility.nc`` (dense or gathered) back into a :class:`Mobility`."""
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        ds = ds.load()
    ids = tuple(str(v) for v in ds["origin"].values)
    n = len(ids)
    layers = {}
    for k, name in enumerate(str(v) for v in ds["layer"].values):
        mats = {}
        for var in ("flow", "travel_time", "distance", "volume_source"):
            if var not in ds:
                mats[var] = None
                continue
            values = ds[var].isel(layer=k).values.astype(float)
            if "pair" in ds.dims:
                key = ds["pair"].values
                i, j = key // n, key % n
            else:
                i, j = np.nonzero(np.isfinite(values) & (values != 0))
                values = values[i, j]
            ok = np.isfinite(values) & (values != 0)
            mats[var] = sp.csr_array((values[ok], (i[ok], j[ok])), shape=(n, n))
        layers[name] = MobilityLayer(name, mats["flow"], str(ds["coupling"].values[k]),
                                     float(ds["stay_days"].values[k]), mats["travel_time"],
                                     mats["distance"], str(ds["mode"].values[k]),
                                     str(ds["description"].values[k]), mats["volume_source"])
    return Mobility(ids, layers)


def _joined(mobility: Mobility, places: pd.DataFrame | None) -> pd.DataFrame:
    ids = list(mobility.place_ids)
    if places is None:
        return pd.DataFrame({"id": ids, "name": ids, "lat": np.nan, "lon": np.nan})
    table = pd.DataFrame(places).drop_duplicates("id").set_index(
        pd.DataFrame(places).drop_duplicates("id")["id"].astype(str))
    missing = [p for p in ids if p not in table.index]
    if missing:
        raise DataError(f"mobility: places must include every mobility place id; missing "
                        f"{missing[:10]}")
    out = pd.DataFrame({"id": ids})
    for column in ("name", "lat", "lon"):
        out[column] = table[column].reindex(ids).to_numpy() if column in table.columns \
            else (ids if column == "name" else np.nan)
    return out


def _place_coords(mobility, places) -> dict:
    if places is None:
        return {}
    table = _joined(mobility, places)
    out = {}
    for side in ("origin", "destination"):
        out[f"{side}_name"] = (side, table["name"].astype(str).to_numpy(dtype=str),
                               {"long_name": f"{side} place name"})
        out[f"{side}_lat"] = (side, table["lat"].to_numpy(float), {
            "standard_name": "latitude", "units": "degrees_north",
            "long_name": f"latitude of the {side}'s population centre"})
        out[f"{side}_lon"] = (side, table["lon"].to_numpy(float), {
            "standard_name": "longitude", "units": "degrees_east",
            "long_name": f"longitude of the {side}'s population centre"})
    return out


def _or_empty(matrix, n):
    return matrix if matrix is not None else sp.csr_array((n, n))


def _dense(matrix, fill: float) -> np.ndarray:
    """Dense copy of a sparse matrix with ``fill`` where it has no entry."""
    dense = np.asarray(sp.csr_array(matrix).toarray(), dtype=float)
    return dense if fill == 0.0 else np.where(dense != 0, dense, fill)


def _gather(matrix, i, j) -> np.ndarray:
    """Entries ``matrix[i[k], j[k]]`` (0 where absent) without densifying."""
    if len(i) == 0:
        return np.zeros(0)
    return np.asarray(sp.csr_array(matrix)[np.asarray(i), np.asarray(j)], dtype=float).ravel()


def _at(matrix, i, j) -> np.ndarray:
    if matrix is None or len(i) == 0:
        return np.full(len(i), np.nan)
    values = _gather(matrix, i, j)
    return np.where(values > 0, values, np.nan)
