"""World layers from the committed geo/ tables: air, land, migration and return volumes."""

import numpy as np
import pytest

from healthmob.errors import ConfigError, DataError
from healthmob.mobility.build import build_mobility
from healthmob.mobility.config import mobility_config
from healthmob.mobility.drift import population_drift
from healthmob.mobility.files import mobility_to_dataset
from healthmob.mobility.matrix import VOLUME_SOURCES
from healthmob.mobility.migration_flows import destination_group
from healthmob.mobility.places import read_table
from healthmob.mobility.travel import fit_travel
from healthmob.mobility.world import read_world_table
from healthmob.schema import check_dataset
from healthmob.store.resources import data_dir
from healthmob.units import DAYS_PER_YEAR

GEO = data_dir("geo")
NEEDED = ("places.csv", "air.csv", "land.csv", "migration.csv", "tourism.csv")
pytestmark = pytest.mark.skipif(
    not all((GEO / name).is_file() for name in NEEDED),
    reason=f"the world tables {NEEDED} are not in {GEO} (build them: healthmob build-geo)")

LAYERS = ["air", "land", "migration", "return"]
PAIRS = [("USA", "MEX"), ("ZAF", "MOZ"), ("ZAF", "LSO"), ("GBR", "IND")]


@pytest.fixture(scope="module")
def world():
    return read_table(GEO / "places.csv")


@pytest.fixture(scope="module")
def mobility(world):
    return build_mobility(world, {"layers": LAYERS})


@pytest.fixture(scope="module")
def fit(world):
    tables = {t: read_world_table(t) for t in ("air", "land", "tourism", "visas")}
    return fit_travel(world, tables, mobility_config({"layers": ["air", "land"]}))


def _flow(mobility, layer, origin, destination):
    return mobility.layers[layer].flow[mobility.index(origin), mobility.index(destination)]


def _source(mobility, layer, origin, destination):
    code = mobility.layers[layer].volume_source[mobility.index(origin),
                                                mobility.index(destination)]
    return VOLUME_SOURCES[int(code) - 1] if code else ""


@pytest.mark.parametrize("a, b", PAIRS)
def test_corridors_of_the_done_criteria_carry_flow_both_ways(mobility, a, b):
    layers = ["air", "migration"] + ([] if (a, b) == ("GBR", "IND") else ["land"])
    for layer in layers:
        assert _flow(mobility, layer, a, b) > 0 and _flow(mobility, layer, b, a) > 0, layer


def test_layer_couplings_and_stays(mobility):
    kinds = {name: (layer.coupling, layer.stay_days) for name, layer in
             mobility.layers.items()}
    assert kinds == {"air": ("visiting", 10.0), "land": ("visiting", 3.0),
                     "migration": ("relocation", 1.0), "return": ("relocation", 1.0)}


def test_counted_destination_arrivals_are_met(fit):
    """Every destination with counted air or land arrivals and a corridor of that mode gets
    them (the fit ends with the destination step)."""
    for k, mode in enumerate(("air", "land")):
        counted = fit.margins.source[mode] == "counted"
        ratio = fit.report.destination_ratio[k][counted]
        reached = ratio > 0
        assert reached.sum() >= (100 if mode == "air" else 70)
        np.testing.assert_allclose(ratio[reached], 1.0, rtol=1e-6)


def test_world_travel_totals_are_those_of_the_counts(mobility, fit):
    for mode in ("air", "land"):
        total = mobility.layers[mode].flow.sum() * DAYS_PER_YEAR
        margins = fit.margins.values[mode].sum() * DAYS_PER_YEAR
        assert total == pytest.approx(margins, rel=0.05), mode


@pytest.mark.parametrize("a, b", [("KOR", "PRK"), ("DZA", "MAR"), ("ARM", "AZE"),
                                  ("ARM", "TUR"), ("ISR", "LBN"), ("QAT", "SAU")])
def test_closed_borders_carry_no_land_flow(mobility, a, b):
    assert _flow(mobility, "land", a, b) == 0 and _flow(mobility, "land", b, a) == 0


def test_counted_and_restricted_borders_are_fixed(mobility):
    assert _flow(mobility, "land", "IND", "PAK") == pytest.approx(39_338 / DAYS_PER_YEAR)
    assert _source(mobility, "land", "IND", "PAK") == "counted"
    assert _flow(mobility, "land", "CHN", "IND") == pytest.approx(10.0)
    assert _source(mobility, "land", "CHN", "IND") == "residual_closed_border"
    assert _source(mobility, "land", "USA", "MEX") in ("fitted_to_margins", "imputed")


