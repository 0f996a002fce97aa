"""A history start on a small region: southern Africa (13 SADC countries, TB x HIV, air,
land and migration corridors) from 2000, refitted every year to WHO TB incidence and case
detection and UNAIDS HIV prevalence and ART coverage (geo/history.csv), run by the
deterministic engine to 2024. The checks are on the engine's own output, annual means, as
docs/calibration.md reports them for the world."""

import numpy as np
import pandas as pd
import pytest

from healthmob.pipeline import prepare, simulate
from healthmob.scenario import parse_scenario
from healthmob.store.resources import data_dir

SADC = ["AGO", "BWA", "COD", "LSO", "MDG", "MWI", "MOZ", "NAM", "ZAF", "SWZ", "TZA", "ZMB",
        "ZWE"]
CONFIG = {
    "name": "sadc-history", "model": "tb_hiv", "seed": 1,
    "places": {"source": "world", "ids": SADC},
    "time": {"start": pd.Timestamp("2000-01-01").date(), "duration": "24 years",
             "step": "1 month"},
    "initial": {"method": "history", "targets": [
        {"observable": "tb_incidence", "column": "tb_incidence_per_100k", "parameter": "beta"},
        {"observable": "hiv_prevalence", "column": "hiv_prevalence_percent",
         "parameter": "beta_hiv"},
        {"observable": "art_coverage", "column": "art_coverage_percent",
         "parameter": "art_initiation"},
        {"observable": "tb_case_detection", "column": "tb_case_detection_percent",
         "parameter": "detection"}]},
    "mobility": {"layers": ["air", "land", "migration", "return"]},
    "risk": {"enabled": False},
}


@pytest.fixture(scope="module")
def run():
    prepared = prepare(parse_scenario(CONFIG))
    results = simulate(prepared.scenario, prepared)
    observed = pd.read_csv(data_dir("geo") / "history.csv", keep_default_na=False,
                           na_values=[""])
    observed = observed[observed["id"].isin(SADC)]

    def annual(name):
        return results[name].isel(time=slice(0, -1)).groupby("time.year").mean().to_pandas()

    def data(column):
        return observed.pivot(index="year", columns="id", values=column)[SADC]

    return prepared, annual, data, results


def test_tb_incidence_follows_who_to_2023(run):
    """Within 5% of WHO in 2023 in at least 12 of the 13 countries (measured 2026-12-01: all
    13 within 2%, the largest miss Botswana, -1.8%)."""
    _, annual, data, _ = run
    ratio = annual("tb_incidence").loc[2023, SADC] / data("tb_incidence_per_100k").loc[2023]
    assert ((ratio - 1).abs() <= 0.05).sum() >= 12, ratio


def test_south_africa_has_its_tb_peak_of_the_2000s(run):
    """WHO: 762 per 100,000 in 2000, 1,270 at the 2008 peak of the HIV-driven epidemic,
    427 in 2023; the run peaks in 2008 too (measured: 1,274) and falls by more than half."""
    _, annual, data, _ = run
    model = annual("tb_incidence")["ZAF"].loc[2000:2023]
    assert 2005 <= model.idxmax() <= 2011
    assert model.max() > 1.4 * model.loc[2000]
    assert model.loc[2023] < 0.5 * model.max()


def test_art_coverage_follows_unaids(run):
    """ART coverage within 5 points of UNAIDS in 2022 in at least 12 of the 13 countries
    (measured 2026-12-02: 12, the largest gaps DR Congo -6.6 and Eswatini -4.3 points)."""
    _, annual, data, _ = run
    gap = annual("art_coverage").loc[2022, SADC] - data("art_coverage_percent").loc[2022]
    assert (gap.abs() <= 5).sum() >= 12, gap


def test_hiv_prevalence_follows_unaids(run):
    """HIV prevalence (the whole modelled population against UNAIDS ages 15-49) within 10% in
    2021, UNAIDS' last year here, in at least 10 of the 12 countries with data (measured: 11;
    the DR Congo 21% above)."""
    _, annual, data, _ = run
    ratio = (annual("hiv_prevalence").loc[2021, SADC]
             / data("hiv_prevalence_percent").loc[2021]).dropna()
    assert len(ratio) == 12 and ((ratio - 1).abs() <= 0.10).sum() >= 10, ratio


def test_the_start_is_the_2000_burden_and_population(run):
    """The start is fitted to the year 2000 and has the World Bank's 2000 populations."""
    prepared, _, data, _ = run
    places = prepared.scenario.places.set_index("id")
    assert np.allclose(places.loc[SADC, "population"], data("population").loc[2000], rtol=1e-9)
    assert prepared.schedule is not None and len(prepared.schedule.models) == 24


def test_populations_follow_the_world_bank(run):
    """Births beyond deaths are the observed growth less the model's net migration, so 2023
    populations are within 5% of the World Bank's in 12 of the 13 countries (measured: the
    largest gap Botswana, +4.7%); Namibia is 6% low because the World Bank's series jumps
    15% from 2022 to 2023 (its 2023 census), beyond the 5% a year births may add."""
    _, annual, data, _ = run
    ratio = annual("total_population").loc[2023, SADC] / data("population").loc[2023]
    assert ((ratio - 1).abs() <= 0.05).sum() >= 12, ratio


def test_results_carry_the_yearly_parameters(run):
    """results.nc has every yearly parameter by year, and the targets it was fitted to."""
    _, _, data, results = run
    assert results["history_beta"].dims == ("year", "place")
    assert results["year"].values.tolist() == list(range(2000, 2024))
    goal = results["history_target_tb_incidence"].sel(year=2010).to_pandas()
    assert np.allclose(goal[SADC], data("tb_incidence_per_100k").loc[2010, SADC])
