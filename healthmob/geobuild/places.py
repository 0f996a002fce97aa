"""The places: ``places.csv`` (ids, names, centre, population, burden) and ``countries.gpkg``.

Places are the 177 Natural Earth 1:110m countries (:func:`.readers.read_natural_earth` gives
their ids) and the countries and territories the 1:110m map leaves out but WHO and the World
Bank report on (Singapore, Hong Kong, Bahrain, Malta, Mauritius...: :func:`point_places`);
those are points (``shape = point``), the others polygons. A place's centre is a
population-centre proxy made from the OpenFlights airports filed under it
(:func:`population_centres`); population, TB and HIV burden come from the World Bank, WHO
and OWID/UNAIDS tables (:func:`build_places`).
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon

from .layers import resolve_routes

YEAR = 2022  # WHO TB and World Bank population year
MAX_AIRPORT_KM = 300.0  # airports farther from their country polygon are not used for centres

#: UN M49 sub-region of each point place (Natural Earth's names), its continent follows
POINT_SUBREGIONS = {
    "ABW": "Caribbean", "AND": "Southern Europe", "ASM": "Polynesia", "ATG": "Caribbean",
    "BHR": "Western Asia", "BMU": "Northern America", "BRB": "Caribbean", "COM": "Eastern Africa",
    "CPV": "Western Africa", "CUW": "Caribbean", "CYM": "Caribbean", "DMA": "Caribbean",
    "FSM": "Micronesia", "GRD": "Caribbean", "GUM": "Micronesia", "HKG": "Eastern Asia",
    "KIR": "Micronesia", "KNA": "Caribbean", "LCA": "Caribbean", "MAC": "Eastern Asia",
    "MCO": "Western Europe", "MDV": "Southern Asia", "MHL": "Micronesia", "MLT": "Southern Europe",
    "MNP": "Micronesia", "MUS": "Eastern Africa", "NRU": "Micronesia", "PLW": "Micronesia",
    "PYF": "Polynesia", "SGP": "South-Eastern Asia", "SMR": "Southern Europe",
    "STP": "Middle Africa", "SXM": "Caribbean", "SYC": "Eastern Africa", "TCA": "Caribbean",
    "TON": "Polynesia", "TUV": "Polynesia", "VCT": "Caribbean", "VGB": "Caribbean",
    "WSM": "Polynesia",
}
CONTINENTS = {"Caribbean": "North America", "Northern America": "North America",
              "Polynesia": "Oceania", "Micronesia": "Oceania", "Southern Europe": "Europe",
              "Western Europe": "Europe", "Western Asia": "Asia", "Eastern Asia": "Asia",
              "Southern Asia": "Asia", "South-Eastern Asia": "Asia", "Eastern Africa": "Africa",
              "Western Africa": "Africa", "Middle Africa": "Africa"}
#: centres of the point places without a routed airport: their capitals (degrees)
CAPITALS = {"AND": (42.5078, 1.5211), "MCO": (43.7384, 7.4246), "SMR": (43.9356, 12.4473)}


# ---------------------------------------------------------------- centres ---------


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
    routes, airports : DataFrame
        From :func:`.readers.read_routes` and :func:`.readers.read_airports`.
    country_iso3 : mapping
        airports.dat country name -> place id (:func:`.layers.airport_country_iso3`).
    geometry : Series of shapely geometries
        Place polygons indexed by place id (EPSG:4326).
    max_airport_km : float
        Farthest geodesic distance of a used airport from its place's polygon.

    Returns
    -------
    DataFrame
        Indexed by place id: ``lat``, ``lon``, ``centre_source`` (``airports``,
        ``airports_moved_to_polygon`` or ``polygon``), ``mean_offset_km`` (geodesic
        distance from the airport mean to the polygon, before the move) and ``n_airports``.
        ``attrs`` holds the counts of used and dropped airports.
    """
    ports, dropped = routed_airports(routes, airports, country_iso3, geometry, max_airport_km)
    centres = mean_airport_positions(ports, geometry.index.rename("id"))
    _use_polygon_points_where_no_airport(centres, geometry)
    _move_means_into_polygons(centres, geometry)
    centres.attrs = {"airports_used": len(ports), "airports_dropped": len(dropped),
                     "route_ends_dropped": int(dropped["weight"].sum()),
                     "max_airport_km": max_airport_km}
    return centres


