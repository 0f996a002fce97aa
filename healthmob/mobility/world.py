"""Built-in layers of the embedded world: air, land, migration and return from ``geo/``.

Volumes are computed over the whole world table (so that choosing a subset of places does
not change any pair's flow), then restricted to the places of the run:

air, land
    Fitted together to UN Tourism travel totals of the reference year (:mod:`.travel`).
migration, return
    Migrant inflows (birth country -> residence) and returns (residence -> birth country)
    from the UN DESA stock series (:mod:`.migration_flows`); relocation coupling, travel
    times over the air and land corridors.

``geo/MOBILITY.md`` states every assumption with its source and compares the flows with
published figures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from ..store.resources import data_dir
from ..units import DAYS_PER_YEAR
from .config import MobilityConfig, resolve_path
from .edges import Edges, geodesic_km
from .migration_flows import stock_flows
from .places import read_table
from .travel import code, fit_travel
from .travel_time import edge_time_days

MARGIN_COLUMNS = ("arrivals_air", "arrivals_land", "departures")


def read_world_table(name: str) -> pd.DataFrame:
    """Read ``geo/<name>.csv`` (keeps Namibia's ISO2 "NA")."""
    path = data_dir("geo") / f"{name}.csv"
    if not path.is_file():
        raise DataError(f"{path}: world table not found; rebuild geo/ with "
                        f"'healthmob build-geo'")
    return pd.read_csv(path, keep_default_na=False, na_values=[""],
                       dtype={"origin": str, "destination": str, "iso3": str})


def read_margins(path: Path, ids: set[str]) -> pd.DataFrame:
    """Read a user margins table (``[mobility] margins``), checking every row.

    Raises
    ------
    DataError
        Naming the file, the row and what was expected: an ``iso3`` column of world place
        ids, at least one of :data:`MARGIN_COLUMNS`, values that are numbers >= 0.
    """
    try:
        table = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype=str)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read the margins table: {exc}") from None
    columns = [c for c in MARGIN_COLUMNS if c in table.columns]
    if "iso3" not in table.columns or not columns:
        raise DataError(f"{path}: a margins table needs columns iso3 and at least one of "
                        f"{list(MARGIN_COLUMNS)}; got {list(table.columns)}")
    for k, pid in enumerate(table["iso3"]):
        if pid not in ids:
            raise DataError(f"{path}: row {k + 2}: iso3 must be a world place id such as "
                            f"'IND'; got {pid!r}")
    for column in columns:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = (table[column].notna() & (values.isna() | (values < 0))).to_numpy()
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise DataError(f"{path}: row {k + 2}: {column} must be a number >= 0 (persons "
                            f"a year); got '{table[column].iat[k]}'")
        table[column] = values
    return table


def world_edges(places: pd.DataFrame, config: MobilityConfig,
                base_dir: Path | None = None) -> list[Edges]:
    """Corridors and volumes of the world layers of ``config`` between ``places``.

    Parameters
    ----------
    places : DataFrame
        Places of the run (``id`` = ISO3), in engine order.
    config : MobilityConfig
        The checked ``[mobility]`` section (``layers``, ``reference_year``, ``margins``).
    base_dir : Path, optional
        Folder a relative ``margins`` path is resolved against.

    Returns
    -------
    list of Edges
        One per world layer, volumes in persons/day (``scale`` not yet applied).
    """
    names = list(config.layers)
    world = read_table(data_dir("geo") / "places.csv")
    position = pd.Series(np.arange(len(world)), index=world["id"].to_numpy())
    every: dict[str, Edges] = {}
    if {"air", "land"} & set(names):
        tables = {t: read_world_table(t) for t in ("air", "land", "tourism", "visas")}
        user = read_margins(resolve_path(config.margins, base_dir), set(world["id"])) \
            if config.margins else None
        every.update(fit_travel(world, tables, config, user).edges)
    if {"migration", "return"} & set(names):
        every.update(migration_edges(world, position, config))
    ours = pd.Series(np.arange(len(places)), index=places["id"].to_numpy())
    out = []
    for name in names:
        edges = every[name]
        ids = world["id"].to_numpy()
        o, d = ids[edges.origin], ids[edges.destination]
        keep = np.isin(o, ours.index) & np.isin(d, ours.index) & (edges.volume_per_day > 0)
        if len(places) > 1 and not keep.any():
            raise DataError(f"mobility.layers: world layer {name!r} joins none of the places; "
                            f"world layers need ISO3 place ids such as {list(ids[:3])}; got "
                            f"{places['id'].head(3).tolist()}")
        out.append(Edges(layer=name, origin=ours[o[keep]].to_numpy(),
                         destination=ours[d[keep]].to_numpy(),
                         volume_per_day=edges.volume_per_day[keep],
                         time_days=edges.time_days[keep], distance_km=edges.distance_km[keep],
                         mode=edges.mode, source=str(data_dir("geo") / Path(edges.source).name),
                         rows=edges.rows[keep], description=edges.description,
                         volume_source=edges.volume_source[keep]))
    return out


def migration_edges(world: pd.DataFrame, position: pd.Series,
                    config: MobilityConfig) -> dict[str, Edges]:
    """``migration`` (inflows) and ``return`` edges over world place indices."""
    cfg = config.layer("migration")
    stocks = read_world_table("migration")
    stocks = stocks[stocks["origin"].isin(position.index)
                    & stocks["destination"].isin(position.index)]
    flows = stock_flows(stocks, config.reference_year, cfg.return_rate_per_year,
                        cfg.death_rate_per_year)
    birth = position[flows["origin"]].to_numpy()
    home = position[flows["destination"]].to_numpy()
    lat, lon = world["lat"].to_numpy(), world["lon"].to_numpy()
    distance = geodesic_km(lon[birth], lat[birth], lon[home], lat[home])
    mode = config.all_modes()["migration"]
    time = edge_time_days(distance, mode.speed_kmh, mode.overhead_hours)
    rows = np.arange(1, len(stocks) + 1)
    codes = np.full(len(flows), code("stock_change"), dtype=np.int8)
    rates = ", ".join(f"{k} {v:g}" for k, v in cfg.return_rate_per_year.items())
    text = (f"UN DESA 2024 bilateral migrant stock (geo/migration.csv) around "
            f"{config.reference_year}: stock growth plus replacement of deaths "
            f"({cfg.death_rate_per_year:g}/year) and returns ({rates} per year)")
    inflow = Edges("migration", birth, home, flows["inflow_per_year"].to_numpy() / DAYS_PER_YEAR,
                   time, distance, "migration", "geo/migration.csv", rows,
                   f"inflows: {text}", codes)
    back = Edges("return", home, birth, flows["return_per_year"].to_numpy() / DAYS_PER_YEAR,
                 time, distance, "migration", "geo/migration.csv", rows,
                 f"returns to the country of birth: {text}", codes)
    return {"migration": inflow, "return": back}
