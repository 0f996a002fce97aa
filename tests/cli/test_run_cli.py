"""The CLI as a user runs it (subprocess): a small run end to end, and every bad input."""

from __future__ import annotations

import json

import pytest
import xarray as xr
from helpers import config_text
from helpers import healthmob as run_cli

from healthmob.schema import check_dataset


def healthmob(*args, cwd=None):
    """The CLI in a subprocess: (exit code, stdout, stderr)."""
    done = run_cli(*args, cwd=cwd)
    return done.returncode, done.stdout, done.stderr


def test_run_writes_the_run_directory(small_config, tmp_path):
    code, out, err = healthmob("run", small_config, "--output-dir", tmp_path / "runs")
    assert code == 0, err
    run_dir = tmp_path / "runs" / out.strip().splitlines()[-1].split("/")[-1]
    assert out.strip().splitlines()[-1] == str(run_dir)
    assert run_dir.name.startswith("small-")
    for name in ("config.toml", "manifest.json", "results.nc", "run.log", "mobility.nc"):
        assert (run_dir / name).is_file(), name
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    for key in ("healthmob_version", "python", "packages", "inputs", "seed", "started",
                "finished", "wall_seconds"):
        assert manifest[key] not in (None, ""), key
    assert str(small_config) in manifest["inputs"]
    assert all(len(digest) == 64 for digest in manifest["inputs"].values())
    resolved = (run_dir / "config.toml").read_text()
    assert 'engine = "deterministic"' in resolved and "[solver]" in resolved
    with xr.open_dataset(run_dir / "results.nc") as ds:
        assert check_dataset(ds) == []
        assert ds.population.dims == ("time", "place", "compartment")
        assert ds.lat.attrs["standard_name"] == "latitude"
        for attr in ("title", "source", "history", "Conventions", "config_sha256",
                     "model_sha256"):
            assert ds.attrs[attr]
        total = ds.population.sum(("place", "compartment"))
        assert float(abs(total - total[0]).max()) < 1e-3 * float(total[0])
        assert float(ds.population.sel(place="AAA", compartment="R")[-1]) > 1000
    assert "deterministic engine" in (run_dir / "run.log").read_text()


def test_validate_checks_without_running(small_config, tmp_path):
    code, out, err = healthmob("validate", small_config, cwd=tmp_path)
    assert code == 0, err
    assert "valid" in out
    assert not (tmp_path / "runs").exists()


def test_shipped_config_found_by_name_from_any_directory(tmp_path):
    code, out, err = healthmob("validate", "world", cwd=tmp_path)
    assert code == 0, err
    assert "tb_hiv model, 217 places" in out


BAD = {
    "unknown key": ("colour = 'red'\n", "colour is not a known key"),
    "wrong type": ("", "time.duration must be a duration '<number> <day|week|month|year>' > 0;"
                       " got 60"),
    "negative rate": ("[parameters]\nbeta = -1.0\n", "parameters.beta must be a number >= 0"),
    "unknown unit": ("[parameters]\nbeta = { value = 1.0, units = '1/fortnight' }\n",
                     "parameters.beta.units must be one of"),
    "missing file": ("", "places file not found"),
    "undeclared compartment": ("", "initial.fractions.X is not a known compartment"),
    "place not in geography": ("", "places.ids ['XXX'] are not in the geography"),
    "closure of an unknown place": (
        "[mobility]\nlayers = ['land']\n[mobility.land]\nclosed_borders = ['IND-XXX']\n",
        "mobility.land.closed_borders: 'XXX' is not a place id of the world"),
    "permeability outside [0, 1]": (
        "[mobility]\nlayers = ['land']\n[mobility.land]\npermeability = { IND-PAK = 1.5 }\n",
        "mobility.land.permeability.IND-PAK must be a number in [0, 1]; got 1.5"),
    "a year without counts": ("[mobility]\nlayers = ['air']\nreference_year = 2009\n",
                              "mobility.reference_year must be an integer in [2010, 2022]"),
}


