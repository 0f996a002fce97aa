"""Build the mobility of a scenario from its ``[mobility]`` table: the mobility stage's API.

``build_mobility(places, table, base_dir=...)`` composes the world layers of ``geo/``
(:mod:`healthmob.worldlayers`), user corridor files (:mod:`healthmob.corridorfile`), the flow
models for missing volumes (:mod:`healthmob.flowmodels`) and shortest travel times over the
corridor graphs (:mod:`healthmob.traveltime`) into a :class:`~healthmob.mobility.Mobility`.
Writing (``mobility.nc``, ``corridors.gpkg``) is in :mod:`healthmob.mobilityio`; the config
schema in :mod:`healthmob.mobilityconfig`. All of them are re-exported here.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import ConfigError, DataError, join_problems
from ..store.resources import data_dir
from .config import (
    GLOBAL_DEFAULTS,
    layer_defaults,
    mobility_inputs,
    resolve_path,
    validate_mobility_config,
)
from .corridor_file import corridor_edges, read_corridor_file
from .edges import Edges, model_volumes
from .files import mobility_to_dataset, read_mobility, write_mobility
from .matrix import Mobility, MobilityLayer
from .places import validate_places
from .travel_time import DEFAULT_MODES, build_graph, routes_at_pairs
from .world import world_layer

__all__ = ["assemble_layer", "build_mobility", "mobility_inputs",
           "mobility_to_dataset", "read_mobility", "validate_mobility_config",
           "write_mobility"]

log = logging.getLogger(__name__)


def build_mobility(places: pd.DataFrame, table: dict, *,
                   base_dir: str | Path | None = None) -> Mobility:
    """Mobility layers of a scenario.

    Parameters
    ----------
    places : DataFrame or GeoDataFrame
        ``id`` (unique), ``population`` (persons), ``lat``/``lon`` (degrees) in engine order;
        a GeoDataFrame's polygons are used to match corridor ends by containment.
    table : dict
        The ``[mobility]`` table of the config (defaults are filled in here too).
    base_dir : path, optional
        Folder that relative corridor paths are resolved against (the config's folder);
        the working directory when omitted.

    Returns
    -------
    Mobility
        One layer per world layer and per corridor-file layer: flows (persons/day), travel
        time of the fastest route (days) and its length (km) on every pair with a flow.

    Raises
    ------
    ConfigError
        A bad ``[mobility]`` table (every problem listed).
    DataError
        Bad places or corridors (naming the file and rows); nothing is written.
    """
    base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
    cfg, problems = validate_mobility_config(table or {}, "mobility", base_dir=base_dir)
    if problems:
        raise ConfigError(join_problems("mobility", problems))
    frame = validate_places(places)[["id", "population", "lat", "lon"]]
    modes = {**{m: dict(v) for m, v in DEFAULT_MODES.items()}, **cfg["modes"]}
    edges: list[Edges] = [world_layer(name, frame, cfg[name], modes) for name in cfg["layers"]]
    polygons = None
    for k, value in enumerate(cfg["corridors"]):
        path = resolve_path(value, base_dir)
        raw = read_corridor_file(path)
        if polygons is None:
            polygons = place_polygons(places, cfg["match"]["polygons"], base_dir)
        edges += corridor_edges(raw, frame, modes=modes, where=str(path),
                                tolerance_km=cfg["match"]["tolerance_km"],
                                polygons=polygons if polygons is not False else None)
    names = list(dict.fromkeys(e.layer for e in edges))
    stray = sorted(k for k in cfg if k not in GLOBAL_DEFAULTS and k not in names)
    if stray:
        raise ConfigError(f"mobility: {[f'mobility.{s}' for s in stray]} configure no layer; "
                          f"layers: {names}")
    settings = {name: cfg.get(name) or layer_defaults(name) for name in names}
    for e in edges:
        _fill_volumes(e, settings[e.layer], frame)
    layers = {}
    for name in names:
        layers[name] = assemble_layer(name, [e for e in edges if e.layer == name], edges,
                                      settings[name], len(frame))
    return Mobility(tuple(frame["id"]), layers,
                    attrs={"effective_distance": cfg["effective_distance"]})


def place_polygons(places, setting: str, base_dir: Path):
    """Polygons to match corridor ends by containment, indexed by place position.

    ``setting`` is ``"none"``, ``"world"`` (``geo/countries.gpkg``), a vector file with
    ``id`` and polygons, or ``"auto"``: the places' own polygons, else the world countries
    when every place id is a country id, else none. Returns ``False`` for none.
    """
    import geopandas as gpd

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
    if setting == "auto" and not ids.isin(position.index).sum() == len(position):
        return False
    keep = ids.isin(position.index).to_numpy()
    series = shapes.to_crs(4326).geometry[keep]
    series.index = position[ids[keep]].to_numpy()
    return series


def _geometry(places):
    import geopandas as gpd

    if isinstance(places, gpd.GeoDataFrame) and places.geometry.name in places:
        if places.crs is None:
            raise DataError("places: geometry must declare a CRS; got none")
        return places.geometry.to_crs(4326)
    return None


def _fill_volumes(edges: Edges, cfg: dict, frame: pd.DataFrame) -> None:
    missing = ~np.isfinite(edges.volume_per_day)
    if missing.any():
        if cfg.get("flow_model", "none") == "none":
            raise DataError(f"{edges.source}: persons_per_day or persons_per_year must be a "
                            f"number >= 0 (or set mobility.{edges.layer}.flow_model to model "
                            f"missing volumes); got missing in rows "
                            f"{edges.rows[missing][:10].tolist()}")
        modelled, text = model_volumes(
            cfg, f"mobility.{edges.layer}", frame["population"].to_numpy(),
            frame["lat"].to_numpy(), frame["lon"].to_numpy(), edges.origin[missing],
            edges.destination[missing], edges.distance_km[missing])
        edges.volume_per_day = edges.volume_per_day.copy()
        edges.volume_per_day[missing] = modelled
        edges.description += f"; {missing.sum()} volumes from {text}"


def assemble_layer(name: str, own: list[Edges], every: list[Edges], cfg: dict,
                   n: int) -> MobilityLayer:
    """One MobilityLayer from its edges: flows, and the fastest route of every flow.

    Parameters
    ----------
    name : str
        Layer name.
    own : list of Edges
        The layer's corridors with volumes (persons/day) filled in.
    every : list of Edges
        All corridors of all layers (``travel_via`` picks the graph from them).
    cfg : dict
        The layer's resolved config (``scale``, ``travel_via``, ``coupling``, ``stay_days``).
    n : int
        Number of places.
    """
    volume = np.concatenate([e.volume_per_day for e in own]) * cfg["scale"]
    origin = np.concatenate([e.origin for e in own])
    destination = np.concatenate([e.destination for e in own])
    flow = sp.csr_array((volume, (origin, destination)), shape=(n, n))
    flow.sum_duplicates()
    flow.eliminate_zeros()
    via = cfg["travel_via"] or [name]
    known = {e.layer for e in every}
    unknown = [v for v in via if v not in known]
    if unknown:
        raise ConfigError(f"mobility.{name}.travel_via must name layers {sorted(known)}; "
                          f"got {unknown}")
    route = [e for e in every if e.layer in via]
    graph = build_graph(n, np.concatenate([e.origin for e in route]),
                        np.concatenate([e.destination for e in route]),
                        np.concatenate([e.time_days for e in route]),
                        np.concatenate([e.distance_km for e in route]))
    i, j = flow.nonzero()
    time, km = routes_at_pairs(graph, i, j)
    ok = np.isfinite(time)
    if not ok.all():
        log.warning("mobility layer %s: %d of %d flows have no route over %s", name,
                    (~ok).sum(), len(ok), via)
    travel_time = sp.csr_array((time[ok], (i[ok], j[ok])), shape=(n, n))
    distance = sp.csr_array((km[ok], (i[ok], j[ok])), shape=(n, n))
    modes = {e.mode for e in own}
    return MobilityLayer(name, flow, cfg["coupling"], float(cfg["stay_days"]), travel_time,
                         distance, mode=modes.pop() if len(modes) == 1 else "mixed",
                         description="; ".join(dict.fromkeys(e.description for e in own))
                         + (f"; x {cfg['scale']:g}" if cfg["scale"] != 1 else ""))
