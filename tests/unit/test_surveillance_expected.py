"""Matching observed series to the model's counts (healthmob/surveillance/expected.py) on a
small results dataset whose answers are known."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from healthmob.errors import DataError
from healthmob.surveillance.decompose import decompose
from healthmob.surveillance.expected import ModelCounts, match_series
from healthmob.surveillance.observed import read_observed
from healthmob.surveillance.rows import run_years
from healthmob.surveillance.run import evaluate


def _results() -> xr.Dataset:
    """Two places, 2000-2002 in three whole years and a 100-day stub, two origin groups."""
    days = np.array([0.0, 365.25, 730.5, 1095.75, 1195.75])
    start = pd.Timestamp("2000-01-01")
    n_periods = len(days) - 1
    native = np.array([[100.0, 10.0]] * n_periods)
    foreign = np.zeros((n_periods, 2, 2))
    foreign[:, 0] = [30.0, 20.0]          # AAA: 30 in their first years, 20 later
    by_origin = np.zeros((n_periods, 2, 2))
    by_origin[:, 0] = [40.0, 10.0]        # AAA: 40 born in BBB, 10 in a region
    names = np.array([["BBB", "region:rest"], ["AAA", ""]])
    return xr.Dataset(
        {"tb_notifications_native": (("period", "place"), native),
         "tb_notifications_foreign_born": (("period", "place", "entry_band"), foreign),
         "tb_notifications_foreign_born_by_origin": (("period", "place", "origin_group"),
                                                     by_origin),
         "native_population": (("period", "place"), np.full((n_periods, 2), 1e6)),
         "foreign_born_population": (("period", "place", "entry_band"),
                                     np.full((n_periods, 2, 2), 5e4)),
         "foreign_born_population_by_origin": (("period", "place", "origin_group"),
                                               np.full((n_periods, 2, 2), 5e4))},
        coords={"place": ["AAA", "BBB"],
                "period": start + pd.to_timedelta(days[:-1], unit="D"),
                "period_end": ("period", start + pd.to_timedelta(days[1:], unit="D")),
                "entry_band": ["0-4", "5+"],
                "origin_group_name": (("place", "origin_group"), names)})


BOUNDS = pd.DataFrame({"id": ["AAA", "BBB"] * 3, "year": [2000, 2000, 2001, 2001, 2002, 2002],
                       "tb_incidence_per_100k_lo": [8.0, 50.0] * 3,
                       "tb_incidence_per_100k_hi": [12.0, 150.0] * 3})


def _series(tmp_path, text: str):
    path = tmp_path / "observed.csv"
    path.write_text(text)
    return match_series(read_observed(path), path, ModelCounts(_results(), path), BOUNDS)


def test_whole_years_only_and_the_same_years_before_the_run(tmp_path):
    model = ModelCounts(_results(), tmp_path / "results.nc")
    assert list(model.years) == [2000, 2001, 2002]
    assert list(run_years(pd.Timestamp("2000-01-01").date(), 1195.75)) == [2000, 2001, 2002]


def test_every_stratum_counts_what_the_model_holds(tmp_path):
    text = ("reporting_place,period,disease,count,country_of_birth,years_since_entry,"
            "population\n"
            "AAA,2000,tb,140,,,\nAAA,2001,tb,90,native,,\nAAA,2001,tb,60,foreign,,\n"
            "AAA,2001,tb,25,foreign,0-4,\nAAA,2002,tb,33,BBB,,\nAAA,2002,tb,7,native,,5e5\n")
    found = {s.label: s for s in _series(tmp_path, text)}
    assert found["AAA tb"].expected[0] == 150.0                   # native + foreign
    assert found["AAA tb country_of_birth=foreign"].expected[1] == 50.0
    assert found["AAA tb country_of_birth=foreign years_since_entry=0-4"].expected[1] == 30.0
    assert found["AAA tb country_of_birth=BBB"].expected[2] == 40.0
    native = found["AAA tb country_of_birth=native"]
    np.testing.assert_allclose(native.expected, [100.0, 100.0, 50.0])  # 2002: half the people
    assert list(native.observed[1:]) == [90.0, 7.0] and np.isnan(native.observed[0])
    # the foreign-born carry the WHO bounds of their origins (BBB: log(3)/3.92), the
    # native-born their place's (AAA: log(1.5)/3.92)
    for label in ("foreign", "BBB"):
        np.testing.assert_allclose(found[f"AAA tb country_of_birth={label}"].relative_sd,
                                   np.log(3) / 3.92)
    np.testing.assert_allclose(native.relative_sd, np.log(1.5) / 3.92)


@pytest.mark.parametrize("row, message", [
    ("AAA,2001,tb,5,CCC", "country_of_birth 'CCC' is not an origin kept for AAA"),
    ("AAA,2001,tb,5,unknown", "country_of_birth 'unknown': the model knows everyone's"),
    ("AAA,2003,tb,5,", "period 2003 is outside the run's whole years (2000-2002)"),
    ("AAA,2001,tb,5000000000,", "count 5000000000 is more than the"),
])
def test_what_the_model_cannot_count_is_refused_with_its_row(tmp_path, row, message):
    with pytest.raises(DataError, match=re.escape("row 3: " + message)):
        _series(tmp_path, "reporting_place,period,disease,count,country_of_birth\n"
                          f"AAA,2000,tb,5,\n{row}\n")


def test_quarters_and_months_are_summed_to_the_years_the_model_counts(tmp_path, caplog):
    """A complete year of months or quarters is one yearly count (the sum); a year with a
    month missing is left out with a warning; later errors name the file's own rows."""
    months = "".join(f"AAA,2001-{m:02d},tb,{m},,\n" for m in range(1, 13))
    quarters = "".join(f"AAA,2002-Q{q},tb,{10 * q},foreign,\n" for q in range(1, 5))
    partial = "".join(f"AAA,2000-{m:02d},tb,1,,\n" for m in range(1, 12))   # no December
    text = ("reporting_place,period,disease,count,country_of_birth,population\n"
            + months + quarters + partial)
    found = {s.label: s for s in _series(tmp_path, text)}
    total, foreign = found["AAA tb"], found["AAA tb country_of_birth=foreign"]
    assert list(total.years) == [2001, 2002]                       # 2000 left out
    assert total.observed[0] == 78.0 and np.isnan(total.observed[1])      # 1 + ... + 12
    assert foreign.observed[1] == 100.0
    assert "tb 2000 of AAA (all cases) left out: not every month of it is given" in caplog.text
    with pytest.raises(DataError, match=re.escape("row 14: reporting_place 'XXX'")):
        _series(tmp_path, text.replace("AAA,2002-Q", "XXX,2002-Q"))
    with pytest.raises(DataError, match="year 2001 of this place and stratum is given in "
                                        "more than one kind of period"):
        _series(tmp_path, text + "AAA,2001,tb,78,,\n")


