"""Built-in layers of the embedded world: air, land and migration from the ``geo/`` tables.

Volumes are computed over the whole world table (so that choosing a subset of places does
not change any pair's flow), then restricted to the places of the run. The assumptions
below are the defaults of ``[mobility.air|land|migration]``; ``geo/MOBILITY.md`` compares
the resulting flows with published figures.

air
    ``geo/air.csv``: directed country pairs with OpenFlights routes (June 2014). Persons per
    day on pair ij = ``T_air * w_ij / sum w`` with ``w_ij = n_routes_ij**route_exponent *
    N_i**exponent_origin * N_j**exponent_destination`` (defaults 1, 0, 0: proportional to
    route counts) and ``T_air`` = 1.5e9 international passengers a year (IATA WATS: 4.4 bn
    passengers in 2018, the top five nationalities on international routes 1.47 bn
    together being 36 % -> ~1.47 bn international; UNWTO: 58 % of 1.4-1.5 bn tourist
    arrivals by air, two flights per trip). Corridor length: route-weighted mean airport
    geodesic distance.
land
    ``geo/land.csv``: directed pairs of countries sharing a land border; length = geodesic
    distance between population centres. Gravity volumes, exponential kernel (scale
    1,000 km) and population exponents 0.5, scaled to 1.1e9 crossings a year (UNWTO 2019:
    1.5 bn tourist arrivals, ~37 % by road or rail; two crossings per trip; same-day
    visitors are not included).
migration
    ``geo/migration.csv``: UN DESA 2019 bilateral migrant stock S_ij (born in i, living in j).
    Persons per day = ``S_ij * turnover_per_year / 365.25`` with turnover 0.04 a year (Abel &
    Sander 2014: ~0.6 % of the world population, ~41 M people, moved country in 2005-2010,
    i.e. ~8 M a year against a stock of ~214 M in 2010). Relocation coupling; travel
    times over the air and land corridors.

References
----------
Abel GJ, Sander N (2014). Quantifying global international migration flows. Science
343:1520-1522.
IATA (2019). World Air Transport Statistics 2019.
UNWTO (2019, 2020). International Tourism Highlights 2019; World Tourism Barometer 18(1).
United Nations DESA Population Division (2019). International Migrant Stock 2019
(POP/DB/MIG/Stock/Rev.2019).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError
from ..store.resources import data_dir
from ..units import DAYS_PER_YEAR
from .config import LayerConfig, ModeConfig
from .edges import Edges, geodesic_km, model_volumes, per_day
from .places import read_table
from .travel_time import edge_time_days


def read_world_table(name: str) -> pd.DataFrame:
    """Read ``geo/<name>.csv`` (keeps Namibia's ISO2 "NA")."""
    path = data_dir("geo") / f"{name}.csv"
    if not path.is_file():
        raise DataError(f"{path}: world table not found; rebuild geo/ with "
                        f"'healthmob build-geo'")
    return pd.read_csv(path, keep_default_na=False, na_values=[""],
                       dtype={"origin": str, "destination": str})


def air_volumes(n_routes, population_origin, population_destination,
                cfg: LayerConfig) -> tuple[np.ndarray, str]:
    """Air passengers per day on each directed country pair (the air assumption above).

    Parameters
    ----------
    n_routes : ndarray
        OpenFlights airline routes on each pair.
    population_origin, population_destination : ndarray
        Persons at each end.
    cfg : LayerConfig
        ``route_exponent``, ``exponent_origin``, ``exponent_destination`` and
        ``total_per_year`` or ``total_per_day`` (international passengers, all pairs).

    Returns
    -------
    volumes : ndarray
        Persons per day.
    description : str
    """
    weights = (np.asarray(n_routes, dtype=float) ** cfg.route_exponent
               * np.asarray(population_origin, dtype=float) ** cfg.exponent_origin
               * np.asarray(population_destination, dtype=float) ** cfg.exponent_destination)
    key, value = cfg.normalisation()
    total = per_day(value, key)
    text = (f"OpenFlights routes 2014 (geo/air.csv): {total:,.0f} international passengers "
            f"per day shared by n_routes^{cfg.route_exponent:g} x "
            f"N_origin^{cfg.exponent_origin:g} x N_destination^{cfg.exponent_destination:g}")
    return weights * (total / weights.sum()), text


def world_layer(name: str, places: pd.DataFrame, cfg: LayerConfig,
                modes: dict[str, ModeConfig]) -> Edges:
    """Corridors and volumes of world layer ``name`` between ``places``.

    Parameters
    ----------
    name : {"air", "land", "migration"}
    places : DataFrame
        Places of the run (``id`` = ISO3), in engine order.
    cfg : LayerConfig
        The layer's settings (``[mobility.<name>]``).
    modes : dict of str to ModeConfig
        Speed and overhead of every mode.

    Returns
    -------
    Edges
        Volumes in persons/day (``scale`` not yet applied).
    """
    world = read_table(data_dir("geo") / "places.csv").set_index("id")
    table = read_world_table(name)
    table = table[table["origin"].isin(world.index) & table["destination"].isin(world.index)]
    population = world["population"].to_numpy(dtype=float)
    position = pd.Series(np.arange(len(world)), index=world.index)
    o_world = position[table["origin"]].to_numpy()
    d_world = position[table["destination"]].to_numpy()
    label = f"mobility.{name}"
    if name == "air":
        volumes, text = air_volumes(table["n_routes"].to_numpy(dtype=float),
                                    population[o_world], population[d_world], cfg)
        distance = table["distance_km"].to_numpy(dtype=float)
    elif name == "land":
        closed = {frozenset(pair.split("-")) for pair in cfg.closed_borders}
        table = table[[frozenset(p) not in closed
                       for p in zip(table["origin"], table["destination"])]]
        o_world = position[table["origin"]].to_numpy()
        d_world = position[table["destination"]].to_numpy()
        distance = table["distance_km"].to_numpy(dtype=float)
        volumes, text = model_volumes(cfg, label, population, world["lat"].to_numpy(),
                                      world["lon"].to_numpy(), o_world, d_world, distance)
        text = f"land borders (geo/land.csv), {text}"
    elif name == "migration":
        volumes = (table["migrant_stock"].to_numpy(dtype=float) * cfg.turnover_per_year
                   / DAYS_PER_YEAR)
        lat, lon = world["lat"].to_numpy(), world["lon"].to_numpy()
        distance = geodesic_km(lon[o_world], lat[o_world], lon[d_world], lat[d_world])
        text = (f"UN DESA 2019 bilateral migrant stock (geo/migration.csv) x turnover "
                f"{cfg.turnover_per_year:g} per year")
    else:
        raise DataError(f"mobility.layers: world layer must be one of air, land, migration; "
                        f"got {name!r}")
    ours = pd.Series(np.arange(len(places)), index=places["id"].to_numpy())
    keep = (table["origin"].isin(ours.index) & table["destination"].isin(ours.index)).to_numpy()
    if len(places) > 1 and not keep.any():
        raise DataError(f"mobility.layers: world layer {name!r} joins none of the places; "
                        f"world layers need ISO3 place ids such as "
                        f"{world.index[:3].tolist()}; got {places['id'].head(3).tolist()}")
    mode = modes[name]
    return Edges(
        layer=name,
        origin=ours[table["origin"][keep]].to_numpy(),
        destination=ours[table["destination"][keep]].to_numpy(),
        volume_per_day=volumes[keep],
        time_days=edge_time_days(distance[keep], mode.speed_kmh, mode.overhead_hours),
        distance_km=distance[keep],
        mode=name,
        source=str(data_dir("geo") / f"{name}.csv"),
        rows=np.flatnonzero(keep) + 1,
        description=text,
    )
