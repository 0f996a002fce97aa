"""Build the embedded world dataset (``geo/``) from the raw public files.

Run ``python -m healthmob.geobuild --data ../shared/data`` from the repository root. The
script reads the raw files listed in the data folder's ``SOURCES.md`` (Natural Earth,
OpenFlights, WHO TB, World Bank, OWID/UNAIDS, UN DESA, GeoDataSource) and writes compact
derived files: ``places.csv``, ``countries.gpkg``, ``air.csv``, ``land.csv``,
``migration.csv`` and ``SOURCES.md``. Raw files are never copied.

Places are the 177 Natural Earth 1:110m countries; the place id is the ISO 3166-1 alpha-3
code, or Natural Earth's ``ADM0_A3`` where ``ISO_A3`` is ``-99`` (FRA, NOR, and the
non-ISO units KOS, CYN, SOL). Each builder takes DataFrames and returns a DataFrame so it
can be tested and timed on its own. CSV files are written so that a read with
``keep_default_na=False, na_values=[""]`` keeps Namibia's ISO2 code ``"NA"``.
"""

from __future__ import annotations

import argparse
import time
import unicodedata
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .sources import render_sources

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO.parent / "shared" / "data"
DEFAULT_OUT = REPO / "geo"
YEAR = 2022  # WHO TB and World Bank population year
MIGRATION_YEAR = 2019
MISSING = "-99"  # Natural Earth's null code
MAX_AIRPORT_KM = 300.0  # airports farther from their country polygon are not used for centres

#: airports.dat country names that countries.dat lacks, or maps to a wrong or empty ISO2
#: (countries.dat gives "IV" for Cote d'Ivoire: that is its FIPS/DAFIF code).
AIRPORT_COUNTRY_ISO2 = {
    "Palestine": "PS", "West Bank": "PS", "Myanmar": "MM", "East Timor": "TL",
    "Cote d'Ivoire": "CI", "Reunion": "RE", "Sao Tome and Principe": "ST",
    "Virgin Islands": "VI", "Svalbard": "SJ",
}

#: UN DESA name -> ISO3, checked before name matching: names that WHO and Natural Earth spell
#: differently (or not at all), including territories that are not places (dropped later).
UN_NAME_ISO3 = {
    "Turkey": "TUR", "United Kingdom": "GBR", "Netherlands": "NLD",
    "State of Palestine": "PSE", "Côte d'Ivoire": "CIV",
    "Bolivia (Plurinational State of)": "BOL", "China, Hong Kong SAR": "HKG",
    "China, Macao SAR": "MAC", "Micronesia (Fed. States of)": "FSM",
    "Falkland Islands (Malvinas)": "FLK", "Wallis and Futuna Islands": "WLF",
    "Saint Helena": "SHN", "Channel Islands": "CHI", "Holy See": "VAT",
    "Réunion": "REU", "Mayotte": "MYT", "Western Sahara": "ESH",
    "French Guiana": "GUF", "Guadeloupe": "GLP", "Martinique": "MTQ",
    "Isle of Man": "IMN", "Gibraltar": "GIB", "Faroe Islands": "FRO",
    "Liechtenstein": "LIE", "Saint Pierre and Miquelon": "SPM",
    "Sint Maarten (Dutch part)": "SXM", "Curaçao": "CUW",
    "Bonaire, Sint Eustatius and Saba": "BES", "United States Virgin Islands": "VIR",
    "Tokelau": "TKL", "Dem. People's Republic of Korea": "PRK",
}


# ---------------------------------------------------------------- readers ---------


def read_natural_earth(path: Path):
    """Read Natural Earth admin-0 countries and add the place ``id`` and ``iso2``.

    Returns
    -------
    geopandas.GeoDataFrame
        All source attributes plus ``id`` (ISO_A3, else ISO_A3_EH, else ADM0_A3) and
        ``iso2`` (ISO_A2_EH; empty string where Natural Earth has none).
    """
    import pyogrio

    frame = pyogrio.read_dataframe(path)
    ids = frame["ISO_A3"].where(frame["ISO_A3"] != MISSING, frame["ISO_A3_EH"])
    frame["id"] = ids.where(ids != MISSING, frame["ADM0_A3"])
    frame["iso2"] = frame["ISO_A2_EH"].where(frame["ISO_A2_EH"] != MISSING, "")
    return frame.sort_values("id").reset_index(drop=True)


