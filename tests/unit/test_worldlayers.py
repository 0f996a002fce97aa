"""World layers from the committed geo/ tables: air, land and migration volumes."""

import numpy as np
import pandas as pd
import pytest

from healthmob.mobility.build import build_mobility
from healthmob.mobility.files import mobility_to_dataset
from healthmob.mobility.places import read_table
from healthmob.schema import check_dataset
from healthmob.store.resources import data_dir

GEO = data_dir("geo")
NEEDED = ("places.csv", "air.csv", "land.csv", "migration.csv")
pytestmark = pytest.mark.skipif(
    not all((GEO / name).is_file() for name in NEEDED),
    reason=f"the world tables {NEEDED} are not in {GEO} (build them: healthmob build-geo)")

PAIRS = [("USA", "MEX"), ("ZAF", "MOZ"), ("ZAF", "LSO"), ("GBR", "IND")]


@pytest.fixture(scope="module")
def world():
    return read_table(GEO / "places.csv")


@pytest.fixture(scope="module")
def mobility(world):
    return build_mobility(world, {"layers": ["air", "land", "migration"]})


def _flow(mobility, layer, origin, destination):
    return mobility.layers[layer].flow[mobility.index(origin), mobility.index(destination)]


@pytest.mark.parametrize("a, b", PAIRS)
def test_corridors_of_the_done_criteria_carry_flow_both_ways(mobility, a, b):
    layers = ["air", "migration"] + ([] if (a, b) == ("GBR", "IND") else ["land"])
    for layer in layers:
        assert _flow(mobility, layer, a, b) > 0 and _flow(mobility, layer, b, a) > 0, layer


def test_layer_couplings_and_totals(mobility):
    air, land, migration = (mobility.layers[k] for k in ("air", "land", "migration"))
    assert (air.coupling, land.coupling, migration.coupling) == ("visiting", "visiting",
                                                                 "relocation")
    assert (air.stay_days, land.stay_days) == (10.0, 3.0)
    assert air.flow.sum() == pytest.approx(1.5e9 / 365.25, rel=1e-9)
    assert land.flow.sum() == pytest.approx(1.1e9 / 365.25, rel=1e-9)


def test_air_volume_is_proportional_to_route_counts(mobility):
    routes = pd.read_csv(GEO / "air.csv", keep_default_na=False, na_values=[""])
    per_route = 1.5e9 / 365.25 / routes["n_routes"].sum()
    usa_mex = routes.query("origin == 'USA' and destination == 'MEX'")["n_routes"].item()
    assert _flow(mobility, "air", "USA", "MEX") == pytest.approx(usa_mex * per_route)


def test_migration_is_stock_times_turnover(mobility):
    stock = pd.read_csv(GEO / "migration.csv", keep_default_na=False, na_values=[""])
    mex_usa = stock.query("origin == 'MEX' and destination == 'USA'")["migrant_stock"].item()
    assert _flow(mobility, "migration", "MEX", "USA") == pytest.approx(
        mex_usa * 0.04 / 365.25)
    # migrants travel over air and land: the fastest of the two
    i, j = mobility.index("MEX"), mobility.index("USA")
    fastest = min(mobility.layers["air"].travel_time[i, j],
                  mobility.layers["land"].travel_time[i, j])
    assert mobility.layers["migration"].travel_time[i, j] == pytest.approx(fastest)


def test_land_flows_conserve_outflows_with_a_per_capita_rate(world):
    rate = 1e-3
    land = build_mobility(world, {"layers": ["land"],
                                  "land": {"trips_per_capita_per_day": rate}}).layers["land"]
    out = np.asarray(land.flow.sum(axis=1)).ravel()
    bordered = out > 0
    assert bordered.sum() > 140
    np.testing.assert_allclose(out[bordered], rate * world["population"].to_numpy()[bordered],
                               rtol=1e-12)


def test_a_subset_of_places_keeps_each_pair_flow(world, mobility):
    subset = world.set_index("id").loc[["ZAF", "LSO", "MOZ", "GBR"]].reset_index()
    small = build_mobility(subset, {"layers": ["air", "land", "migration"]})
    for layer in ("air", "land", "migration"):
        assert _flow(small, layer, "ZAF", "MOZ") == pytest.approx(
            _flow(mobility, layer, "ZAF", "MOZ"))


def test_world_dataset_is_cf_and_effective_distance_is_at_least_one(world, mobility):
    ds = mobility_to_dataset(mobility, world)
    assert check_dataset(ds) == []
    assert list(ds["layer"].values) == ["air", "land", "migration"]
    d_eff = ds["effective_distance"].values
    off = ~np.eye(len(world), dtype=bool)
    assert np.all(d_eff[off] >= 1.0)
    # every place with travellers reaches every other such place (ATA, ATF and the
    # non-ISO units CYN, KOS, SOL have no corridors in geo/)
    connected = np.asarray(mobility.combined_flow().sum(axis=1)).ravel() > 0
    assert connected.sum() >= 170
    assert np.isfinite(d_eff[np.ix_(connected, connected)]).all()


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
