"""Maps, tables and report from a run directory's risk.nc (synthetic fixture, no simulation)."""

from __future__ import annotations

from html.parser import HTMLParser

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import xarray as xr
from synthetic_risk import PLACES, TOP, risk_dataset, write_risk_run

from healthmob.errors import DataError, RunError
from healthmob.outputs.maps import write_map_outputs
from healthmob.outputs.publish import write_risk_outputs
from healthmob.outputs.report import write_report
from healthmob.outputs.shapes import great_circle
from healthmob.outputs.style import FIXED_BREAKS, classify
from healthmob.outputs.tables import load_run
from healthmob.store.resources import data_dir

SHUFFLED = ["USA", "ZZZ", "KEN", "FJI", "ZAF", "FRA", "MOZ"]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """The synthetic run, places shuffled, with every output written once."""
    run = write_risk_run(tmp_path_factory.mktemp("maps") / "synthetic-run", order=SHUFFLED)
    return run, write_risk_outputs(run)


def test_every_output_is_written(outputs):
    run, paths = outputs
    assert [p.name for p in paths] == ["risk.gpkg", "top_corridors.csv", "risk_map.png",
                                       "report.html"]
    for path in paths:
        assert path.parent == run and path.stat().st_size > 1000, path
    assert not list(run.glob(".*partial*")), "temporary files left behind"


def test_gpkg_layers_and_columns(outputs):
    run, _ = outputs
    assert sorted(pyogrio.list_layers(run / "risk.gpkg")[:, 0]) == ["corridors", "places"]
    places = gpd.read_file(run / "risk.gpkg", layer="places")
    assert places.crs.to_epsg() == 4326 and len(places) == len(PLACES)
    for column in ("id", "name", "population", "choropleth", "tb_active_new_residents",
                   "tb_active_visitors", "tb_latent_new_residents",
                   "hiv_not_on_art_new_residents", "future_tb_incidence_2y",
                   "future_tb_incidence_5y"):
        assert column in places.columns, column
    corridors = gpd.read_file(run / "risk.gpkg", layer="corridors")
    ds = risk_dataset(SHUFFLED)
    assert len(corridors) == int((ds.flow > 0).sum())
    for column in ("origin", "destination", "layer", "arrives_as", "flow", "travel_time",
                   "tb_active", "tb_latent", "hiv_not_on_art"):
        assert column in corridors.columns, column
    assert set(corridors.geometry.geom_type) == {"LineString"}
    # every row's values are the dataset's at its own (origin, destination, layer)
    for row in corridors.sample(20, random_state=1).itertuples():
        at = ds.sel(origin=row.origin, destination=row.destination, layer=row.layer)
        assert row.flow == pytest.approx(float(at.flow), rel=1e-9)
        assert row.tb_latent == pytest.approx(float(at.arrivals.sel(measure="tb_latent")),
                                              rel=1e-9)
        assert row.arrives_as == ("new residents" if row.layer == "migration" else "visitors")
        start = row.geometry.coords[0]
        assert start == pytest.approx((PLACES[row.origin][3], PLACES[row.origin][2]))


def test_places_are_joined_by_id_not_position(outputs):
    run, _ = outputs
    places = gpd.read_file(run / "risk.gpkg", layer="places").set_index("id")
    countries = gpd.read_file(data_dir("geo") / "countries.gpkg",
                              layer="countries").set_index("id")
    ds = risk_dataset()          # the unshuffled dataset, read by id
    for pid in PLACES:
        if pid in countries.index:
            assert places.geometry[pid].equals_exact(countries.geometry[pid], 1e-9), pid
        else:                    # no polygon: a point at the population centre
            assert places.geometry[pid].geom_type == "Point"
            assert (places.geometry[pid].x, places.geometry[pid].y) == (PLACES[pid][3],
                                                                        PLACES[pid][2])
        assert places.loc[pid, "name"] == PLACES[pid][0]
        new = ds.arrivals.sel(measure="tb_active", destination=pid, layer="migration").sum()
        assert places.loc[pid, "choropleth"] == pytest.approx(
            float(new) / PLACES[pid][1] * 1e5, rel=1e-9)