def read_airports(path: Path) -> pd.DataFrame:
    """Parse OpenFlights ``airports.dat`` (no header, ``\\N`` for null)."""
    names = ["id", "name", "city", "country", "iata", "icao", "lat", "lon", "altitude_ft",
             "utc_offset", "dst", "tz", "type", "source"]
    return pd.read_csv(path, header=None, names=names, keep_default_na=False,
                       na_values=["\\N", ""], dtype={"iata": str, "icao": str})


def read_routes(path: Path) -> pd.DataFrame:
    """Parse OpenFlights ``routes.dat``; airport ids are nullable integers."""
    names = ["airline", "airline_id", "src", "src_id", "dst", "dst_id", "codeshare",
             "stops", "equipment"]
    routes = pd.read_csv(path, header=None, names=names, keep_default_na=False,
                         na_values=["\\N", ""], dtype={"airline": str, "src": str, "dst": str})
    for column in ("airline_id", "src_id", "dst_id"):
        routes[column] = routes[column].astype("Int64")
    return routes


def read_openflights_countries(path: Path) -> pd.DataFrame:
    """Parse OpenFlights ``countries.dat``: name, FIPS/DAFIF code, ISO2, flag.

    The third column is the ISO 3166-1 alpha-2 code (``Australia,AS,AU``), the second the
    FIPS/DAFIF code; the upstream description names them the other way round.
    """
    return pd.read_csv(path, header=None, names=["name", "dafif", "iso2", "flag"],
                       keep_default_na=False, na_values=["\\N", ""])


def read_worldbank(path: Path) -> pd.DataFrame:
    """Read a World Bank WDI CSV as a wide table: index ISO3, one column per year (int)."""
    frame = pd.read_csv(path, skiprows=4, keep_default_na=False, na_values=[""])
    years = [c for c in frame.columns if str(c).isdigit()]
    wide = frame.set_index("Country Code")[years].apply(pd.to_numeric, errors="coerce")
    wide.columns = [int(c) for c in years]
    return wide


def read_csv_safe(path: Path, **kwargs) -> pd.DataFrame:
    """Read a CSV keeping ``"NA"`` as text (only empty cells are null)."""
    kwargs.setdefault("na_values", [""])
    return pd.read_csv(path, keep_default_na=False, **kwargs)


# ---------------------------------------------------------------- builders --------


def airport_country_iso3(countries: pd.DataFrame, place_iso2: pd.Series) -> dict[str, str]:
    """Map airports.dat country names to place ids, via ISO2.

    Parameters
    ----------
    countries : DataFrame
        OpenFlights countries (``name``, ``iso2``).
    place_iso2 : Series
        Place ISO2 codes indexed by place id.

    Returns
    -------
    dict
        Country name -> place id, for names whose ISO2 is a place's ISO2.
    """
    iso2 = dict(zip(countries["name"], countries["iso2"]))
    iso2.update(AIRPORT_COUNTRY_ISO2)
    by_iso2 = {code: pid for pid, code in place_iso2.items() if isinstance(code, str) and code}
    return {name: by_iso2[code] for name, code in iso2.items()
            if isinstance(code, str) and code in by_iso2}


def resolve_routes(routes: pd.DataFrame, airports: pd.DataFrame,
                   country_iso3: Mapping[str, str]) -> pd.DataFrame:
    """Attach airport coordinates and place ids to each route (joined by airport id).

    Returns the routes whose two airport ids are in ``airports``, with ``src_lat, src_lon,
    dst_lat, dst_lon`` and ``origin, destination`` (place id or NaN when the airport's
    country is not a place).
    """
    table = airports.set_index("id")[["lat", "lon", "country"]]
    table = table.assign(place=table["country"].map(dict(country_iso3)))
    out = routes[["src_id", "dst_id"]]
    ok = out["src_id"].isin(table.index) & out["dst_id"].isin(table.index)
    out = out[ok]
    src = table.loc[out["src_id"].to_numpy()]
    dst = table.loc[out["dst_id"].to_numpy()]
    return pd.DataFrame({
        "src_id": out["src_id"].to_numpy(), "dst_id": out["dst_id"].to_numpy(),
        "src_lat": src["lat"].to_numpy(), "src_lon": src["lon"].to_numpy(),
        "dst_lat": dst["lat"].to_numpy(), "dst_lon": dst["lon"].to_numpy(),
        "origin": src["place"].to_numpy(), "destination": dst["place"].to_numpy(),
    })


