"""``healthmob surveil``: observed notifications against a run, as a surveillance unit uses it.

A history run of southern Africa (2000-2023) against the WHO notifications of the 13
countries, with one injected rise (South Africa 2023 x 1.5): the detector with the model
offset flags it, the outputs are complete and the same when rebuilt from the run folder.
Bad observed tables are refused in one line before any run folder exists."""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from helpers import assert_refused, healthmob

from healthmob.cli import main
from healthmob.store.resources import data_dir

SADC = ["AGO", "BWA", "COD", "LSO", "MDG", "MWI", "MOZ", "NAM", "ZAF", "SWZ", "TZA", "ZMB",
        "ZWE"]
CONFIG = f"""name = "sadc-surveillance"
model = "tb_hiv"
seed = 1
[places]
source = "world"
ids = {SADC!r}
[time]
start = 2000-01-01
duration = "24 years"
step = "1 month"
[initial]
method = "history"
[[initial.targets]]
observable = "tb_incidence"
column = "tb_incidence_per_100k"
parameter = "beta"
[[initial.targets]]
observable = "hiv_prevalence"
column = "hiv_prevalence_percent"
parameter = "beta_hiv"
[[initial.targets]]
observable = "art_coverage"
column = "art_coverage_percent"
parameter = "art_initiation"
[[initial.targets]]
observable = "tb_case_detection"
column = "tb_case_detection_percent"
parameter = "detection"
[mobility]
layers = ["air", "land", "migration", "return"]
[risk]
enabled = false
"""
OUTPUTS = ("surveillance.nc", "alerts.csv", "surveillance_funnel.png",
           "surveillance_series.png", "surveillance_map.png")


def _observed() -> pd.DataFrame:
    table = pd.read_csv(data_dir("geo") / "notifications_who.csv", keep_default_na=False,
                        dtype={"country_of_birth": str})
    table = table[table["reporting_place"].isin(SADC)].reset_index(drop=True)
    rise = ((table["reporting_place"] == "ZAF") & (table["period"] == 2023)
            & (table["country_of_birth"] == ""))
    table.loc[rise, "count"] = (table.loc[rise, "count"] * 1.5).round().astype(int)
    return table


@pytest.fixture(scope="module")
def surveyed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("surveil")
    (folder / "sadc.toml").write_text(CONFIG)
    _observed().to_csv(folder / "observed.csv", index=False)
    done = healthmob("surveil", str(folder / "sadc.toml"), "--observed",
                     str(folder / "observed.csv"), "--output-dir", str(folder / "runs"))
    assert done.returncode == 0, done.stderr
    run_dir = next((folder / "runs").iterdir())
    return folder, run_dir, done


def test_every_output_is_written_and_recorded(surveyed):
    _, run_dir, done = surveyed
    for name in OUTPUTS:
        assert (run_dir / name).stat().st_size > 0
        assert str(run_dir / name) in done.stdout
    manifest = (run_dir / "manifest.json").read_text()
    assert all(name in manifest for name in OUTPUTS)


def test_series_hold_the_observed_counts_and_the_model_with_intervals(surveyed):
    folder, run_dir, _ = surveyed
    ds = xr.open_dataset(run_dir / "surveillance.nc")
    observed = pd.read_csv(folder / "observed.csv", keep_default_na=False)
    assert list(ds["year"].values) == list(range(2000, 2024))
    assert ds.sizes["series"] == len(observed.groupby(["reporting_place",
                                                       "country_of_birth"]))
    zaf = ds.where((ds["reporting_place"] == "ZAF") & (ds["country_of_birth"] == ""),
                   drop=True).isel(series=0)
    counts = observed[(observed["reporting_place"] == "ZAF")
                      & (observed["country_of_birth"] == "")].set_index("period")["count"]
    np.testing.assert_array_equal(zaf["observed"].sel(year=counts.index).values, counts.values)
    # the history run follows WHO's incidence and case detection: South Africa's
    # notifications (not a target) within 15% of c_newinc before the injected rise
    ratio = (zaf["expected"] / zaf["observed"]).sel(year=slice(2005, 2022))
    assert float(np.abs(ratio - 1).max()) < 0.15
    expected = ds["expected"].values
    lower, upper = ds["expected_lower"].values, ds["expected_upper"].values
    has = np.isfinite(lower)
    assert has.mean() > 0.9
    assert (lower[has] <= expected[has] + 1).all() and (expected[has] <= upper[has] + 1).all()


def test_the_injected_rise_is_more_than_the_model_explains(surveyed):
    _, run_dir, _ = surveyed
    alerts = pd.read_csv(run_dir / "alerts.csv")
    alerts["country_of_birth"] = alerts["country_of_birth"].fillna("")
    row = alerts[(alerts["algorithm"] == "noufaily_model_offset") & (alerts["year"] == 2023)
                 & (alerts["reporting_place"] == "ZAF") & (alerts["country_of_birth"] == "")]
    assert len(row) == 1
    assert row["observed"].iloc[0] > row["threshold"].iloc[0]
    assert row["share_explained_by_model"].iloc[0] < 0.75
    assert str(row["alarm_after_fdr"].iloc[0]) == "True"


