"""The three mobility layers between places: ``air.csv``, ``land.csv`` and ``migration.csv``.

Air: OpenFlights routes aggregated to directed pairs of places. Land: GeoDataSource border
pairs made symmetric (what each border lets through is :mod:`.borders`). Migration: the UN
DESA bilateral migrant stock series 1990-2024 (ISO3 codes), both sexes, at the dates of
:data:`STOCK_YEARS`. Each builder takes DataFrames and returns a DataFrame sorted by
``origin, destination``, so that it can be tested and timed on its own.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from pyproj import Geod

STOCK_YEARS = (2000, 2005, 2010, 2015, 2020, 2024)
"""Dates of the UN DESA 2024 stock series written to ``migration.csv``."""

#: airports.dat country names that countries.dat lacks, or maps to a wrong or empty ISO2
#: (countries.dat gives "IV" for Cote d'Ivoire: that is its FIPS/DAFIF code).
AIRPORT_COUNTRY_ISO2 = {
    "Palestine": "PS", "West Bank": "PS", "Myanmar": "MM", "East Timor": "TL",
    "Cote d'Ivoire": "CI", "Reunion": "RE", "Sao Tome and Principe": "ST",
    "Virgin Islands": "VI", "Svalbard": "SJ", "Curacao": "CW", "Sint Maarten": "SX",
}
#: airports.dat files these airports under "Netherlands Antilles", dissolved in 2010
AIRPORT_IATA_COUNTRY = {"CUR": "Curacao", "SXM": "Sint Maarten"}
#: airports that routes.dat names by an id airports.dat lacks (the two with most routes):
#: id -> (name, city, country, IATA, lat, lon); positions of the terminals, in degrees
MISSING_AIRPORTS = {
    11051: ("Hamad International Airport", "Doha", "Qatar", "DOH", 25.2731, 51.6081),
    7447: ("Enfidha-Hammamet International Airport", "Enfidha", "Tunisia", "NBE", 36.0756,
           10.4386),
}


def with_missing_airports(airports: pd.DataFrame) -> pd.DataFrame:
    """airports.dat with :data:`MISSING_AIRPORTS` added and :data:`AIRPORT_IATA_COUNTRY`
    applied (the airport table every builder uses)."""
    extra = pd.DataFrame([(key, *values) for key, values in MISSING_AIRPORTS.items()],
                         columns=["id", "name", "city", "country", "iata", "lat", "lon"])
    out = pd.concat([airports, extra.astype({"id": airports["id"].dtype})], ignore_index=True)
    renamed = out["iata"].isin(AIRPORT_IATA_COUNTRY)
    out.loc[renamed, "country"] = out.loc[renamed, "iata"].map(AIRPORT_IATA_COUNTRY)
    return out

# ---------------------------------------------------------------- air -------------


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


def unresolved_airports(routes: pd.DataFrame, airports: pd.DataFrame) -> pd.Series:
    """Route ends whose airport id is not in airports.dat, counted by airport code."""
    known = set(airports["id"])
    codes = pd.concat([routes.loc[~routes["src_id"].isin(known), "src"],
                       routes.loc[~routes["dst_id"].isin(known), "dst"]])
    return codes.value_counts()


def build_air_layer(routes: pd.DataFrame, airports: pd.DataFrame,
                    country_iso3: Mapping[str, str]) -> pd.DataFrame:
    """Aggregate OpenFlights routes to directed international pairs of places.

    Parameters
    ----------
    routes, airports : DataFrame
        From :func:`.readers.read_routes` and :func:`.readers.read_airports`.
    country_iso3 : mapping
        airports.dat country name -> place id (:func:`airport_country_iso3`).

    Returns
    -------
    DataFrame
        ``origin, destination, n_routes, n_airport_pairs, distance_km`` sorted by pair;
        ``distance_km`` is the route-weighted mean WGS84 geodesic airport-to-airport
        distance. ``attrs`` holds the route counts (total, resolved, international).
    """
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


# ---------------------------------------------------------------- land ------------

#: land crossings over fixed links that GeoDataSource does not list as borders
FIXED_LINKS = {
    ("MYS", "SGP"): "Johor-Singapore Causeway and Second Link (road and rail)",
    ("BHR", "SAU"): "King Fahd Causeway (road)",
    ("FRA", "GBR"): "Channel Tunnel (rail shuttle for cars, Eurostar)",
    ("DNK", "SWE"): "Oresund Bridge (road and rail)",
}


def build_land_layer(borders: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """Land-border pairs (both directions) between places, with centre-to-centre distance.

    The GeoDataSource borders plus the fixed links of :data:`FIXED_LINKS` (bridges,
    causeways and the Channel Tunnel, over which land arrivals are counted).

    Parameters
    ----------
    borders : DataFrame
        GeoDataSource country borders (``country_code``, ``country_border_code``: ISO2).
    places : DataFrame
        The places table (``id``, ``iso2``, ``lat``, ``lon``).

    Returns
    -------
    DataFrame
        ``origin, destination, distance_km`` (WGS84 geodesic, rounded to 0.1 km).
    """
    by_iso2 = {c: i for i, c in zip(places["id"], places["iso2"]) if isinstance(c, str) and c}
    pairs = pd.DataFrame({"origin": borders["country_code"].map(by_iso2),
                          "destination": borders["country_border_code"].map(by_iso2)}).dropna()
    pairs = pd.concat([pairs, pd.DataFrame(list(FIXED_LINKS), columns=["origin",
                                                                      "destination"])])
    pairs = pd.concat([pairs, pairs.set_axis(["destination", "origin"], axis=1)])
    pairs = pairs[pairs["origin"] != pairs["destination"]].drop_duplicates()
    pos = places.set_index("id")[["lat", "lon"]]
    a, b = pos.loc[pairs["origin"]], pos.loc[pairs["destination"]]
    _, _, metres = Geod(ellps="WGS84").inv(a["lon"].to_numpy(), a["lat"].to_numpy(),
                                           b["lon"].to_numpy(), b["lat"].to_numpy())
    pairs["distance_km"] = np.round(np.asarray(metres) / 1000.0, 1)
    return pairs.sort_values(["origin", "destination"], ignore_index=True)


# ---------------------------------------------------------------- migration -------


def build_migration_layer(stocks: pd.DataFrame, place_ids) -> pd.DataFrame:
    """UN DESA bilateral migrant stock (persons, both sexes) at :data:`STOCK_YEARS`.

    Parameters
    ----------
    stocks : DataFrame
        The UN DESA 2024 long table: ``geo`` (destination ISO3), ``t`` (year), ``from``
        (origin ISO3), ``sex``, ``n`` (persons).
    place_ids : iterable of str
        The place ids; pairs with another end are dropped.

    Returns
    -------
    DataFrame
        ``origin, destination, stock_<year>...`` (int), ``origin`` the country of birth (or
        citizenship where the UN estimate is by citizenship), pairs with a stock at some date.
    """
    ids = set(place_ids)
    table = stocks[stocks["t"].isin(STOCK_YEARS) & stocks["geo"].isin(ids)
                   & stocks["from"].isin(ids) & (stocks["geo"] != stocks["from"])]
    wide = table.pivot_table(index=["from", "geo"], columns="t", values="n", aggfunc="sum",
                             fill_value=0)
    wide = wide.reindex(columns=list(STOCK_YEARS), fill_value=0)
    wide.columns = [f"stock_{year}" for year in STOCK_YEARS]
    wide = wide[(wide > 0).any(axis=1)].round().astype("int64")
    wide.index.names = ["origin", "destination"]
    return wide.reset_index().sort_values(["origin", "destination"], ignore_index=True)
