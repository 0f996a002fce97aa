"""The world history fit, afresh (slow: about 10 minutes on 2 cores): the two endemic fits of
2000 and the yearly fit of 2000-2023 (``healthmob calibrate`` without a cache), then the run
of configs/world-history.toml to 2044, checked against geo/history.csv on the engine's own
annual means. The thresholds are the levels measured on 2026-12-02 (docs/calibration.md,
"What it reaches") less a margin: a regression guard. The goals of issue 13 (95% of
countries within 5% of WHO's 2023 TB incidence, 85% within 1.5 points of its 2015-2023
trend, 90% within 10% of UNAIDS HIV prevalence) are not reached; docs/calibration.md says
why."""

import pandas as pd
import pytest

from healthmob.pipeline import prepare, simulate
from healthmob.scenario import load_scenario
from healthmob.store.resources import data_dir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    prepared = prepare(load_scenario("world-history"),
                       calibration_dir=tmp_path_factory.mktemp("calibrations"))
    results = simulate(prepared.scenario, prepared)
    observed = pd.read_csv(data_dir("geo") / "history.csv", keep_default_na=False,
                           na_values=[""])

    def annual(name, year):
        values = results[name].isel(time=slice(0, -1)).groupby("time.year").mean()
        return values.sel(year=year).to_pandas()

    def data(column, year):
        return observed[observed["year"] == year].set_index("id")[column]

    return annual, data


def share_within(model, data, tolerance, relative=True):
    both = pd.concat([model, data], axis=1, keys=["model", "data"]).dropna()
    gap = both["model"] - both["data"]
    if relative:
        gap = gap / both["data"].where(both["data"] > 0)
    return (gap.abs() <= tolerance).mean()


def test_tb_incidence_2023(world):
    """Measured 2026-12-02: 131 of 209 countries (63%) within 5% of WHO."""
    annual, data = world
    assert share_within(annual("tb_incidence", 2023), data("tb_incidence_per_100k", 2023),
                        0.05) >= 0.55


def test_tb_trend_2015_2023(world):
    """Measured 2026-12-02: 131 of 207 (63%) within 1.5 points a year of WHO's annual change."""
    annual, data = world
    model = 100 * ((annual("tb_incidence", 2023) / annual("tb_incidence", 2015)) ** 0.125 - 1)
    who = 100 * ((data("tb_incidence_per_100k", 2023) / data("tb_incidence_per_100k", 2015))
                 ** 0.125 - 1)
    assert share_within(model, who, 1.5, relative=False) >= 0.55


def test_hiv_and_art(world):
    """Measured 2026-12-02: HIV prevalence 2021 within 10% in 83 of 139 (60%); ART coverage
    2022 within 5 points in 102 of 126 (81%)."""
    annual, data = world
    assert share_within(annual("hiv_prevalence", 2021), data("hiv_prevalence_percent", 2021),
                        0.10) >= 0.55
    assert share_within(annual("art_coverage", 2022), data("art_coverage_percent", 2022), 5.0,
                        relative=False) >= 0.75


def test_populations_and_notifications(world):
    """Measured 2026-12-02: 2023 population within 5% of the World Bank in 170 of 209 (81%); TB
    notifications' median model/WHO ratio 1.01."""
    annual, data = world
    assert share_within(annual("total_population", 2023), data("population", 2023),
                        0.05) >= 0.75
    ratio = (annual("tb_notifications", 2023) / data("tb_notified_per_100k", 2023)).replace(
        [float("inf"), 0.0], float("nan")).dropna()
    assert 0.9 <= ratio.median() <= 1.1


def test_tb_deaths(world):
    """Measured 2026-12-02: TB deaths 2023, median model/WHO ratio 1.22 over 206 countries
    (HIV-negative 1.35, HIV-positive 0.85; issue 13's goal is within 20%); 1.61 before the
    previously treated stage and WHO's fatality of untreated TB with HIV."""
    annual, data = world
    who = data("tb_deaths_hiv_negative_per_100k", 2023) + data(
        "tb_deaths_hiv_positive_per_100k", 2023)
    ratio = (annual("tb_deaths", 2023) / who).replace([float("inf"), 0.0],
                                                     float("nan")).dropna()
    assert 1.0 <= ratio.median() <= 1.35
    positive = (annual("tb_deaths_hiv_positive", 2023)
                / data("tb_deaths_hiv_positive_per_100k", 2023)).replace(
        [float("inf"), 0.0], float("nan")).dropna()
    assert 0.7 <= positive.median() <= 1.2
