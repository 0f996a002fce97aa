"""Corridor files -> Mobility: matching, travel times, flow models, bad input, round trips."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import LineString, MultiPoint, box

from healthmob.errors import ConfigError, DataError
from healthmob.mobility.build import build_mobility
from healthmob.mobility.config import parse_mobility
from healthmob.mobility.corridor_file import read_corridor_file
from healthmob.mobility.files import mobility_to_dataset, read_mobility, write_mobility
from healthmob.mobility.matrix import Mobility, MobilityLayer
from healthmob.schema import check_dataset

# airports as population-centre proxies (lon, lat)
COORDS = {"GBR": (-0.4543, 51.4700), "USA": (-73.7781, 40.6413), "ZAF": (28.2460, -26.1392),
          "MOZ": (32.5727, -25.9208)}


@pytest.fixture
def places():
    return pd.DataFrame({"id": list(COORDS), "name": ["UK", "US", "SA", "Mozambique"],
                         "population": [67e6, 330e6, 60e6, 32e6],
                         "lon": [c[0] for c in COORDS.values()],
                         "lat": [c[1] for c in COORDS.values()]})


def _line(a, b):
    return LineString([COORDS[a], COORDS[b]])


def _write(tmp_path, rows, geometry, name="corridors.gpkg", crs=4326):
    frame = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geometry, crs=crs)
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_file(path, engine="pyogrio")
    return path


def _air_file(tmp_path, name="corridors.gpkg"):
    rows = {"mode": ["air"] * 4, "origin": ["ZAF", "GBR", "USA", "GBR"],
            "destination": ["GBR", "ZAF", "GBR", "USA"],
            "persons_per_day": [1200.0, 1100.0, 30000.0, 31000.0]}
    geometry = [_line("ZAF", "GBR"), _line("GBR", "ZAF"), _line("USA", "GBR"),
                _line("GBR", "USA")]
    return _write(tmp_path, rows, geometry, name)


def test_air_corridors_give_flows_times_and_geodesic_lengths(tmp_path, places):
    mobility = build_mobility(places, {"corridors": [_air_file(tmp_path).name]},
                              base_dir=tmp_path)
    air = mobility.layers["air"]
    zaf, gbr, usa = (mobility.index(k) for k in ("ZAF", "GBR", "USA"))
    assert air.flow[zaf, gbr] == 1200.0 and air.flow[gbr, usa] == 31000.0
    assert air.coupling == "visiting" and air.stay_days == 10.0 and air.mode == "air"
    assert 0.4 <= air.travel_time[zaf, gbr] <= 1.0  # Johannesburg - London by air
    assert air.distance[gbr, usa] == pytest.approx(5540.0, rel=0.005)  # LHR - JFK
    # ZAF -> USA has no flow; no entry. USA is reached via GBR with two airport overheads.
    assert air.travel_time[zaf, usa] == 0.0


@pytest.mark.parametrize("suffix", ["geojson", "parquet"])
def test_geojson_and_geoparquet_are_read(tmp_path, places, suffix):
    path = _air_file(tmp_path, f"corridors.{suffix}")
    mobility = build_mobility(places, {"corridors": [str(path)]})
    assert mobility.layers["air"].flow.sum() == pytest.approx(63300.0)


def test_ends_match_the_nearest_place_within_tolerance_and_per_year_volumes(tmp_path, places):
    near_jnb = (28.30, -26.10)  # ~7 km from the ZAF point
    near_mpm = (32.50, -25.95)  # ~8 km from the MOZ point
    path = _write(tmp_path, {"mode": ["land"], "persons_per_year": [365.25e3]},
                  [LineString([near_jnb, (30.5, -25.5), near_mpm])])
    table = {"corridors": [path.name], "match": {"tolerance_km": 25.0, "polygons": "none"}}
    mobility = build_mobility(places, table, base_dir=tmp_path)
    land = mobility.layers["land"]
    zaf, moz = mobility.index("ZAF"), mobility.index("MOZ")
    assert land.flow[zaf, moz] == pytest.approx(1000.0)
    # the route length follows the LineString's vertices, not the straight line
    straight = build_mobility(places, {"corridors": [str(_write(
        tmp_path, {"mode": ["land"], "persons_per_day": [1.0]},
        [LineString([near_jnb, near_mpm])], "straight.gpkg"))],
        "match": {"polygons": "none"}}).layers["land"].distance[zaf, moz]
    assert land.distance[zaf, moz] > straight > 400
    assert land.travel_time[zaf, moz] == pytest.approx(
        (2.0 + land.distance[zaf, moz] / 60.0) / 24.0)


def test_ends_match_by_containment_in_place_polygons(tmp_path):
    polygons = gpd.GeoDataFrame({"id": ["A", "B"], "population": [1e6, 2e6]},
                                geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=4326)
    polygons["lon"], polygons["lat"] = [5.0, 15.0], [5.0, 5.0]
    # ends ~ 500 km from the centres, but inside the polygons
    path = _write(tmp_path, {"mode": ["sea"], "persons_per_day": [10.0]},
                  [MultiPoint([(1, 9), (19, 1)])])
    mobility = build_mobility(polygons, {"corridors": [str(path)]})
    assert mobility.layers["sea"].flow[0, 1] == 10.0
    assert mobility.layers["sea"].travel_time[0, 1] > 4.0 / 24.0


def test_missing_volumes_come_from_the_layer_flow_model(tmp_path, places):
    rows = {"mode": ["land", "land", "land"], "layer": ["road", "road", "road"],
            "origin": ["ZAF", "MOZ", "GBR"], "destination": ["MOZ", "ZAF", "USA"],
            "persons_per_day": [np.nan, np.nan, 5.0]}
    path = _write(tmp_path, rows, [_line("ZAF", "MOZ"), _line("MOZ", "ZAF"),
                                   _line("GBR", "USA")])
    table = {"corridors": [str(path)],
             "road": {"flow_model": "gravity", "total_per_day": 1000.0, "scale": 2.0}}
    road = build_mobility(places, table).layers["road"]
    assert road.flow.sum() == pytest.approx(2 * (1000.0 + 5.0))
    table["road"] = {"flow_model": "radiation", "trips_per_capita_per_day": 1e-4}
    road = build_mobility(places, table).layers["road"]
    assert road.flow[3, 2] > 0 and road.flow[2, 3] > 0
    with pytest.raises(DataError, match=r"persons_per_day or persons_per_year .* rows \[1, 2\]"):
        build_mobility(places, {"corridors": [str(path)]})


# ------------------------------------------------------------------ bad input ------------


def _expect(tmp_path, places, rows, geometry, pattern, crs=4326, **table):
    path = _write(tmp_path, rows, geometry, crs=crs)
    with pytest.raises(DataError, match=pattern) as info:
        build_mobility(places, {"corridors": [str(path)], **table})
    assert str(path) in str(info.value)
    return str(info.value)


@pytest.mark.filterwarnings("ignore:.crs. was not provided")
def test_missing_crs_is_an_error(tmp_path, places):
    _expect(tmp_path, places, {"mode": ["air"], "persons_per_day": [1.0]},
            [_line("ZAF", "GBR")], "must declare a CRS; got none", crs=None)


def test_invalid_or_empty_geometry_names_the_rows(tmp_path, places):
    rows = {"mode": ["air"] * 3, "persons_per_day": [1.0] * 3,
            "origin": ["ZAF"] * 3, "destination": ["GBR"] * 3}
    message = _expect(tmp_path, places, rows,
                      [_line("ZAF", "GBR"), LineString([(0, 0), (0, 0)]), LineString()],
                      r"geometry must be valid and non-empty; got .* in rows \[2, 3\]")
    assert "1 problem" not in message


def test_corridor_end_matching_no_place_names_the_rows(tmp_path, places):
    rows = {"mode": ["air", "air"], "persons_per_day": [1.0, 2.0],
            "origin": ["GBR", "XXX"], "destination": [None, "GBR"]}
    far = LineString([COORDS["GBR"], (100.0, 10.0)])  # destination end in the Andaman Sea
    message = _expect(tmp_path, places, rows, [far, _line("ZAF", "GBR")],
                      r"origin must be a place id .*'XXX'.* in rows \[2\]",
                      match={"polygons": "none"})
    assert "destination end must lie in a place or within 25 km" in message
    assert "rows [1]" in message


def test_negative_nan_and_text_volumes_are_errors(tmp_path, places):
    rows = {"mode": ["air"] * 3, "origin": ["ZAF"] * 3, "destination": ["GBR"] * 3,
            "persons_per_day": [-5.0, 1.0, np.nan]}
    geometry = [_line("ZAF", "GBR")] * 3
    _expect(tmp_path, places, rows, geometry,
            r"persons_per_day must be a finite number >= 0; got \[-5.0\] in rows \[1\]")
    rows["persons_per_day"] = [5.0, 1.0, np.nan]
    _expect(tmp_path, places, rows, geometry,
            r"persons_per_day or persons_per_year must be a number >= 0 .* rows \[3\]")


def test_unknown_mode_is_an_error_unless_configured(tmp_path, places):
    rows = {"mode": ["air", "hovercraft"], "origin": ["ZAF", "ZAF"],
            "destination": ["GBR", "MOZ"], "persons_per_day": [1.0, 2.0]}
    geometry = [_line("ZAF", "GBR"), _line("ZAF", "MOZ")]
    _expect(tmp_path, places, rows, geometry,
            r"mode must be one of \['air', 'land', 'migration', 'sea'\].*'hovercraft'.* "
            r"rows \[2\]")
    path = _write(tmp_path, rows, geometry, "ok.gpkg")
    table = {"corridors": [str(path)], "modes": {"hovercraft": {"speed_kmh": 70.0}}}
    mobility = build_mobility(places, table)
    assert mobility.layers["hovercraft"].travel_time[2, 3] == pytest.approx(
        mobility.layers["hovercraft"].distance[2, 3] / 70.0 / 24.0)


def test_duplicate_place_ids_are_an_error(tmp_path, places):
    doubled = pd.concat([places, places.iloc[[2]]], ignore_index=True)
    with pytest.raises(DataError, match=r"places: id must be unique; got duplicates \['ZAF'\]"):
        build_mobility(doubled, {"corridors": [str(_air_file(tmp_path))]})


def test_all_problems_of_a_file_are_reported_at_once(tmp_path, places):
    rows = {"mode": ["air", "boat"], "origin": ["ZAF", "ZAF"], "destination": ["GBR", "GBR"],
            "persons_per_day": [-1.0, 1.0]}
    message = _expect(tmp_path, places, rows, [_line("ZAF", "GBR"), LineString()],
                      "3 problems")
    assert "rows [1]" in message and "rows [2]" in message


# ------------------------------------------------------------------ config ---------------


def test_config_defaults_are_filled_and_problems_collected(tmp_path):
    problems = []
    config = parse_mobility({"layers": ["air", "migration"]}, "mobility", problems)
    assert problems == []
    assert config.layer("air").coupling == "visiting" and config.layer("air").stay_days == 10.0
    assert config.layer("migration").coupling == "relocation"
    assert config.to_table()["match"] == {"tolerance_km": 25.0, "polygons": "auto"}
    bad = {"layers": ["air", "rail"], "corridors": ["missing.gpkg"], "colour": 3,
           "air": {"stay_days": -1, "speed": 3, "total_per_day": 1.0, "total_per_year": 2.0},
           "modes": {"rail": {"overhead_hours": 1.0}}, "effective_distance": "yes"}
    problems = []
    parse_mobility(bad, "mobility", problems, base_dir=tmp_path)
    text = "\n".join(problems)
    for expected in ["mobility.air.stay_days must be a number > 0; got -1",
                     "mobility.layers[1] must be one of ['air', 'land', 'migration', "
                     "'return']; got 'rail'",
                     "mobility.corridors[0] must be an existing file",
                     "mobility.colour is not a known key",
                     "mobility.air.speed is not a known key; valid keys:",
                     "mobility.air.total_per_day is not a known key",
                     "mobility.air.total_per_year is not a known key",
                     "mobility.modes.rail.speed_kmh is required",
                     "mobility.effective_distance must be true or false; got 'yes'"]:
        assert expected in text
    assert len(problems) == 9


def test_layer_tables_that_configure_no_layer_are_refused(tmp_path, places):
    table = {"corridors": [str(_air_file(tmp_path))], "airr": {"stay_days": 3.0}}
    with pytest.raises(ConfigError, match=r"\['mobility.airr'\] configure no layer"):
        build_mobility(places, table)
    with pytest.raises(ConfigError, match="mobility.air.coupling must be one of"):
        build_mobility(places, {"air": {"coupling": "teleport"}})


# ------------------------------------------------------------------ outputs --------------


def test_corridors_round_trip_through_geopackage_unchanged(tmp_path, places):
    original = read_corridor_file(_air_file(tmp_path))
    copy = tmp_path / "copy.gpkg"
    original.to_file(copy, engine="pyogrio")
    again = read_corridor_file(copy)
    assert_geodataframe_equal(original, again)


def test_mobility_round_trips_through_its_outputs(tmp_path, places):
    table = {"corridors": [str(_air_file(tmp_path))]}
    mobility = build_mobility(places, table)
    out = tmp_path / "out"
    out.mkdir()
    written = write_mobility(mobility, places, out)
    assert [p.name for p in written] == ["mobility.nc", "corridors.gpkg"]
    again = build_mobility(places, {"corridors": [str(out / "corridors.gpkg")]})
    from_nc = read_mobility(out / "mobility.nc")
    for other in (again, from_nc):
        for key in ("flow", "travel_time", "distance"):
            a = getattr(mobility.layers["air"], key)
            b = getattr(other.layers["air"], key)
            assert abs(a - b).max() <= 1e-9 * abs(a).max()
    frame = gpd.read_file(out / "corridors.gpkg")
    assert set(frame.columns) >= {"layer", "origin", "destination", "persons_per_day",
                                  "travel_time_days", "distance_km", "geometry"}
    assert frame.crs.to_epsg() == 4326 and len(frame) == 4


def test_dataset_is_cf_and_holds_effective_distance(tmp_path, places):
    mobility = build_mobility(places, {"corridors": [str(_air_file(tmp_path))]})
    ds = mobility_to_dataset(mobility, places)
    assert check_dataset(ds) == []
    assert ds["flow"].dims == ("origin", "destination", "layer")
    assert ds["flow"].sel(origin="ZAF", destination="GBR", layer="air") == 1200.0
    assert np.isnan(ds["travel_time"].sel(origin="ZAF", destination="USA", layer="air"))
    d_eff = ds["effective_distance"].values
    off = ~np.eye(len(places), dtype=bool) & np.isfinite(d_eff)
    assert off.any() and np.all(d_eff[off] >= 1.0)
    assert str(ds["origin_name"].sel(origin="MOZ").values) == "Mozambique"


def test_large_mobility_is_stored_sparse(tmp_path):
    n = 5001
    ids = tuple(f"P{k}" for k in range(n))
    rng = np.random.default_rng(1)
    i, j = rng.integers(0, n, 200), rng.integers(0, n, 200)
    keep = i != j
    flow = sp.csr_array((rng.uniform(1, 10, keep.sum()), (i[keep], j[keep])), shape=(n, n))
    time = flow.copy()
    time.data = np.full(time.nnz, 0.5)
    mobility = Mobility(ids, {"air": MobilityLayer("air", flow, "visiting", 5.0, time, time)})
    ds = mobility_to_dataset(mobility)
    assert "pair" in ds.dims and ds["flow"].dims == ("pair", "layer")
    assert max(v.size for v in ds.variables.values()) < 10 * n
    write_mobility(mobility, pd.DataFrame({"id": ids, "lat": 0.0, "lon": 0.0}), tmp_path)
    again = read_mobility(tmp_path / "mobility.nc")
    assert abs(again.layers["air"].flow - flow).max() == 0


def test_any_declared_crs_is_reprojected_and_lengths_stay_geodesic(tmp_path, places):
    frame = read_corridor_file(_air_file(tmp_path)).to_crs(3857)  # Web Mercator metres
    frame.to_file(tmp_path / "mercator.gpkg", engine="pyogrio")
    mercator = build_mobility(places, {"corridors": [str(tmp_path / "mercator.gpkg")]})
    lonlat = build_mobility(places, {"corridors": [str(_air_file(tmp_path))]})
    a, b = mercator.layers["air"].distance, lonlat.layers["air"].distance
    assert abs(a - b).max() < 1e-6 * abs(b).max()


def test_an_edge_table_without_geometry_is_a_corridor_layer(tmp_path, places):
    """CSV or plain Parquet, ``origin,destination,persons_per_day[,travel_time_days]``: the
    layer is named after the file, ids are kept as written (Namibia is "NA"), and a row
    without a time takes the geodesic between its places at the land speed."""
    with_namibia = pd.concat([places, pd.DataFrame({
        "id": ["NA"], "name": ["Namibia"], "population": [2.6e6], "lon": [17.47],
        "lat": [-22.48]})], ignore_index=True)
    table = pd.DataFrame({"origin": ["ZAF", "NA", "MOZ"], "destination": ["NA", "ZAF", "ZAF"],
                          "persons_per_day": [300.0, 280.0, 900.0],
                          "travel_time_days": [1.5, None, 0.5]})
    for name in ("commuting.csv", "commuting.parquet"):
        path = tmp_path / name
        table.to_csv(path, index=False) if name.endswith(".csv") else table.to_parquet(path)
        layer = build_mobility(with_namibia, {"corridors": [name]},
                               base_dir=tmp_path).layers["commuting"]
        zaf, nam, moz = 2, 4, 3
        assert layer.mode == "land" and layer.flow[zaf, nam] == 300.0
        assert layer.flow[nam, zaf] == 280.0 and layer.flow[moz, zaf] == 900.0
        assert layer.travel_time[moz, zaf] == 0.5
        assert layer.travel_time[zaf, nam] == pytest.approx(min(1.5, 2 / 24 + 1163 / 1440),
                                                            rel=0.01)  # 1,163 km at 60 km/h


def test_edge_table_rows_name_their_places_and_need_a_time_without_coordinates(tmp_path,
                                                                               places):
    path = tmp_path / "edges.csv"
    path.write_text("origin,destination,persons_per_day\nZAF,XXX,5\n,GBR,3\nGBR,GBR,1\n")
    with pytest.raises(DataError) as err:
        build_mobility(places, {"corridors": ["edges.csv"]}, base_dir=tmp_path)
    message = str(err.value)
    assert "origin must be a place id (an edge table has no geometry to match)" in message
    assert "got ['XXX'] in rows [1]" in message and "rows [3]" in message
    unplaced = places.assign(lat=np.nan, lon=np.nan)
    path.write_text("origin,destination,persons_per_day,travel_time_days\nZAF,GBR,5,\n"
                    "GBR,USA,3,0.4\n")
    with pytest.raises(DataError, match=r"without coordinates must give travel_time_days, "
                                        r"travel_time_hours or distance_km; got \['missing'\] "
                                        r"in rows \[1\]"):
        build_mobility(unplaced, {"corridors": ["edges.csv"]}, base_dir=tmp_path)
    path.write_text("source,target\nZAF,GBR\n")
    with pytest.raises(DataError, match="needs columns origin and destination"):
        build_mobility(places, {"corridors": ["edges.csv"]}, base_dir=tmp_path)
