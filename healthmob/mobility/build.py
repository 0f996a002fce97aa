"""Build the mobility of a scenario from its ``[mobility]`` section: the stage's entry point.

:func:`build_mobility` composes the world layers of ``geo/`` (:mod:`.world`), user corridor
files (:mod:`.corridor_file`), the flow models for missing volumes (:mod:`.edges`,
:mod:`.flow_models`) and shortest travel times over the corridor graphs (:mod:`.travel_time`)
into a :class:`~healthmob.mobility.matrix.Mobility`. Writing ``mobility.nc`` and
``corridors.gpkg`` is :mod:`.files`; the section's keys are :mod:`.config`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import ConfigError, DataError
from .config import LAYER_DEFAULTS, LayerConfig, MobilityConfig, mobility_config, resolve_path
from .corridor_file import corridor_edges, read_corridor_file
from .edges import Edges, model_volumes
from .matrix import VOLUME_SOURCES, Mobility, MobilityLayer
from .places import place_polygons, validate_places
from .travel_time import build_graph, routes_at_pairs
from .world import world_edges

log = logging.getLogger(__name__)


def build_mobility(places: pd.DataFrame, config: MobilityConfig | dict, *,
                   base_dir: str | Path | None = None, source: str | Path | None = None
                   ) -> Mobility:
    """Mobility layers of a scenario.

    Parameters
    ----------
    places : DataFrame or GeoDataFrame
        ``id`` (unique), ``population`` (persons), ``lat``/``lon`` (degrees) in engine order;
        a GeoDataFrame's polygons are used to match corridor ends by containment.
    config : MobilityConfig or dict
        The scenario's checked ``[mobility]`` section, or a ``[mobility]`` table to check
        (:func:`healthmob.mobility.config.mobility_config`).
    base_dir : path, optional
        Folder that relative corridor paths are resolved against (the config's folder);
        the working directory when omitted.
    source : path, optional
        The config file, named by the errors about its ``[mobility]`` keys.

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
    if not isinstance(config, MobilityConfig):
        config = mobility_config(config, base_dir)
    frame = validate_places(places)[["id", "population", "lat", "lon"]]
    modes = config.all_modes()
    edges: list[Edges] = world_edges(frame, config, base_dir) if config.layers else []
    polygons = None
    for value in config.corridors:
        path = resolve_path(value, base_dir)
        raw = read_corridor_file(path)
        if polygons is None and hasattr(raw, "crs"):   # an edge table names its places
            polygons = place_polygons(places, config.match.polygons, base_dir)
        edges += corridor_edges(raw, frame, modes=modes, where=str(path),
                                tolerance_km=config.match.tolerance_km,
                                polygons=polygons if polygons is not False else None)
    names = list(dict.fromkeys(e.layer for e in edges))
    where = f"{source}: mobility" if source else "mobility"
    stray = sorted(k for k in config.layer_settings if k not in names)
    if stray:
        raise ConfigError(f"{where}: {[f'mobility.{s}' for s in stray]} configure no layer; "
                          f"layers: {names}")
    for name in names:   # a default route may name layers the run lacks (migration: land)
        via = tuple(config.layer(name).travel_via or ())
        unknown = [v for v in via if v not in names]
        if unknown and via != tuple(LAYER_DEFAULTS.get(name, {}).get("travel_via", ())):
            raise ConfigError(f"{where}.{name}.travel_via must name layers of the run "
                              f"{names}; got {unknown}")
        if unknown and len(unknown) == len(via):
            log.info("mobility layer %s: none of its default travel layers %s is in the run; "
                     "its travel times come from its own corridors", name, list(via))
    for e in edges:
        _fill_volumes(e, config.layer(e.layer), frame)
    layers = {name: assemble_layer(name, [e for e in edges if e.layer == name], edges,
                                   config.layer(name), len(frame)) for name in names}
    return Mobility(tuple(frame["id"]), layers,
                    attrs={"effective_distance": config.effective_distance})


def _fill_volumes(edges: Edges, cfg: LayerConfig, frame: pd.DataFrame) -> None:
    missing = ~np.isfinite(edges.volume_per_day)
    if len(edges.volume_source) != len(edges.volume_per_day):
        edges.volume_source = np.where(missing, VOLUME_SOURCES.index("modelled") + 1,
                                       VOLUME_SOURCES.index("user_file") + 1).astype(np.int8)
    if missing.any():
        if (cfg.flow_model or "none") == "none":
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


def assemble_layer(name: str, own: list[Edges], every: list[Edges], cfg: LayerConfig,
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
    cfg : LayerConfig
        The layer's settings (``scale``, ``travel_via``, ``coupling``, ``stay_days``).
    n : int
        Number of places.
    """
    volume = np.concatenate([e.volume_per_day for e in own]) * cfg.scale
    origin = np.concatenate([e.origin for e in own])
    destination = np.concatenate([e.destination for e in own])
    flow = sp.csr_array((volume, (origin, destination)), shape=(n, n))
    flow.sum_duplicates()
    flow.eliminate_zeros()
    codes = np.concatenate([e.volume_source for e in own]).astype(float)
    i, j = flow.nonzero()
    source = sp.csr_array((_first_code(origin, destination, codes, i, j, n), (i, j)),
                          shape=(n, n))
    known = {e.layer for e in every}
    via = [v for v in cfg.travel_via if v in known] or [name]   # the run's layers of them
    route = [e for e in every if e.layer in via]
    graph = build_graph(n, np.concatenate([e.origin for e in route]),
                        np.concatenate([e.destination for e in route]),
                        np.concatenate([e.time_days for e in route]),
                        np.concatenate([e.distance_km for e in route]))
    time, km = routes_at_pairs(graph, i, j)
    ok = np.isfinite(time)
    if not ok.all():
        log.warning("mobility layer %s: %d of %d flows have no route over %s", name,
                    (~ok).sum(), len(ok), via)
    travel_time = sp.csr_array((time[ok], (i[ok], j[ok])), shape=(n, n))
    distance = sp.csr_array((km[ok], (i[ok], j[ok])), shape=(n, n))
    modes = {e.mode for e in own}
    return MobilityLayer(name, flow, cfg.coupling, float(cfg.stay_days), travel_time,
                         distance, mode=modes.pop() if len(modes) == 1 else "mixed",
                         description="; ".join(dict.fromkeys(e.description for e in own))
                         + (f"; x {cfg.scale:g}" if cfg.scale != 1 else ""),
                         volume_source=source)


def _first_code(origin, destination, codes, i, j, n) -> np.ndarray:
    """The volume-source code of each flow (i, j): that of its first edge."""
    key = np.asarray(origin, dtype=np.int64) * n + np.asarray(destination)
    first = pd.Series(codes, index=key)
    first = first[~first.index.duplicated()]
    return first.reindex(np.asarray(i, dtype=np.int64) * n + j).to_numpy(dtype=float)