def build_air_layer(routes: pd.DataFrame, airports: pd.DataFrame,
                    country_iso3: Mapping[str, str]) -> pd.DataFrame:
    """Aggregate OpenFlights routes to directed international pairs of places.

    Parameters
    ----------
    routes, airports : DataFrame
        From :func:`read_routes` and :func:`read_airports`.
    country_iso3 : mapping
        airports.dat country name -> place id (:func:`airport_country_iso3`).

    Returns
    -------
    DataFrame
        ``origin, destination, n_routes, n_airport_pairs, distance_km`` sorted by pair;
        ``distance_km`` is the route-weighted mean WGS84 geodesic airport-to-airport
        distance. ``attrs`` holds the route counts (total, resolved, international).
    """
    from pyproj import Geod

    resolved = resolve_routes(routes, airports, country_iso3)
    inter = resolved.dropna(subset=["origin", "destination"])
    inter = inter[inter["origin"] != inter["destination"]]
    _, _, metres = Geod(ellps="WGS84").inv(
        inter["src_lon"].to_numpy(), inter["src_lat"].to_numpy(),
        inter["dst_lon"].to_numpy(), inter["dst_lat"].to_numpy())
    inter = inter.assign(distance_km=np.asarray(metres) / 1000.0)
    grouped = inter.groupby(["origin", "destination"], sort=True)
    air = grouped.agg(n_routes=("distance_km", "size"), distance_km=("distance_km", "mean"))
    pairs = inter.drop_duplicates(["src_id", "dst_id"]).groupby(["origin", "destination"])
    air.insert(1, "n_airport_pairs", pairs.size())
    air = air.reset_index()
    air["distance_km"] = air["distance_km"].round(1)
    air.attrs = {"routes": len(routes), "resolved": len(resolved), "international": len(inter)}
    return air