def test_a_finished_run_is_surveyed_again_to_the_same_numbers(surveyed, tmp_path):
    folder, run_dir, _ = surveyed
    before = xr.open_dataset(run_dir / "surveillance.nc").load()
    done = healthmob("surveil", str(run_dir), "--observed", str(folder / "observed.csv"))
    assert done.returncode == 0, done.stderr
    after = xr.open_dataset(run_dir / "surveillance.nc").load()
    xr.testing.assert_identical(before.drop_attrs(), after.drop_attrs())


GOOD = "reporting_place,period,disease,count,country_of_birth\nZAF,2010,tb,300000,\n" \
       "ZAF,2011,tb,310000,\nBWA,2011,tb,6000,foreign\n"

BAD = {
    "unknown place": (GOOD + "XXX,2011,tb,5,\n", "row 5: reporting_place 'XXX' is not a "
                      "place of the run"),
    "a row twice": (GOOD + "ZAF,2011,tb,1,\n", "row 5: place 'ZAF', period '2011' and its "
                    "stratum appear twice"),
    "negative count": (GOOD.replace("6000", "-6"), "row 4, column count: expected a whole "
                       "number of cases >= 0; got '-6'"),
    "fractional count": (GOOD.replace("6000", "6.5"), "row 4, column count: expected a whole "
                         "number of cases >= 0; got '6.5'"),
    "text count": (GOOD.replace("6000", "many"), "row 4, column count: expected a whole "
                   "number"),
    "period outside the run": (GOOD.replace("2010", "1995"), "row 2: period 1995 is outside "
                               "the run's whole years (2000-2023)"),
    "period not a year": (GOOD.replace("2010", "20x0"), "row 2, column period: expected a "
                          "year (2019), quarter (2019-Q3) or month (2019-07)"),
    "a year whole and by quarter": (GOOD + "ZAF,2011-Q1,tb,5,\n", "row 3: period '2011': "
                                    "year 2011 of this place and stratum is given in more "
                                    "than one kind of period"),
    "unknown column": (GOOD.replace("country_of_birth", "contry_of_birth"),
                       "unknown column 'contry_of_birth'"),
    "missing column": ("reporting_place,period,count\nZAF,2010,5\n",
                       "must have the columns reporting_place, period, disease, count; "
                       "missing disease"),
    "bad birthplace": (GOOD.replace("foreign", "abroad"), "row 4, column country_of_birth: "
                       "expected empty, foreign, native, unknown or an ISO3 code"),
    "stratum the model has not": (
        GOOD.replace("country_of_birth", "country_of_birth,age_band").replace(
            ",\n", ",,\n").replace("foreign\n", "foreign,15-24\n"),
        "row 4: age_band '15-24': the model has no age band strata"),
    "entry band the run has not": (
        GOOD.replace("country_of_birth", "country_of_birth,years_since_entry").replace(
            ",\n", ",,\n").replace("foreign\n", "foreign,0-4\n"),
        "row 4: years_since_entry '0-4' is not an entry band of the run"),
    "ragged row": (GOOD + "ZAF,2012,tb,5,,extra\n", "row 5 has 6 fields; the header has 5"),
    "blank row": (GOOD.replace("\nZAF,2011", "\n\nZAF,2011"), "row 3 has 0 fields"),
    "column twice": (GOOD.replace("count,", "count,count,", 1).replace(",tb,", ",tb,1,"),
                     "column 'count' appears twice in the header"),
    "more cases than people": (GOOD.replace("6000", "6000000000"), "row 4: count 6000000000 "
                               "is more than the"),
    "latin-1 bytes": (None, "cannot read the observed table as UTF-8 CSV"),
    "empty file": ("", "cannot read the observed table"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_observed_table_is_refused_before_any_run(case, tmp_path, capsys):
    """In process (the CLI's main), to keep the 15 cases fast; the subprocess path is the
    one of the test below."""
    text, expected = BAD[case]
    (tmp_path / "sadc.toml").write_text(CONFIG)
    path = tmp_path / "observed.csv"
    if text is None:
        path.write_bytes(GOOD.replace("ZAF,2011", "Z\xc9F,2011").encode("latin-1"))
    else:
        path.write_text(text)
    code = main(["-q", "surveil", str(tmp_path / "sadc.toml"), "--observed", str(path),
                 "--output-dir", str(tmp_path / "runs")])
    stderr = capsys.readouterr().err
    assert_refused(subprocess.CompletedProcess([], code, "", stderr), expected,
                   tmp_path / "runs")


def test_missing_observed_file_and_unfinished_run_are_refused(tmp_path):
    (tmp_path / "sadc.toml").write_text(CONFIG)
    done = healthmob("surveil", str(tmp_path / "sadc.toml"), "--observed",
                     str(tmp_path / "nowhere.csv"), "--output-dir", str(tmp_path / "runs"))
    assert_refused(done, "nowhere.csv: observed file not found", tmp_path / "runs")
    (tmp_path / "empty-run").mkdir()
    done = healthmob("surveil", str(tmp_path / "empty-run"), "--observed",
                     "who-notifications")
    assert done.returncode == 2 and "not a finished run (no results.nc)" in done.stderr
    assert list((tmp_path / "empty-run").iterdir()) == []