def test_decomposition_adds_up_and_puts_each_change_where_it_belongs(tmp_path):
    """Constant foreign-born population and model rate: a rise from 40 to 60 observed cases
    is all rate per migrant that the model does not explain; doubling the foreign-born
    population in the last year moves it to migration volume."""
    text = ("reporting_place,period,disease,count,country_of_birth\n"
            "AAA,2000,tb,40,foreign\nAAA,2001,tb,50,foreign\nAAA,2002,tb,60,foreign\n")
    path = tmp_path / "observed.csv"
    path.write_text(text)
    for doubled in (False, True):
        results = _results()
        if doubled:
            results["foreign_born_population"][2:, 0] *= 2
            results["tb_notifications_foreign_born"][2:, 0] *= 2
        model = ModelCounts(results, path)
        ds = evaluate(match_series(read_observed(path), path, model, BOUNDS))
        table = decompose(ds, model, "AAA", 2000, 2002).set_index("component")["cases"]
        assert table.iloc[0] == 20.0
        assert table.iloc[1:].sum() == pytest.approx(20.0)
        volume, explained, rest = table.iloc[1:]
        if doubled:   # R: 40/1e5 -> 60/2e5; m: 5e-4 -> 5e-4 (cases and people doubled)
            assert volume == pytest.approx(1e5 * (4e-4 + 3e-4) / 2)
            assert explained == pytest.approx(0.0, abs=1e-9)
        else:
            assert volume == 0.0 and explained == pytest.approx(0.0, abs=1e-9)
            assert rest == pytest.approx(20.0)