def test_top_corridors_are_ranked(outputs):
    run, _ = outputs
    top = pd.read_csv(run / "top_corridors.csv", keep_default_na=False, na_values=[""])
    n = int((risk_dataset().flow > 0).sum())
    assert len(top) == min(50, n)
    assert top["rank"].tolist() == list(range(1, len(top) + 1))
    values = top["tb_active_per_year"].to_numpy()
    assert np.all(np.diff(values) <= 0)
    first = top.iloc[0]
    assert (first.origin, first.destination, first.layer) == TOP
    assert (first.origin_name, first.destination_name) == ("Kenya", "South Africa")
    assert first.tb_active_per_year == pytest.approx(1000.0)
    for column in ("flow_per_year", "tb_latent_per_year", "hiv_not_on_art_per_year",
                   "arrives_as", "travel_time_days"):
        assert column in top.columns


def test_png_is_a_readable_non_blank_map(outputs):
    import matplotlib.image

    run, _ = outputs
    image = matplotlib.image.imread(run / "risk_map.png")
    assert image.shape[:2] == (1000, 1600)
    rgb = image[..., :3].reshape(-1, 3)
    assert rgb.std() > 0.1
    assert len(np.unique((rgb * 255).astype(int), axis=0)) > 50   # colours, not just text


class _Resources(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "link", "img", "iframe", "source", "object", "embed"):
            self.urls += [value or "" for name, value in attrs if name in ("src", "href",
                                                                             "data")]


def test_html_is_self_contained(outputs):
    run, _ = outputs
    text = (run / "report.html").read_text(encoding="utf-8")
    parser = _Resources()
    parser.feed(text)
    assert not [u for u in parser.urls if u.startswith(("http://", "https://", "//"))]
    assert parser.urls == []     # nothing external at all: every script and style is inline
    assert "http://" not in text and "https://" not in text
    assert "<script>" in text and "<style>" in text and "<svg" in text
    assert text.count('class="c"') == len(PLACES)          # one hover shape per place
    countries = pyogrio.read_info(data_dir("geo") / "countries.gpkg", layer="countries")
    assert text.count('class="o"') == countries["features"] - 6   # context: the others
    assert 'data-n="Testland"' in text and "synthetic" in text
    assert "Kenya" in text and "ab" * 32 in text            # top table and provenance
    assert "/home/someone" not in text and "synthetic.toml" in text   # no local paths
    assert 'data-filter="every"' in text and "How to read this" in text
    assert "Screening programmes compared" in text and "<b>pre_entry_cxr</b>" in text


def test_absent_variables_are_left_out_with_a_note(tmp_path):
    run = write_risk_run(tmp_path / "run", drop=("arrivals",))
    paths = write_risk_outputs(run)
    assert all(p.is_file() for p in paths)
    report = (run / "report.html").read_text(encoding="utf-8")
    assert "Left out" in report and "corridors left out" in report
    top = pd.read_csv(run / "top_corridors.csv")
    assert "tb_active_per_year" not in top
    assert np.all(np.diff(top["flow_per_year"]) <= 0)       # ranked by flow instead


def test_a_focus_makes_every_output_about_that_destination(tmp_path):
    run = write_risk_run(tmp_path / "run")
    paths = [*write_map_outputs(run, ("ZAF",)), write_report(run, ("ZAF",))]
    assert [p.name for p in paths] == ["risk-ZAF.gpkg", "top_corridors-ZAF.csv",
                                       "risk_map-ZAF.png", "report-ZAF.html"]
    top = pd.read_csv(run / "top_corridors-ZAF.csv")
    assert set(top["destination"]) == {"ZAF"}
    places = gpd.read_file(run / "risk-ZAF.gpkg", layer="places").set_index("id")
    ds = risk_dataset()
    into = ds.arrivals.sel(measure="tb_active", destination="ZAF", layer="migration")
    assert places.loc["KEN", "choropleth"] == pytest.approx(float(into.sel(origin="KEN")))
    report = (run / "report-ZAF.html").read_text(encoding="utf-8")
    assert "South Africa: arrivals with TB and HIV" in report
    with pytest.raises(RunError, match="destination 'XXX' is not a place of the run"):
        write_report(run, ("XXX",))
    assert not (run / "report-XXX.html").exists()


def test_bad_run_directories_raise_one_clear_error(tmp_path):
    with pytest.raises(RunError, match="risk.nc: risk results not found"):
        load_run(tmp_path)
    with pytest.raises(RunError, match="must be an existing folder"):
        load_run(tmp_path / "nope")
    (tmp_path / "risk.nc").write_text("not netcdf")
    with pytest.raises(DataError, match="risk.nc: cannot read"):
        load_run(tmp_path)
    xr.Dataset({"x": ("time", [1.0])}).to_netcdf(tmp_path / "risk.nc", engine="h5netcdf")
    with pytest.raises(DataError, match="dimensions must include 'place'"):
        load_run(tmp_path)