def test_permeability_and_closed_borders_override_the_data(world):
    base = {"layers": ["air", "land"]}
    opened = build_mobility(world, {**base, "land": {"permeability": {"IND-PAK": 0.5}}})
    closed = build_mobility(world, {**base, "land": {"closed_borders": ["USA-MEX"]}})
    assert _flow(opened, "land", "IND", "PAK") > 1000
    assert _source(opened, "land", "IND", "PAK") in ("fitted_to_margins", "imputed")
    assert _flow(closed, "land", "MEX", "USA") == 0


def test_unknown_place_in_a_closure_list_is_one_line():
    with pytest.raises(ConfigError, match=r"mobility.land.closed_borders: 'XXX' is not a "
                                          r"place id of the world"):
        mobility_config({"layers": ["land"], "land": {"closed_borders": ["IND-XXX"]}})
    with pytest.raises(ConfigError, match=r"mobility.land.permeability.IND-PAK must be a "
                                          r"number in \[0, 1\]; got 1.5"):
        mobility_config({"layers": ["land"], "land": {"permeability": {"IND-PAK": 1.5}}})


def test_india_canada_flies_through_a_hub(mobility):
    air = read_world_table("air")
    assert air.query("origin == 'IND' and destination == 'CAN'").empty
    i, j = mobility.index("IND"), mobility.index("CAN")
    assert _flow(mobility, "air", "IND", "CAN") > 50
    direct_legs = air.set_index(["origin", "destination"])["distance_km"]
    # no single leg reaches Canada from India, so the itinerary is at least two flights
    time = mobility.layers["air"].travel_time[i, j]
    assert time > 2 * 3.5 / 24 + direct_legs.loc[("IND", "GBR")] / 800 / 24


def test_migration_is_stock_growth_plus_replacement(mobility):
    stocks = read_world_table("migration").set_index(["origin", "destination"])
    s15, s20 = stocks.loc[("MEX", "USA"), ["stock_2015", "stock_2020"]]
    stock = s15 + (s20 - s15) * 4 / 5
    rate, death = 0.01, 0.0076
    assert destination_group("USA") == "settlement"
    expected = max(0.0, (s20 - s15) / 5 + (rate + death) * stock) / DAYS_PER_YEAR
    assert _flow(mobility, "migration", "MEX", "USA") == pytest.approx(expected)
    assert _flow(mobility, "return", "USA", "MEX") == pytest.approx(rate * stock / DAYS_PER_YEAR)
    assert _source(mobility, "return", "USA", "MEX") == "stock_change"
    i, j = mobility.index("MEX"), mobility.index("USA")
    fastest = min(mobility.layers["air"].travel_time[i, j],
                  mobility.layers["land"].travel_time[i, j])
    assert mobility.layers["migration"].travel_time[i, j] == pytest.approx(fastest)


def test_refugee_stocks_counted_by_descent_carry_no_flow(mobility):
    assert _flow(mobility, "migration", "PSE", "JOR") == 0
    assert _flow(mobility, "return", "JOR", "PSE") == 0


def test_returns_keep_populations_near_their_history(world, mobility):
    drift = population_drift(mobility, world)
    assert drift["flagged"].sum() <= 30
    flagged = drift[drift["flagged"]]
    assert (flagged["reason"] != "").all()
    # the mature corridors no longer empty their origins: Mexico and India change by < 5 %
    row = drift.set_index("id")
    assert abs(row.at["MEX", "change"]) < 0.05 and abs(row.at["IND", "change"]) < 0.05
    assert abs(row.at["PSE", "change"]) < 0.1


def test_a_subset_of_places_keeps_each_pair_flow(world, mobility):
    subset = world.set_index("id").loc[["ZAF", "LSO", "MOZ", "GBR"]].reset_index()
    small = build_mobility(subset, {"layers": LAYERS})
    for layer in LAYERS:
        assert _flow(small, layer, "ZAF", "MOZ") == pytest.approx(
            _flow(mobility, layer, "ZAF", "MOZ"))