def _bad_config(case, places_csv):
    text = config_text(places_csv)
    extra, _ = BAD[case]
    if case == "wrong type":
        text = text.replace('duration = "60 days"', "duration = 60")
    if case == "missing file":
        text = text.replace(str(places_csv), "nope.csv")
    if case == "undeclared compartment":
        text = text.replace("fractions = { S = 1.0 }", "fractions = { S = 0.5, X = 0.5 }")
    if case == "place not in geography":
        text = text.replace("[time]", 'ids = ["XXX"]\n[time]')
    if extra.startswith("["):
        return text + extra
    return extra + text


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_is_one_line_exit_2_and_writes_nothing(case, write_config, places_csv,
                                                          tmp_path):
    config = write_config(_bad_config(case, places_csv))
    code, out, err = healthmob("run", config, "--output-dir", tmp_path / "runs")
    assert code == 2
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("healthmob: error:")]
    assert len(lines) == 1, err
    assert str(config) in lines[0]
    assert BAD[case][1] in lines[0]
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("text, expected", [
    ("", "the config is empty"),
    ("name = 'x\nmodel = 'sir'", "not valid TOML"),
])
def test_empty_and_malformed_toml(text, expected, write_config, tmp_path):
    config = write_config(text)
    code, _, err = healthmob("run", config, "--output-dir", tmp_path / "runs")
    assert code == 2 and expected in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_missing_config_file(tmp_path):
    code, _, err = healthmob("run", tmp_path / "absent.toml")
    assert code == 2 and "config file not found" in err


def test_model_with_undeclared_compartment(write_config, places_csv, tmp_path):
    model = tmp_path / "bad_model.toml"
    model.write_text('name = "bad"\ncompartments = [ { id = "S" } ]\n'
                     'transitions = [ { from = "S", to = "Q", rate = "r" } ]\n'
                     '[parameters]\nr = { value = 1.0, units = "1/day", source = "test" }\n')
    config = write_config(config_text(places_csv).replace('"seir"', f'"{model}"'))
    code, _, err = healthmob("validate", config)
    assert code == 2
    assert "transitions[0].to must be a declared compartment" in err and "'Q'" in err