def test_colour_classes_are_fixed_decades():
    """The same classes for every run and measure, so two maps compare."""
    values = np.array([0.0, np.nan, 0.005, 0.2, 5.0, 50.0, 2e3])
    assert FIXED_BREAKS == [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]
    assert classify(values, FIXED_BREAKS).tolist() == [-1, -2, 0, 2, 3, 4, 6]


def test_great_circles_do_not_wrap_across_the_map():
    pieces = great_circle(178.1, -17.7, -93.6, 39.1)      # Fiji -> United States
    assert len(pieces) == 2
    for piece in pieces:
        assert np.all(np.abs(np.diff(piece[:, 0])) < 30)
    assert abs(pieces[0][-1, 0]) == 180 and abs(pieces[1][0, 0]) == 180
    assert pieces[0][-1, 1] == pytest.approx(pieces[1][0, 1])
    assert len(great_circle(2.4, 48.9, 36.8, -1.3)) == 1  # Paris -> Nairobi: one piece


def test_a_run_with_a_birthplace_account_gets_its_time_plot(tmp_path):
    from healthmob.outputs.timeplot import _observed, imported_cases_png

    run = write_risk_run(tmp_path / "run")
    periods = pd.date_range("2019-01-01", periods=4, freq="YS")
    values = np.arange(4 * len(PLACES) * 2, dtype=float).reshape(4, len(PLACES), 2)
    xr.Dataset({"tb_notifications_foreign_born": (("period", "place", "entry_band"), values,
                                                  {"units": "1", "long_name": "cases"})},
               coords={"period": periods, "place": list(PLACES),
                       "entry_band": ["0-1", "2+"]}).to_netcdf(run / "results.nc",
                                                               engine="h5netcdf")
    png = imported_cases_png(load_run(run, ("FRA",)))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    observed = _observed(["FRA"], 2019, 2022)
    assert list(observed.index) == [2019, 2020, 2021, 2022] and (observed > 0).all()
    assert "Imported TB over time" in (write_report(run, ("FRA",))).read_text(encoding="utf-8")
    assert imported_cases_png(load_run(tmp_path / "run", ())) is not None


def test_tables_at_the_corridors_equal_sums_of_the_dense_arrays(tmp_path):
    """The outputs read risk.nc at its corridors only (a run of more than 500 places stores
    it so, a small run's dense file is gathered on reading); their per-place, per-origin
    and programme sums equal the same sums over the dense arrays, whichever form the file
    has."""
    from healthmob.outputs.programmes import origin_table, policy_table
    from healthmob.outputs.tables import place_table
    from healthmob.store.gather import gather_pairs
    from healthmob.store.netcdf import write_dataset

    ds = risk_dataset()
    lopsided = xr.DataArray(1.0 + np.arange(ds.sizes["origin"]), dims="origin")
    for name in ("flow", "arrivals", "screened"):      # origin and destination told apart
        ds[name] = (ds[name] * lopsided).assign_attrs(ds[name].attrs)
    relocation = ds["layer_coupling"] == "relocation"
    dense_dir, gathered_dir = (write_risk_run(tmp_path / k) for k in ("dense", "gathered"))
    write_dataset(ds, dense_dir / "risk.nc")
    keep = (ds["flow"] > 0).any("layer").transpose("origin", "destination").values
    write_dataset(gather_pairs(ds, keep), gathered_dir / "risk.nc")
    for directory in (dense_dir, gathered_dir):
        places = place_table(load_run(directory, ())).set_index("id")
        into = ds["arrivals"].sel(measure="tb_active").where(relocation, 0).sum(
            ("origin", "layer"))
        np.testing.assert_allclose(places["tb_active_new_residents"],
                                   into.sel(destination=places.index).values, rtol=1e-12)
        origins = origin_table(load_run(directory, ("ZAF",))).set_index("origin")
        flow = ds["flow"].sel(destination="ZAF").sum("layer")
        np.testing.assert_allclose(origins["travellers"],
                                   flow.sel(origin=origins.index).values, rtol=1e-12)
        policies = policy_table(load_run(directory, ())).set_index("policy")
        screened = float(ds["screened"].sel(policy="pre_entry_cxr").sum())
        assert policies.loc["pre_entry_cxr", "screened"] == pytest.approx(screened, rel=1e-12)