def test_reference_year_selects_the_counts(world):
    early = build_mobility(world, {"layers": ["air", "land"], "reference_year": 2012})
    late = build_mobility(world, {"layers": ["air", "land"]})
    assert early.layers["air"].flow.sum() < late.layers["air"].flow.sum()
    with pytest.raises(ConfigError, match=r"mobility.reference_year must be an integer in "
                                          r"\[2010, 2022\]; got 2030"):
        mobility_config({"layers": ["air"], "reference_year": 2030})


def test_user_margins_replace_the_counts(tmp_path, world):
    (tmp_path / "m.csv").write_text("iso3,arrivals_air\nFRA,1000000\n")
    mine = build_mobility(world, {"layers": ["air", "land"], "margins": "m.csv"},
                          base_dir=tmp_path)
    into = np.asarray(mine.layers["air"].flow.sum(axis=0)).ravel()[mine.index("FRA")]
    assert into * DAYS_PER_YEAR == pytest.approx(1e6, rel=1e-6)


@pytest.mark.parametrize("text, message", [
    ("iso3,arrivals_air\nFRA,-5\n", r"m.csv: row 2: arrivals_air must be a number >= 0"),
    ("iso3,arrivals_air\nFRA,lots\n", r"m.csv: row 2: arrivals_air must be a number >= 0 "
                                      r"\(persons a year\); got 'lots'"),
    ("iso3,arrivals_air\nXXX,5\n", r"m.csv: row 2: iso3 must be a world place id"),
    ("country,visitors\nFRA,5\n", r"m.csv: a margins table needs columns iso3"),
])
def test_bad_margins_are_one_line(tmp_path, world, text, message):
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(DataError, match=message):
        build_mobility(world, {"layers": ["air"], "margins": "m.csv"}, base_dir=tmp_path)


def test_world_dataset_is_cf_with_volume_sources(world, mobility):
    ds = mobility_to_dataset(mobility, world)
    assert check_dataset(ds) == []
    assert list(ds["layer"].values) == LAYERS
    flags = ds["volume_source"]
    assert flags.attrs["flag_meanings"].split()[0] == "no_flow"
    assert ((flags.values > 0) == (ds["flow"].values > 0)).all()
    d_eff = ds["effective_distance"].values
    off = ~np.eye(len(world), dtype=bool)
    assert np.all(d_eff[off] >= 1.0)
    connected = np.asarray(mobility.combined_flow().sum(axis=1)).ravel() > 0
    assert connected.sum() >= 205
    assert np.isfinite(d_eff[np.ix_(connected, connected)]).all()


def test_point_places_are_places(world, mobility):
    points = world[world["shape"] == "point"]["id"]
    assert {"SGP", "HKG", "MAC", "BHR", "MLT", "MUS", "CPV"} <= set(points)
    assert _flow(mobility, "air", "SGP", "MYS") > 1000
    assert _flow(mobility, "migration", "IND", "SGP") > 0


def test_corridor_ends_fall_in_world_country_polygons(tmp_path, world):
    gpd = pytest.importorskip("geopandas")
    from shapely.geometry import LineString

    if not (GEO / "countries.gpkg").is_file():
        pytest.skip("geo/countries.gpkg is missing")
    # Johannesburg, London Heathrow, and Maputo airport (on the coast, 1:110m polygon)
    jnb, lhr, mpm = (28.2460, -26.1392), (-0.4543, 51.4700), (32.5727, -25.9208)
    frame = gpd.GeoDataFrame({"mode": ["air", "land"], "persons_per_day": [100.0, 50.0]},
                             geometry=[LineString([jnb, lhr]), LineString([jnb, mpm])],
                             crs=4326)
    frame.to_file(tmp_path / "c.gpkg")
    mobility = build_mobility(world, {"corridors": ["c.gpkg"]}, base_dir=tmp_path)
    assert _flow(mobility, "air", "ZAF", "GBR") == 100.0
    assert _flow(mobility, "land", "ZAF", "MOZ") == 50.0
    assert _source(mobility, "air", "ZAF", "GBR") == "user_file"



def test_relocation_layers_alone_route_over_their_own_corridors(world):
    """Without air and land (the default route of migration and return), their travel
    times come from their own corridors instead of the run being refused."""
    mobility = build_mobility(world, {"layers": ["migration", "return"]})
    for name in ("migration", "return"):
        layer = mobility.layers[name]
        assert layer.travel_time.nnz == layer.flow.nnz > 0
        assert np.isfinite(layer.travel_time.data).all() and (layer.travel_time.data > 0).all()
