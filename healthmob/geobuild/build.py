"""Build the embedded world dataset (``geo/``) from the raw public files: :func:`build`.

Called by ``healthmob build-geo [--data DIR] [--out DIR]``, which prints
:func:`summary_lines` of the returned counts. :func:`build` reads the raw files named in
:data:`RAW_FILES` (relative to the data folder), derives the tables with :mod:`.places`,
:mod:`.layers`, :mod:`.borders` and :mod:`.tourism`, writes them to the output folder and
renders ``SOURCES.md`` (:mod:`.sources`).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from .borders import add_border_attributes, build_visa_table
from .history import build_history
from .layers import (
    MISSING_AIRPORTS,
    airport_country_iso3,
    build_air_layer,
    build_land_layer,
    build_migration_layer,
    unresolved_airports,
    with_missing_airports,
)
from .notifications import build_england_wales, build_who_notifications
from .places import (
    build_countries,
    build_places,
    point_centres,
    point_places,
    population_centres,
)
from .readers import (
    read_airports,
    read_csv_safe,
    read_natural_earth,
    read_openflights_countries,
    read_routes,
    read_worldbank,
)
from .sources import render_sources
from .tourism import build_tourism, read_unwto

#: raw file of each input table, relative to the data folder
RAW_FILES = {
    "ne": "natural_earth/ne_110m_admin_0_countries.geojson",
    "airports": "openflights/airports.dat",
    "routes": "openflights/routes.dat",
    "of_countries": "openflights/countries.dat",
    "who": "who_tb/TB_burden_countries_2024-03-26.csv",
    "wb_pop": "worldbank/API_SP.POP.TOTL_DS2_en_csv_v2_85.csv",
    "wb_hiv": "worldbank/API_SH.DYN.AIDS.ZS_DS2_en_csv_v2_9.csv",
    "owid": "owid_hiv/share-of-the-population-infected-with-hiv.csv",
    "wb_art": "hiv_wdi/antiretroviral-therapy-coverage.csv",
    "wb_new_hiv": "hiv_wdi/adults-newly-infected-with-hiv.csv",
    "who_2025": "who_tb_2025/TB_burden_countries_2025-10-29.csv",
    "borders": "geodatasource_borders/GEODATASOURCE-COUNTRY-BORDERS.CSV",
    "infrastructure": "border_infrastructure/border-infrastructure-data.csv",
    "passports": "passport_index/passport-index-tidy-iso3.csv",
    "stocks": "un_desa_migrant_stock_2024/undesa_stocks_1990-2024.csv",
    "unwto": "unwto_tourism/unwto-all-data-download_2022.xlsx",
    "who_notifications": "who_tb_2025/TB_notifications_2025-05-21.csv",
    "england_wales": "phe_tb_england_wales/tb_not_ew.csv",
}

TABLES = ("air", "land", "migration", "tourism", "visas", "history", "notifications_who",
          "notifications_england_wales")
"""The CSV files of ``geo/`` besides ``places.csv``."""


def build(data: Path, out: Path) -> dict:
    """Read the raw files under ``data``, write the derived files to ``out``; return counts.

    Parameters
    ----------
    data : Path
        The raw data folder (``../shared/data`` from the repository root).
    out : Path
        The output folder (created if missing); its files of the same names are replaced.

    Returns
    -------
    dict
        The derived tables and the counts and checks shown by :func:`summary_lines` and
        written into ``SOURCES.md``; ``sizes`` maps each file of ``out`` to its bytes.
    """
    raw = read_raw_files(data)
    tables = derive_tables(raw)
    out.mkdir(parents=True, exist_ok=True)
    tables["places"].to_csv(out / "places.csv", index=False)
    for name in TABLES:
        tables[name].to_csv(out / f"{name}.csv", index=False)
    countries = build_countries(raw["ne"])
    gpkg = out / "countries.gpkg"
    gpkg.unlink(missing_ok=True)
    countries.to_file(gpkg, layer="countries", driver="GPKG", engine="pyogrio")

    stats = build_stats(raw, tables)
    stats["countries_valid"] = bool(countries.geometry.is_valid.all())
    (out / "SOURCES.md").write_text(render_sources(stats), encoding="utf-8")
    stats["sizes"] = {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.is_file()}
    return stats


def read_raw_files(data: Path) -> dict:
    """Read every raw file of :data:`RAW_FILES` under ``data``; tables keyed as there."""
    path = {key: data / name for key, name in RAW_FILES.items()}
    return {
        "ne": read_natural_earth(path["ne"]),
        "airports": read_airports(path["airports"]),
        "routes": read_routes(path["routes"]),
        "of_countries": read_openflights_countries(path["of_countries"]),
        "who": read_csv_safe(path["who"]),
        "wb_pop": read_worldbank(path["wb_pop"]),
        "wb_hiv": read_worldbank(path["wb_hiv"]),
        "owid": read_csv_safe(path["owid"]),
        "wb_art": read_worldbank(path["wb_art"], preamble=0),
        "wb_new_hiv": read_worldbank(path["wb_new_hiv"], preamble=0),
        "who_2025": read_csv_safe(path["who_2025"]),
        "borders": read_csv_safe(path["borders"]),
        "infrastructure": read_csv_safe(path["infrastructure"]),
        "passports": read_csv_safe(path["passports"]),
        "stocks": read_csv_safe(path["stocks"]),
        "unwto": read_unwto(path["unwto"]),
        "who_notifications": read_csv_safe(path["who_notifications"]),
        "england_wales": read_csv_safe(path["england_wales"]),
    }


def derive_tables(raw: dict) -> dict:
    """The derived tables from the raw ones (:func:`read_raw_files`).

    Returns
    -------
    dict
        ``places`` and the tables of :data:`TABLES` (the files' tables),
        ``centres`` (:func:`.places.population_centres` and :func:`.places.point_centres`)
        and ``country_iso3`` (airports.dat country -> place id).
    """
    ne, routes = raw["ne"], raw["routes"]
    airports = with_missing_airports(raw["airports"])
    points = point_places(raw["who"], raw["wb_pop"], ne["id"])
    iso2 = pd.concat([ne.set_index("id")["iso2"], points.set_index("id")["iso2"]])
    country_iso3 = airport_country_iso3(raw["of_countries"], iso2)
    geometry = pd.Series(ne.geometry.to_numpy(), index=ne["id"])
    polygon_centres = population_centres(routes, airports, country_iso3, geometry)
    centres = pd.concat([polygon_centres,
                         point_centres(routes, airports, country_iso3, points["id"])])
    centres.attrs = polygon_centres.attrs
    places = build_places(ne, centres, raw["who"], raw["wb_pop"], raw["wb_hiv"], raw["owid"],
                          points, raw["wb_art"])
    land = add_border_attributes(build_land_layer(raw["borders"], places),
                                 raw["infrastructure"], raw["passports"])
    return {
        "places": places, "centres": centres,
        "air": build_air_layer(routes, airports, country_iso3), "land": land,
        "migration": build_migration_layer(raw["stocks"], places["id"]),
        "tourism": build_tourism(raw["unwto"], raw["who"]),
        "visas": build_visa_table(raw["passports"], places["id"]),
        "history": build_history(places["id"], raw["who_2025"], raw["wb_pop"], raw["wb_hiv"],
                                 raw["wb_art"], raw["wb_new_hiv"]),
        "notifications_who": build_who_notifications(raw["who_notifications"], places["id"]),
        "notifications_england_wales": build_england_wales(raw["england_wales"]),
        "country_iso3": country_iso3, "airports": airports,
    }


def build_stats(raw: dict, tables: dict) -> dict:
    """Counts and checks of a build: the tables plus what ``SOURCES.md`` reports on them."""
    routes, airports, country_iso3 = raw["routes"], tables["airports"], tables["country_iso3"]
    ids = set(tables["places"]["id"])
    stats = {key: tables[key] for key in ("places", *TABLES, "centres")}
    stats.update({
        "air_seconds": median_time(build_air_layer, routes, airports, country_iso3),
        "unresolved_airports": unresolved_airports(routes, airports).head(6),
        "added_airports": airports["iata"][airports["id"].isin(MISSING_AIRPORTS)].tolist(),
    })
    for name in ("air", "land", "migration"):
        linked = set(tables[name]["origin"]) | set(tables[name]["destination"])
        stats[f"no_{name}"] = sorted(ids - linked)
    stats["no_tourism"] = sorted(ids - set(tables["tourism"]["iso3"]))
    return stats


def median_time(func, *args, repeat: int = 5) -> float:
    """Median wall time in seconds of ``func(*args)`` over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func(*args)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def summary_lines(stats: dict) -> list[str]:
    """The counts and checks a maintainer should look at after a build, as lines of text.

    Parameters
    ----------
    stats : dict
        What :func:`build` returned.
    """
    places, air, mig = stats["places"], stats["air"], stats["migration"]
    a = air.attrs
    lines = [f"places: {len(places)}; field coverage:"]
    lines += [f"  {column:28s} {count}" for column, count in places.notna().sum().items()]
    lines += [
        f"routes: {a['routes']}, resolved at both ends {a['resolved']}, international between "
        f"places {a['international']} over {len(air)} directed pairs "
        f"(build_air_layer median of 5: {stats['air_seconds'] * 1000:.1f} ms)",
        f"land pairs (directed): {len(stats['land'])}; migration pairs: {len(mig)}; "
        f"tourism rows: {len(stats['tourism'])}",
        f"places without tourism counts: {stats['no_tourism']}",
    ]
    far = stats["centres"][stats["centres"]["mean_offset_km"] > 0]["mean_offset_km"]
    moved = far.round(0).sort_values(ascending=False).to_dict()
    lines.append(f"airport means outside their polygon, moved to it (km): {moved}")
    pair = mig.set_index(["origin", "destination"])["stock_2020"]
    lines += [f"migration {o}->{d}: {pair.get((o, d))}"
              for o, d in (("MEX", "USA"), ("MOZ", "ZAF"), ("IND", "GBR"))]
    lines.append(f"sizes: {stats['sizes']} total {sum(stats['sizes'].values())}")
    return lines