def test_failure_after_start_keeps_directory_with_status_failed(small_config, tmp_path,
                                                                monkeypatch):
    import healthmob.pipeline as pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(pipeline, "simulate_deterministic", broken)
    with pytest.raises(RuntimeError):
        pipeline.run(small_config, tmp_path / "runs")
    (run_dir,) = (tmp_path / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert "solver exploded" in manifest["error"]
    assert "solver exploded" in (run_dir / "run.log").read_text()
    assert not (run_dir / "results.nc").exists()
    assert not list(run_dir.glob(".*partial*"))


def _corridor_file_without_crs(tmp_path):
    import geopandas as gpd
    from shapely.geometry import LineString

    frame = gpd.GeoDataFrame({"mode": ["air"], "origin": ["AAA"], "destination": ["BBB"],
                              "persons_per_day": [100.0]},
                             geometry=[LineString([(0, 0), (1, 1)])], crs=None)
    path = tmp_path / "corridors.gpkg"
    with pytest.warns(UserWarning, match="crs"):
        frame.to_file(path, driver="GPKG")
    return path


@pytest.mark.parametrize("case, extra, expected", [
    ("unknown policy", "[risk]\npolicy = 'scan_everyone'\n",
     "risk.policy must be one of the policies"),
    ("sensitivity", "[risk]\npolicy = 'x'\n[risk.policies.x]\nscreens = [ { stage = 'arrival',"
     " test = 'symptoms', sensitivity = 1.5 } ]\n",
     "sensitivity must be a number in [0, 1]; got 1.5"),
    ("focus on an unknown place", "[focus]\ndestination = 'XXX'\n",
     "focus.destination must be ids of places of the run; got 'XXX'"),
    ("a test no compartment declares", "[risk]\npolicy = 'x'\n[risk.policies.x]\nscreens = "
     "[ { stage = 'arrival', test = 'igra', sensitivity = 0.8 } ]\n",
     "are declared by no compartment of model 'seir', so the policy would screen nobody"),
    ("negative cost", "[costs]\ntests = { cxr = -3 }\n", "costs.tests.cxr must be a number >= 0"),
    ("text cost", "[costs]\npreventive_treatment = 'cheap'\n",
     "costs.preventive_treatment must be a number >= 0"),
    ("uptake above 1", "[risk]\npolicy = 'x'\n[risk.policies.x]\ntreatment_uptake = 1.2\n"
     "screens = [ { stage = 'arrival', test = 'symptoms', sensitivity = 0.7 } ]\n",
     "risk.policies.x.treatment_uptake must be a number in [0, 1]; got 1.2"),
])
def test_bad_risk_config_exit_2(case, extra, expected, write_config, places_csv, tmp_path):
    config = write_config(config_text(places_csv, extra=extra))
    code, _, err = healthmob("run", config, "--output-dir", tmp_path / "runs")
    assert code == 2 and expected in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_corridor_file_without_crs_exit_2(write_config, places_csv, tmp_path):
    corridors = _corridor_file_without_crs(tmp_path)
    config = write_config(config_text(places_csv,
                                      extra=f"[mobility]\ncorridors = ['{corridors}']\n"))
    code, _, err = healthmob("run", config, "--output-dir", tmp_path / "runs")
    assert code == 2 and "Traceback" not in err, err
    assert "CRS" in err and str(corridors.name) in err
    assert not (tmp_path / "runs").exists()


def test_places_without_coordinates_run_on_an_edge_table_and_are_left_off_the_maps(
        write_config, tmp_path):
    """An aspatial corridor layer (a plain edge table) between places that have no
    coordinates: the run, its risk stage and tables are complete; nothing to map, so no
    map or GeoPackage, and the log and report say so."""
    places = tmp_path / "places.csv"
    places.write_text("id,name,population\nAAA,Aland,1000000\nBBB,Bland,500000\n"
                      "CCC,Cland,2000000\n")
    (tmp_path / "trips.csv").write_text("origin,destination,persons_per_day,travel_time_days\n"
                                        "AAA,BBB,1000,0.5\nBBB,AAA,900,0.5\nCCC,AAA,50,2\n")
    config = write_config(config_text(places) + "[mobility]\ncorridors = ['trips.csv']\n"
                          "[mobility.trips]\ncoupling = 'visiting'\nstay_days = 3\n")
    code, out, err = healthmob("run", config, "--output-dir", tmp_path / "runs")
    assert code == 0, err
    run_dir = tmp_path / "runs" / out.strip().splitlines()[-1].split("/")[-1]
    assert "no place of the run has coordinates: the maps" in err
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "complete"
    assert not any((run_dir / name).exists()
                   for name in ("risk_map.png", "risk.gpkg", "corridors.gpkg"))
    assert "No place of this run has coordinates" in (run_dir / "report.html").read_text()
    with xr.open_dataset(run_dir / "mobility.nc", engine="h5netcdf") as ds:
        assert float(ds.flow.sel(origin="AAA", destination="BBB", layer="trips")) == 1000.0
    assert (run_dir / "top_corridors.csv").read_text().count("\n") == 4   # header + 3


def test_a_run_of_many_places_stores_corridors_only_and_maps_them(write_config, tmp_path):
    """600 places and 1,200 corridors: mobility.nc and risk.nc keep the pairs with a flow
    (CF gathering) instead of 360,000 place pairs, and the tables are rebuilt from them."""
    n = 600
    rows = "\n".join(f"P{k},P{k},100000,{k % 60 - 30},{k // 60 * 10 - 50}" for k in range(n))
    places = tmp_path / "places.csv"
    places.write_text("id,name,population,lat,lon\n" + rows + "\n")
    trips = [f"P{k},P{(k + step) % n},{100 + k},0.1" for k in range(n) for step in (1, 7)]
    (tmp_path / "trips.csv").write_text("origin,destination,persons_per_day,travel_time_days\n"
                                        + "\n".join(trips) + "\n")
    text = config_text(places, infected=10).replace('place = "AAA"', 'place = "P0"')
    config = write_config(text + "[mobility]\ncorridors = ['trips.csv']\n"
                          "[mobility.trips]\ncoupling = 'visiting'\nstay_days = 3\n")
    code, out, err = healthmob("run", config, "--output-dir", tmp_path / "runs")
    assert code == 0, err
    run_dir = tmp_path / "runs" / out.strip().splitlines()[-1].split("/")[-1]
    for name in ("mobility.nc", "risk.nc"):
        with xr.open_dataset(run_dir / name, engine="h5netcdf") as ds:
            assert ds.sizes["pair"] == 2 * n and "pair" in ds["flow"].dims, name
    with open(run_dir / "top_corridors.csv") as table:
        assert len(table.read().splitlines()) > 10
    assert (run_dir / "report.html").is_file() and (run_dir / "risk_map.png").is_file()