def routed_airports(routes: pd.DataFrame, airports: pd.DataFrame,
                    country_iso3: Mapping[str, str], geometry: pd.Series,
                    max_airport_km: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Airports of places with their route-end counts, split by distance to the polygon.

    Returns
    -------
    used, dropped : DataFrame
        Airport rows with ``place`` and ``weight`` (route ends at the airport): those within
        ``max_airport_km`` of their place's polygon, and those farther away.
    """
    resolved = resolve_routes(routes, airports, country_iso3)
    weight = pd.concat([resolved["src_id"], resolved["dst_id"]]).value_counts()
    ports = airports.assign(place=airports["country"].map(dict(country_iso3)),
                            weight=airports["id"].map(weight))
    ports = ports.dropna(subset=["place", "weight"])
    ports = ports[ports["place"].isin(geometry.index)]
    offset = offset_km(geometry.loc[ports["place"]].to_numpy(), ports["lon"], ports["lat"])
    return ports[offset <= max_airport_km], ports[offset > max_airport_km]


def mean_airport_positions(ports: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Weighted mean of airport positions per place, as unit vectors on the sphere.

    Returns
    -------
    DataFrame
        Indexed by ``index``: ``lat``, ``lon`` (NaN for places without an airport),
        ``n_airports`` and ``centre_source`` (``airports`` or ``polygon``).
    """
    lat, lon = np.radians(ports["lat"].to_numpy()), np.radians(ports["lon"].to_numpy())
    w = ports["weight"].to_numpy(dtype=float)
    xyz = pd.DataFrame({"place": ports["place"].to_numpy(), "x": w * np.cos(lat) * np.cos(lon),
                        "y": w * np.cos(lat) * np.sin(lon), "z": w * np.sin(lat), "n": 1})
    total = xyz.groupby("place")[["x", "y", "z", "n"]].sum()
    centres = pd.DataFrame(index=index)
    centres["lat"] = np.degrees(np.arctan2(total["z"], np.hypot(total["x"], total["y"])))
    centres["lon"] = np.degrees(np.arctan2(total["y"], total["x"]))
    centres["n_airports"] = total["n"].reindex(centres.index).fillna(0).astype(int)
    centres["centre_source"] = np.where(centres["lat"].notna(), "airports", "polygon")
    return centres


def _use_polygon_points_where_no_airport(centres: pd.DataFrame, geometry: pd.Series) -> None:
    """Give places without an airport mean a point on their polygon's surface (in place)."""
    fallback = centres["lat"].isna().to_numpy()
    points = shapely.point_on_surface(geometry[fallback].to_numpy())
    centres.loc[fallback, "lat"] = shapely.get_y(points)
    centres.loc[fallback, "lon"] = shapely.get_x(points)


def _move_means_into_polygons(centres: pd.DataFrame, geometry: pd.Series) -> None:
    """Record ``mean_offset_km`` and move centres outside their polygon onto it (in place)."""
    geoms = geometry.to_numpy()
    centres["mean_offset_km"] = offset_km(geoms, centres["lon"], centres["lat"])
    outside = (centres["mean_offset_km"] > 0).to_numpy()
    point = shapely.points(centres["lon"].to_numpy()[outside], centres["lat"].to_numpy()[outside])
    nearest = shapely.get_point(shapely.shortest_line(geoms[outside], point), 0)
    centres.loc[outside, "lon"] = shapely.get_x(nearest)
    centres.loc[outside, "lat"] = shapely.get_y(nearest)
    centres.loc[outside, "centre_source"] = "airports_moved_to_polygon"


def offset_km(geoms, lon, lat) -> np.ndarray:
    """Geodesic distance (km) from each point to the matching geometry; 0 inside it."""
    points = shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    lines = shapely.shortest_line(np.asarray(geoms), points)
    a, b = shapely.get_point(lines, 0), shapely.get_point(lines, 1)
    _, _, metres = Geod(ellps="WGS84").inv(shapely.get_x(a), shapely.get_y(a),
                                           shapely.get_x(b), shapely.get_y(b))
    return np.asarray(metres) / 1000.0


def point_places(who: pd.DataFrame, wb_pop: pd.DataFrame, ne_ids) -> pd.DataFrame:
    """The countries and territories of the WHO TB table that are not Natural Earth 1:110m
    countries but have a World Bank population (:data:`POINT_SUBREGIONS` lists them).

    Returns
    -------
    DataFrame
        ``id, iso2, name, continent, subregion`` of each point place, sorted by ``id``.
    """
    tb = who[who["year"] == YEAR]
    tb = tb[~tb["iso3"].isin(set(ne_ids)) & tb["iso3"].isin(wb_pop.index)]
    tb = tb[tb["iso3"].map(wb_pop[YEAR]).notna()]
    missing = sorted(set(tb["iso3"]) - set(POINT_SUBREGIONS))
    if missing:
        raise ValueError(f"point places without a sub-region in POINT_SUBREGIONS: {missing}")
    sub = tb["iso3"].map(POINT_SUBREGIONS)
    return pd.DataFrame({"id": tb["iso3"].to_numpy(), "iso2": tb["iso2"].to_numpy(),
                         "name": tb["country"].to_numpy(), "continent": sub.map(CONTINENTS),
                         "subregion": sub.to_numpy()}).sort_values("id", ignore_index=True)


def point_centres(routes: pd.DataFrame, airports: pd.DataFrame,
                  country_iso3: Mapping[str, str], ids) -> pd.DataFrame:
    """Centres of the point places: the route-weighted mean of their airports, else the
    capital (:data:`CAPITALS`); same columns as :func:`population_centres`."""
    resolved = resolve_routes(routes, airports, country_iso3)
    weight = pd.concat([resolved["src_id"], resolved["dst_id"]]).value_counts()
    ports = airports.assign(place=airports["country"].map(dict(country_iso3)),
                            weight=airports["id"].map(weight)).dropna(subset=["place",
                                                                               "weight"])
    centres = mean_airport_positions(ports[ports["place"].isin(set(ids))],
                                     pd.Index(list(ids), name="id"))
    for pid, (lat, lon) in CAPITALS.items():
        if pid in centres.index and np.isnan(centres.at[pid, "lat"]):
            centres.loc[pid, ["lat", "lon", "centre_source"]] = [lat, lon, "capital"]
    centres["mean_offset_km"] = 0.0
    return centres


# ---------------------------------------------------------------- places table ----


def build_places(ne, centres: pd.DataFrame, who: pd.DataFrame, wb_pop: pd.DataFrame,
                 wb_hiv: pd.DataFrame, owid_hiv: pd.DataFrame,
                 points: pd.DataFrame, wb_art: pd.DataFrame) -> pd.DataFrame:
    """One row per place with names, centre, population, TB and HIV burden.

    Population: World Bank SP.POP.TOTL 2022, else WHO ``e_pop_num`` 2022, else Natural
    Earth ``POP_EST``; ``population_2002`` is World Bank's of 2002 (the yardstick of the
    population drift check of :mod:`healthmob.mobility.drift`). TB: WHO 2022 estimates.
    HIV (ages 15-49): World Bank SH.DYN.AIDS.ZS latest year with a value, else OWID/UNAIDS
    latest year. ART coverage: World Bank SH.HIV.ARTC.ZS (UNAIDS), latest year up to 2022.
    Missing stays NaN.

    Parameters
    ----------
    ne : GeoDataFrame
        Natural Earth countries (:func:`.readers.read_natural_earth`).
    centres : DataFrame
        :func:`population_centres` and :func:`point_centres` together.
    who : DataFrame
        WHO TB burden estimates, one row per country and year.
    wb_pop, wb_hiv : DataFrame
        World Bank wide tables (:func:`.readers.read_worldbank`).
    owid_hiv : DataFrame
        OWID/UNAIDS HIV prevalence (``Code``, ``Year``, value column last).
    points : DataFrame
        :func:`point_places`.
    wb_art : DataFrame
        World Bank ART coverage, percent of people living with HIV (wide, as ``wb_pop``).

    Returns
    -------
    DataFrame
        The ``places.csv`` table, sorted by ``id``.
    """
    polygons = pd.DataFrame({
        "id": ne["id"].to_numpy(), "iso2": ne["iso2"].to_numpy(), "name": ne["NAME"].to_numpy(),
        "continent": ne["CONTINENT"].to_numpy(), "subregion": ne["SUBREGION"].to_numpy(),
        "shape": "polygon"})
    places = pd.concat([polygons, points.assign(shape="point")], ignore_index=True)
    tb = who[who["year"] == YEAR].set_index("iso3")
    places["who_region"] = places["id"].map(tb["g_whoregion"])
    places["lat"] = places["id"].map(centres["lat"]).round(4)
    places["lon"] = places["id"].map(centres["lon"]).round(4)
    places["centre_source"] = places["id"].map(centres["centre_source"])
    _add_population(places, ne, tb, wb_pop)
    for column, field in (("tb_incidence_per_100k", "e_inc_100k"),
                          ("tb_incidence_per_100k_lo", "e_inc_100k_lo"),
                          ("tb_incidence_per_100k_hi", "e_inc_100k_hi"),
                          ("tb_hiv_percent", "e_tbhiv_prct")):
        places[column] = places["id"].map(tb[field])
    hiv = latest_hiv(wb_hiv, owid_hiv)
    for column in ("hiv_prevalence_percent", "hiv_prevalence_year", "hiv_prevalence_source"):
        places[column] = places["id"].map(hiv[column])
    places["hiv_prevalence_year"] = places["hiv_prevalence_year"].astype("Int64")
    art = latest_value(wb_art, YEAR)
    places["art_coverage_percent"] = places["id"].map(art["value"])
    places["art_coverage_year"] = places["id"].map(art["year"]).astype("Int64")
    return places.sort_values("id").reset_index(drop=True)


def latest_value(wide: pd.DataFrame, last_year: int) -> pd.DataFrame:
    """``value`` and ``year`` of the latest year up to ``last_year`` with a value, per ISO3."""
    long = wide[[y for y in wide.columns if y <= last_year]].stack().dropna()
    long = long.rename("value").reset_index()
    long.columns = ["iso3", "year", "value"]
    return long.sort_values("year").groupby("iso3").last()


def _add_population(places: pd.DataFrame, ne, tb: pd.DataFrame, wb_pop: pd.DataFrame) -> None:
    """Add ``population`` and ``population_source``: first positive value in source order."""
    sources = [("World Bank SP.POP.TOTL 2022", places["id"].map(wb_pop[YEAR])),
               ("WHO e_pop_num 2022", places["id"].map(tb["e_pop_num"])),
               ("Natural Earth POP_EST", places["id"].map(ne.set_index("id")["POP_EST"]))]
    population = pd.Series(np.nan, index=places.index)
    source = pd.Series("", index=places.index)
    for label, values in sources:
        take = population.isna() & values.notna() & (values > 0)
        population[take], source[take] = values[take], label
    places["population"] = population.round().astype("Int64")
    places["population_source"] = source.replace("", np.nan)
    places[f"population_{YEAR - 20}"] = places["id"].map(wb_pop[YEAR - 20]).round().astype(
        "Int64")


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


# ---------------------------------------------------------------- polygons --------


def build_countries(ne):
    """Place polygons (``id``, ``name``, geometry), valid MultiPolygons in EPSG:4326.

    Coordinates keep their source precision: rounding them (``shapely.set_precision``)
    does not shrink a GeoPackage, whose size is set by its pages, not by the digits.
    """
    geoms = shapely.make_valid(ne.geometry.to_numpy())
    geoms = np.array([_multipolygon(g) for g in geoms], dtype=object)
    return gpd.GeoDataFrame({"id": ne["id"].to_numpy(), "name": ne["NAME"].to_numpy()},
                            geometry=geoms, crs="EPSG:4326").sort_values("id", ignore_index=True)


def _multipolygon(geom):
    """The polygon parts of a (made valid) geometry as one MultiPolygon."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    return MultiPolygon(polys)
