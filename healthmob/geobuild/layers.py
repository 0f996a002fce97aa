"""The three mobility layers between places: ``air.csv``, ``land.csv`` and ``migration.csv``.

Air: OpenFlights routes aggregated to directed pairs of places. Land: GeoDataSource border
pairs made symmetric. Migration: UN DESA bilateral migrant stock, whose country names are
matched to place ids here. Each builder takes DataFrames and returns a DataFrame sorted by
``origin, destination``, so that it can be tested and timed on its own.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

import numpy as np
import pandas as pd
from pyproj import Geod

MIGRATION_YEAR = 2019

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


def build_land_layer(borders: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    """Land-border pairs (both directions) between places, with centre-to-centre distance.

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
    pairs = pd.concat([pairs, pairs.set_axis(["destination", "origin"], axis=1)])
    pairs = pairs[pairs["origin"] != pairs["destination"]].drop_duplicates()
    pos = places.set_index("id")[["lat", "lon"]]
    a, b = pos.loc[pairs["origin"]], pos.loc[pairs["destination"]]
    _, _, metres = Geod(ellps="WGS84").inv(a["lon"].to_numpy(), a["lat"].to_numpy(),
                                           b["lon"].to_numpy(), b["lat"].to_numpy())
    pairs["distance_km"] = np.round(np.asarray(metres) / 1000.0, 1)
    return pairs.sort_values(["origin", "destination"], ignore_index=True)


# ---------------------------------------------------------------- migration -------


def normalise_name(name: str) -> str:
    """Casefold, strip accents and punctuation: ``"Côte d'Ivoire"`` -> ``"cote divoire"``."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return " ".join("".join(c if c.isalnum() else " " for c in text.casefold()).split())


def un_country_names(stock: pd.DataFrame) -> list[str]:
    """The distinct country names of the wide UN DESA table: destinations, then origins."""
    names = list(stock["Dest"].unique()) + [c for c in stock.columns[2:]]
    return list(dict.fromkeys(names))


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

    Parameters
    ----------
    stock : DataFrame
        The wide UN table (``Year``, ``Dest``, one column per origin name).
    name_iso3 : mapping
        UN name -> ISO3 (:func:`un_name_iso3`).
    place_ids : iterable of str
        The place ids; pairs with another end are dropped.

    Returns
    -------
    DataFrame
        ``origin, destination, migrant_stock`` (int, > 0), ``origin`` the country of origin.
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