def population_centres(routes: pd.DataFrame, airports: pd.DataFrame,
                       country_iso3: Mapping[str, str], geometry: pd.Series,
                       max_airport_km: float = MAX_AIRPORT_KM) -> pd.DataFrame:
    """Population-centre proxy per place: route-weighted mean of its airport positions.

    Each airport is weighted by the number of resolved routes (domestic or international)
    that start or end there. Airports farther than ``max_airport_km`` from their place's
    polygon are left out (remote islands such as the Azores, and misplaced records such as
    an Alaskan airfield filed under Belize). The mean is taken of unit vectors on the sphere
    (safe across the antimeridian). A mean that falls outside the polygon (archipelagos,
    coastal crescents) is moved to the nearest point of the polygon. Places without a
    routed airport get a point on the surface of their polygon.

    Parameters
    ----------
    geometry : Series of shapely geometries
        Place polygons indexed by place id (EPSG:4326).

    Returns
    -------
    DataFrame
        Indexed by place id: ``lat``, ``lon``, ``centre_source`` (``airports``,
        ``airports_moved_to_polygon`` or ``polygon``), ``mean_offset_km`` (geodesic
        distance from the airport mean to the polygon, before the move) and ``n_airports``.
    """
    import shapely

    resolved = resolve_routes(routes, airports, country_iso3)
    weight = pd.concat([resolved["src_id"], resolved["dst_id"]]).value_counts()
    ports = airports.assign(place=airports["country"].map(dict(country_iso3)),
                            weight=airports["id"].map(weight))
    ports = ports.dropna(subset=["place", "weight"])
    ports = ports[ports["place"].isin(geometry.index)]
    offset = offset_km(geometry.loc[ports["place"]].to_numpy(), ports["lon"], ports["lat"])
    dropped = ports[offset > max_airport_km]
    ports = ports[offset <= max_airport_km]
    lat, lon = np.radians(ports["lat"].to_numpy()), np.radians(ports["lon"].to_numpy())
    w = ports["weight"].to_numpy(dtype=float)
    xyz = pd.DataFrame({"place": ports["place"].to_numpy(), "x": w * np.cos(lat) * np.cos(lon),
                        "y": w * np.cos(lat) * np.sin(lon), "z": w * np.sin(lat), "n": 1})
    total = xyz.groupby("place")[["x", "y", "z", "n"]].sum()
    centres = pd.DataFrame(index=geometry.index.rename("id"))
    centres["lat"] = np.degrees(np.arctan2(total["z"], np.hypot(total["x"], total["y"])))
    centres["lon"] = np.degrees(np.arctan2(total["y"], total["x"]))
    centres["n_airports"] = total["n"].reindex(centres.index).fillna(0).astype(int)
    centres["centre_source"] = np.where(centres["lat"].notna(), "airports", "polygon")
    fallback = centres["lat"].isna().to_numpy()
    points = shapely.point_on_surface(geometry[fallback].to_numpy())
    centres.loc[fallback, "lat"] = shapely.get_y(points)
    centres.loc[fallback, "lon"] = shapely.get_x(points)
    geoms = geometry.to_numpy()
    centres["mean_offset_km"] = offset_km(geoms, centres["lon"], centres["lat"])
    outside = (centres["mean_offset_km"] > 0).to_numpy()
    point = shapely.points(centres["lon"].to_numpy()[outside], centres["lat"].to_numpy()[outside])
    nearest = shapely.get_point(shapely.shortest_line(geoms[outside], point), 0)
    centres.loc[outside, "lon"] = shapely.get_x(nearest)
    centres.loc[outside, "lat"] = shapely.get_y(nearest)
    centres.loc[outside, "centre_source"] = "airports_moved_to_polygon"
    centres.attrs = {"airports_used": len(ports), "airports_dropped": len(dropped),
                     "route_ends_dropped": int(dropped["weight"].sum()),
                     "max_airport_km": max_airport_km}
    return centres


def offset_km(geoms, lon, lat) -> np.ndarray:
    """Geodesic distance (km) from each point to the matching geometry; 0 inside it."""
    import shapely
    from pyproj import Geod

    points = shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    lines = shapely.shortest_line(np.asarray(geoms), points)
    a, b = shapely.get_point(lines, 0), shapely.get_point(lines, 1)
    _, _, metres = Geod(ellps="WGS84").inv(shapely.get_x(a), shapely.get_y(a),
                                           shapely.get_x(b), shapely.get_y(b))
    return np.asarray(metres) / 1000.0


def build_places(ne, centres: pd.DataFrame, who: pd.DataFrame, wb_pop: pd.DataFrame,
                 wb_hiv: pd.DataFrame, owid_hiv: pd.DataFrame) -> pd.DataFrame:
    """One row per place with names, centre, population, TB and HIV burden.

    Population: World Bank SP.POP.TOTL 2022, else WHO ``e_pop_num`` 2022, else Natural
    Earth ``POP_EST``. TB: WHO 2022 estimates. HIV (ages 15-49): World Bank SH.DYN.AIDS.ZS
    latest year with a value, else OWID/UNAIDS latest year. Missing stays NaN.
    """
    places = pd.DataFrame({
        "id": ne["id"].to_numpy(), "iso2": ne["iso2"].to_numpy(), "name": ne["NAME"].to_numpy(),
        "continent": ne["CONTINENT"].to_numpy(), "subregion": ne["SUBREGION"].to_numpy(),
    })
    tb = who[who["year"] == YEAR].set_index("iso3")
    places["who_region"] = places["id"].map(tb["g_whoregion"])
    places["lat"] = places["id"].map(centres["lat"]).round(4)
    places["lon"] = places["id"].map(centres["lon"]).round(4)
    places["centre_source"] = places["id"].map(centres["centre_source"])
    sources = [("World Bank SP.POP.TOTL 2022", places["id"].map(wb_pop[YEAR])),
               ("WHO e_pop_num 2022", places["id"].map(tb["e_pop_num"])),
               ("Natural Earth POP_EST", pd.Series(ne["POP_EST"].to_numpy()))]
    population = pd.Series(np.nan, index=places.index)
    source = pd.Series("", index=places.index)
    for label, values in sources:
        take = population.isna() & values.notna() & (values > 0)
        population[take], source[take] = values[take], label
    places["population"] = population.round().astype("Int64")
    places["population_source"] = source.replace("", np.nan)
    for column, field in (("tb_incidence_per_100k", "e_inc_100k"),
                          ("tb_incidence_per_100k_lo", "e_inc_100k_lo"),
                          ("tb_incidence_per_100k_hi", "e_inc_100k_hi"),
                          ("tb_hiv_percent", "e_tbhiv_prct")):
        places[column] = places["id"].map(tb[field])
    hiv = latest_hiv(wb_hiv, owid_hiv)
    for column in ("hiv_prevalence_percent", "hiv_prevalence_year", "hiv_prevalence_source"):
        places[column] = places["id"].map(hiv[column])
    places["hiv_prevalence_year"] = places["hiv_prevalence_year"].astype("Int64")
    return places.sort_values("id").reset_index(drop=True)


