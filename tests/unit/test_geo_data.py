"""The committed world dataset in ``geo/``: ids, known values, consistency between files.

These tests read the derived files only; the last one rebuilds the air layer from the raw
data when ``../shared/data`` (beside the repository) is present, and is skipped otherwise.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from healthmob.geobuild.layers import (
    airport_country_iso3,
    build_air_layer,
    with_missing_airports,
)
from healthmob.geobuild.readers import read_airports, read_openflights_countries, read_routes
from healthmob.store.resources import data_dir

GEO = data_dir("geo")
RAW_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"  # ../shared/data of the repo
LAYERS = ("air", "land", "migration")


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(GEO / f"{name}.csv", keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def places() -> pd.DataFrame:
    return read("places")


@pytest.fixture(scope="module")
def layers() -> dict[str, pd.DataFrame]:
    return {name: read(name) for name in LAYERS}


def test_places_are_217_unique_iso3_ids(places):
    assert len(places) == 217
    assert (places["shape"] == "polygon").sum() == 177
    assert places["id"].is_unique
    assert places["id"].str.fullmatch(r"[A-Z]{3}").all()
    assert {"FRA", "NOR", "NAM", "ZAF", "IND", "USA"} <= set(places["id"])
    assert list(places["id"]) == sorted(places["id"])


def test_namibia_iso2_survives_the_round_trip(places):
    row = places.set_index("id").loc["NAM"]
    assert row["iso2"] == "NA"
    assert row["name"] == "Namibia"


def test_populations_are_positive_and_zaf_matches_world_bank(places):
    population = places.set_index("id")["population"]
    assert population.notna().all()
    assert (population > 0).all()
    assert population["ZAF"] == pytest.approx(59_893_885, rel=0.01)


def test_burden_values_match_who(places):
    row = places.set_index("id")
    assert row.at["ZAF", "tb_incidence_per_100k"] == 468
    assert row.at["IND", "tb_incidence_per_100k"] == 199
    lo, hi = row["tb_incidence_per_100k_lo"], row["tb_incidence_per_100k_hi"]
    mid = row["tb_incidence_per_100k"]
    known = mid.notna()
    assert ((lo[known] <= mid[known]) & (mid[known] <= hi[known])).all()
    assert row["hiv_prevalence_percent"].dropna().between(0, 100).all()


def test_centres_are_coordinates(places):
    assert places["lat"].between(-90, 90).all()
    assert places["lon"].between(-180, 180).all()


@pytest.mark.parametrize("name", LAYERS)
def test_layer_ends_are_places_and_never_self_pairs(name, layers, places):
    table = layers[name]
    ids = set(places["id"])
    assert len(table) > 0
    assert table["origin"].isin(ids).all()
    assert table["destination"].isin(ids).all()
    assert (table["origin"] != table["destination"]).all()
    assert not table.duplicated(["origin", "destination"]).any()


def test_land_is_symmetric_and_has_southern_africa_borders(layers):
    land = layers["land"]
    pairs = set(zip(land["origin"], land["destination"]))
    assert pairs == {(d, o) for o, d in pairs}
    assert {("ZAF", "LSO"), ("ZAF", "MOZ"), ("ZAF", "NAM")} <= pairs
    assert (land["distance_km"] > 0).all()


def test_air_counts_are_consistent(layers):
    air = layers["air"]
    assert (air["n_airport_pairs"] >= 1).all()
    assert (air["n_airport_pairs"] <= air["n_routes"]).all()
    assert (air["distance_km"] > 0).all()
    pairs = set(zip(air["origin"], air["destination"]))
    assert {("USA", "MEX"), ("MEX", "USA"), ("ZAF", "MOZ"), ("GBR", "IND")} <= pairs


def test_migration_matches_un_desa(layers):
    """The UN DESA 2024 stocks of the raw file's SOURCES.md checks (both sexes)."""
    stock = layers["migration"].set_index(["origin", "destination"])
    assert stock.at[("MEX", "USA"), "stock_2024"] == 11_279_561
    assert stock.at[("MEX", "USA"), "stock_2020"] == 11_177_052
    assert stock.at[("IND", "GBR"), "stock_2024"] == 1_044_779
    columns = [c for c in stock.columns if c.startswith("stock_")]
    assert (stock[columns] >= 0).all().all() and (stock[columns].sum(axis=1) > 0).all()


def test_point_places_have_data_and_no_polygon(places):
    points = places[places["shape"] == "point"].set_index("id")
    assert {"SGP", "HKG", "MAC", "BHR", "MLT", "MUS", "CPV"} <= set(points.index)
    assert points["population"].notna().all() and points["tb_incidence_per_100k"].notna().all()
    assert points.at["SGP", "population"] == pytest.approx(5_637_022, rel=0.01)


def test_land_borders_say_what_they_let_through(layers):
    land = layers["land"].set_index(["origin", "destination"])
    assert land.at[("IND", "PAK"), "typology"] == 5
    assert land.at[("IND", "PAK"), "visa"] == "required"
    assert land.at[("ZWE", "ZAF"), "visa"] == "free"
    assert land.at[("KOR", "PRK"), "closed_from"] == 1953
    assert land.at[("QAT", "SAU"), "closed_to"] == 2020
    assert land.at[("PAK", "IND"), "counted_per_year"] == 39_338
    assert set(land["visa"].dropna()) <= {"free", "on_arrival", "required", "no_admission"}


def test_tourism_counts_match_un_tourism(layers):
    """The checks of the raw file's SOURCES.md: India 2019 land arrivals 2,366.7 thousand of
    10,930 by mode; South Africa land 7,206.3 thousand; India departures 26,915 thousand."""
    tourism = read("tourism").set_index(["iso3", "year"])
    assert tourism.at[("IND", 2019), "arrivals_land"] == 2_366_700
    assert tourism.at[("IND", 2019), "arrivals_by_mode"] == 10_930_300
    assert tourism.at[("ZAF", 2019), "arrivals_land"] == 7_206_300
    assert tourism.at[("IND", 2019), "departures_total"] == 26_915_000
    assert tourism.at[("DEU", 2019), "arrivals_overnight"] > 0  # M49 280, not 276


def test_countries_layer_matches_places(places):
    import geopandas as gpd

    countries = gpd.read_file(GEO / "countries.gpkg", layer="countries")
    assert countries.crs.to_epsg() == 4326
    assert sorted(countries["id"]) == sorted(places.loc[places["shape"] == "polygon", "id"])
    assert countries.geometry.is_valid.all()
    assert not countries.geometry.is_empty.any()


def test_geo_folder_is_small():
    total = sum(path.stat().st_size for path in GEO.rglob("*") if path.is_file())
    assert total < 10 * 1024 * 1024


@pytest.mark.skipif(not RAW_DATA.is_dir(), reason=f"raw data folder {RAW_DATA} is absent")
def test_air_layer_rebuilds_to_the_committed_pairs(places, layers):
    data = RAW_DATA / "openflights"
    routes = read_routes(data / "routes.dat")
    airports = with_missing_airports(read_airports(data / "airports.dat"))
    countries = read_openflights_countries(data / "countries.dat")
    country_iso3 = airport_country_iso3(countries, places.set_index("id")["iso2"])
    air = build_air_layer(routes, airports, country_iso3)
    assert len(air) == len(layers["air"])
    assert air["n_routes"].sum() == layers["air"]["n_routes"].sum()