def latest_hiv(wb_hiv: pd.DataFrame, owid_hiv: pd.DataFrame) -> pd.DataFrame:
    """Latest HIV prevalence (15-49) per ISO3: World Bank first, OWID/UNAIDS as fallback."""
    long = wb_hiv.stack().dropna().rename("value").reset_index()
    long.columns = ["iso3", "year", "value"]
    wb = long.sort_values("year").groupby("iso3").last().assign(source="World Bank SH.DYN.AIDS.ZS")
    value = owid_hiv.columns[-1]
    owid = owid_hiv.dropna(subset=["Code", value])
    owid = owid[owid["Code"].str.len() == 3].sort_values("Year").groupby("Code").last()
    owid = pd.DataFrame({"year": owid["Year"], "value": owid[value],
                         "source": "OWID/UNAIDS"}).rename_axis("iso3")
    both = pd.concat([wb, owid[~owid.index.isin(wb.index)]])
    return both.rename(columns={"value": "hiv_prevalence_percent", "year": "hiv_prevalence_year",
                                "source": "hiv_prevalence_source"})


def build_countries(ne):
    """Place polygons (``id``, ``name``, geometry), valid MultiPolygons in EPSG:4326.

    Coordinates keep their source precision: rounding them (``shapely.set_precision``)
    does not shrink a GeoPackage, whose size is set by its pages, not by the digits.
    """
    import geopandas as gpd
    import shapely

    geoms = shapely.make_valid(ne.geometry.to_numpy())
    geoms = np.array([_multipolygon(g) for g in geoms], dtype=object)
    return gpd.GeoDataFrame({"id": ne["id"].to_numpy(), "name": ne["NAME"].to_numpy()},
                            geometry=geoms, crs="EPSG:4326").sort_values("id", ignore_index=True)


def _multipolygon(geom):
    import shapely
    from shapely.geometry import MultiPolygon

    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    return MultiPolygon(polys)


def build_land_layer(borders: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """Land-border pairs (both directions) between places, with centre-to-centre distance."""
    from pyproj import Geod

    by_iso2 = {c: i for i, c in zip(places["id"], places["iso2"]) if isinstance(c, str) and c}
    pairs = pd.DataFrame({"origin": borders["country_code"].map(by_iso2),
                          "destination": borders["country_border_code"].map(by_iso2)}).dropna()
    pairs = pd.concat([pairs, pairs.set_axis(["destination", "origin"], axis=1)])
    pairs = pairs[pairs["origin"] != pairs["destination"]].drop_duplicates()
    pos = places.set_index("id")[["lat", "lon"]]
    a, b = pos.loc[pairs["origin"]], pos.loc[pairs["destination"]]
    _, _, metres = Geod(ellps="WGS84").inv(a["lon"].to_numpy(), a["lat"].to_numpy(),
                                           b["lon"].to_numpy(), b["lat"].to_numpy())
    pairs["distance_km"] = np.round(np.asarray(metres) / 1000.0, 1)
    return pairs.sort_values(["origin", "destination"], ignore_index=True)


def normalise_name(name: str) -> str:
    """Casefold, strip accents and punctuation: ``"Côte d'Ivoire"`` -> ``"cote divoire"``."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return " ".join("".join(c if c.isalnum() else " " for c in text.casefold()).split())


def un_name_iso3(un_names, who: pd.DataFrame, ne) -> tuple[dict[str, str], list[str]]:
    """Map UN DESA names to ISO3: :data:`UN_NAME_ISO3` first, then WHO and Natural Earth names.

    Names are compared after :func:`normalise_name`; WHO TB ``country`` names win over
    Natural Earth's ``NAME``, ``NAME_LONG``, ``FORMAL_EN``, ``NAME_EN``, ``ADMIN``, ``NAME_SORT``.

    Returns
    -------
    mapping : dict
        UN name -> ISO3 (may be a code that is not a place, e.g. HKG).
    unmatched : list of str
        UN names left without a code (sub-regions such as "Caribbean").
    """
    lookup: dict[str, str] = {}
    for column in ("NAME", "NAME_LONG", "FORMAL_EN", "NAME_EN", "ADMIN", "NAME_SORT"):
        lookup.update({normalise_name(n): i for n, i in zip(ne[column], ne["id"])
                       if isinstance(n, str)})
    lookup.update({normalise_name(n): i for n, i in zip(who["country"], who["iso3"])})
    mapping, unmatched = {}, []
    for name in un_names:
        code = UN_NAME_ISO3.get(name) or lookup.get(normalise_name(name))
        if code:
            mapping[name] = code
        else:
            unmatched.append(name)
    return mapping, unmatched


def build_migration_layer(stock: pd.DataFrame, name_iso3: Mapping[str, str],
                          place_ids) -> pd.DataFrame:
    """UN DESA bilateral migrant stock (persons) for :data:`MIGRATION_YEAR` between places.

    ``stock`` is the wide UN table (``Year``, ``Dest``, one column per origin name).
    """
    wide = stock[stock["Year"] == MIGRATION_YEAR].drop(columns="Year").set_index("Dest")
    long = wide.apply(pd.to_numeric, errors="coerce").stack().rename("migrant_stock")
    long = long.rename_axis(["dest_name", "origin_name"]).reset_index()
    long["origin"] = long["origin_name"].map(dict(name_iso3))
    long["destination"] = long["dest_name"].map(dict(name_iso3))
    ids = set(place_ids)
    keep = long["origin"].isin(ids) & long["destination"].isin(ids) & (long["migrant_stock"] > 0)
    keep &= long["origin"] != long["destination"]
    out = long.loc[keep, ["origin", "destination", "migrant_stock"]]
    out = out.groupby(["origin", "destination"], as_index=False)["migrant_stock"].sum()
    out["migrant_stock"] = out["migrant_stock"].round().astype("int64")
    return out.sort_values(["origin", "destination"], ignore_index=True)


# ---------------------------------------------------------------- driver ----------


def unresolved_airports(routes: pd.DataFrame, airports: pd.DataFrame) -> pd.Series:
    """Route ends whose airport id is not in airports.dat, counted by airport code."""
    known = set(airports["id"])
    codes = pd.concat([routes.loc[~routes["src_id"].isin(known), "src"],
                       routes.loc[~routes["dst_id"].isin(known), "dst"]])
    return codes.value_counts()


def median_time(func, *args, repeat: int = 5) -> float:
    """Median wall time in seconds of ``func(*args)`` over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func(*args)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def build(data: Path, out: Path) -> dict:
    """Read the raw files under ``data``, write the derived files to ``out``; return counts."""
    ne = read_natural_earth(data / "natural_earth" / "ne_110m_admin_0_countries.geojson")
    geometry = pd.Series(ne.geometry.to_numpy(), index=ne["id"])
    airports = read_airports(data / "openflights" / "airports.dat")
    routes = read_routes(data / "openflights" / "routes.dat")
    of_countries = read_openflights_countries(data / "openflights" / "countries.dat")
    who = read_csv_safe(data / "who_tb" / "TB_burden_countries_2024-03-26.csv")
    wb_pop = read_worldbank(data / "worldbank" / "API_SP.POP.TOTL_DS2_en_csv_v2_85.csv")
    wb_hiv = read_worldbank(data / "worldbank" / "API_SH.DYN.AIDS.ZS_DS2_en_csv_v2_9.csv")
    owid = read_csv_safe(data / "owid_hiv" / "share-of-the-population-infected-with-hiv.csv")
    borders = read_csv_safe(data / "geodatasource_borders" / "GEODATASOURCE-COUNTRY-BORDERS.CSV")
    stock = read_csv_safe(data / "un_desa_migrant_stock"
                          / "UN_MigrantStockByOriginAndDestination_2019_clean.csv",
                          na_values=["..", ""])

    country_iso3 = airport_country_iso3(of_countries, ne.set_index("id")["iso2"])
    centres = population_centres(routes, airports, country_iso3, geometry)
    places = build_places(ne, centres, who, wb_pop, wb_hiv, owid)
    air = build_air_layer(routes, airports, country_iso3)
    land = build_land_layer(borders, places)
    names = list(stock["Dest"].unique()) + [c for c in stock.columns[2:]]
    name_iso3, unmatched = un_name_iso3(dict.fromkeys(names), who, ne)
    migration = build_migration_layer(stock, name_iso3, places["id"])

    out.mkdir(parents=True, exist_ok=True)
    places.to_csv(out / "places.csv", index=False)
    for name, table in (("air", air), ("land", land), ("migration", migration)):
        table.to_csv(out / f"{name}.csv", index=False)
    countries = build_countries(ne)
    gpkg = out / "countries.gpkg"
    gpkg.unlink(missing_ok=True)
    countries.to_file(gpkg, layer="countries", driver="GPKG", engine="pyogrio")

    stats = {
        "places": places, "air": air, "land": land, "migration": migration,
        "centres": centres, "unmatched_un": unmatched,
        "un_not_place": sorted({n for n, c in name_iso3.items() if c not in set(places["id"])}),
        "air_seconds": median_time(build_air_layer, routes, airports, country_iso3),
        "countries_valid": bool(countries.geometry.is_valid.all()),
        "unresolved_airports": unresolved_airports(routes, airports).head(6),
        "no_un_name": sorted(set(places["id"]) - set(name_iso3.values())),
    }
    for name, table in (("air", air), ("land", land), ("migration", migration)):
        linked = set(table["origin"]) | set(table["destination"])
        stats[f"no_{name}"] = sorted(set(places["id"]) - linked)
    (out / "SOURCES.md").write_text(render_sources(stats), encoding="utf-8")
    stats["sizes"] = {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.is_file()}
    return stats


def report(stats: dict) -> None:
    """Print the counts and checks a maintainer should look at after a build."""
    places, air, mig = stats["places"], stats["air"], stats["migration"]
    a = air.attrs
    print(f"places: {len(places)}; field coverage:")
    for column, count in places.notna().sum().items():
        print(f"  {column:28s} {count}")
    print(f"routes: {a['routes']}, resolved at both ends {a['resolved']}, international between "
          f"places {a['international']} over {len(air)} directed pairs "
          f"(build_air_layer median of 5: {stats['air_seconds'] * 1000:.1f} ms)")
    print(f"land pairs (directed): {len(stats['land'])}; migration pairs: {len(mig)}")
    print(f"UN names unmatched: {stats['unmatched_un']}")
    print(f"UN names matched to non-place codes: {len(stats['un_not_place'])}")
    far = stats["centres"][stats["centres"]["mean_offset_km"] > 0]["mean_offset_km"]
    print("airport means outside their polygon, moved to it (km):",
          far.round(0).sort_values(ascending=False).to_dict())
    pair = mig.set_index(["origin", "destination"])["migrant_stock"]
    for o, d in (("MEX", "USA"), ("MOZ", "ZAF"), ("IND", "GBR")):
        print(f"migration {o}->{d}: {pair.get((o, d))}")
    print("sizes:", stats["sizes"], "total", sum(stats["sizes"].values()))


def main(argv=None) -> int:
    """Command-line entry: ``python -m healthmob.geobuild [--data DIR] [--out DIR]``."""
    parser = argparse.ArgumentParser(prog="healthmob.geobuild", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"folder of raw public files (default {DEFAULT_DATA})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        parser.error(f"--data {args.data}: folder not found")
    report(build(args.data, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
