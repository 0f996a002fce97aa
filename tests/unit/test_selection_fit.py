"""``healthmob surveil --fit`` (healthmob/surveillance/fit.py): the multipliers of the
migrants' TB by region of birth recovered from counts drawn with known ones, the fitted
parameter file, and configs that load it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from healthmob.errors import ConfigError
from healthmob.scenario import parse_scenario
from healthmob.surveillance.fit import SelectionFit, fit_selection, parameters_toml

YEARS = np.arange(2000, 2020)


class _Counts:
    """The part of ModelCounts the fit reads: two destinations, each with migrants from an
    African and a European origin (WHO regions AFR and EUR), 20 years."""

    places = ["DDD", "EEE"]
    years = YEARS
    origin_labels = np.array([["AAA", "region:EUR"], ["BBB", "region:EUR"]])

    def __init__(self, rng):
        self.counts = rng.uniform(100, 400, (len(YEARS), 2, 2))

    def origin_counts(self, place, group):
        return self.counts[:, place, group]


def _observed(model, theta, rng) -> xr.Dataset:
    mean = theta["AFR"] * model.counts[:, :, 0] + theta["EUR"] * model.counts[:, :, 1]
    observed = rng.poisson(mean).T.astype(float)
    return xr.Dataset({"observed": (("series", "year"), observed)},
                      coords={"year": YEARS, "reporting_place": ("series", model.places),
                              "country_of_birth": ("series", ["foreign", "foreign"]),
                              "years_since_entry": ("series", ["", ""])})


def test_known_multipliers_are_recovered_inside_their_intervals():
    rng = np.random.default_rng(14)
    model = _Counts(rng)
    truth = {"AFR": 2.0, "EUR": 0.5}
    found = fit_selection(_observed(model, truth, rng), model, {"AAA": "AFR", "BBB": "AFR"})
    table = found.table.set_index("origin_region")
    for region, value in truth.items():
        row = table.loc[region]
        assert row["lower_95"] < value < row["upper_95"], table
        assert row["theta"] == pytest.approx(value, rel=0.1)
    together = table.loc["all regions"]
    expected = (2.0 * model.counts[..., 0].sum() + 0.5 * model.counts[..., 1].sum()) / \
        model.counts.sum()
    assert together["theta"] == pytest.approx(expected, rel=0.1)
    assert found.observations == 40


def test_the_parameter_file_keeps_each_ratio_in_its_declared_range():
    """The common theta scales each ratio, each region's theta the ratio of its region (its
    own when the run had one), all inside the declared range; a region whose interval is
    open on one side, and the places without a region, get no value of their own."""
    table = pd.DataFrame([
        {"origin_region": "all regions", "theta": 2.5, "lower_95": 2.2, "upper_95": 2.8},
        {"origin_region": "AFR", "theta": 0.5, "lower_95": 0.4, "upper_95": 0.6},
        {"origin_region": "EUR", "theta": 1.2, "lower_95": 1.0, "upper_95": 1.5},
        {"origin_region": "SEA", "theta": 9.0, "lower_95": 5.0, "upper_95": np.nan},
        {"origin_region": "unknown", "theta": 0.0, "lower_95": np.nan, "upper_95": np.nan}])
    text = parameters_toml(SelectionFit(table, 3.0, 100),
                           {"migrant_ltbi_ratio": ({"": 0.4, "EUR": 0.45, "WPR": 0.2}, 0.3,
                                                   0.6),
                            "migrant_active_tb_ratio": ({"": 0.2}, 0.1, 0.8)}, "obs.csv")
    assert ("# migrant_ltbi_ratio: the data ask for all regions 1.000, AFR 0.200, outside the "
            "declared range [0.3, 0.6]") in text
    assert ("\nmigrant_ltbi_ratio = { value = 0.6, by_who_region = { AFR = 0.3, EUR = 0.54, "
            "WPR = 0.5 } }" in text)  # WPR: the run's own 0.2, no fitted theta: x 2.5
    assert ("\nmigrant_active_tb_ratio = { value = 0.5, by_who_region = { AFR = 0.1, "
            "EUR = 0.24 } }\n") in text
    assert "SEA" not in text and "unknown" not in text


BASE = {"name": "p", "model": "tb", "places": {"source": "world", "ids": ["GBR", "IND"]},
        "initial": {"method": "fractions", "fractions": {"S": 1.0}}}


def test_a_config_loads_the_file_and_its_own_parameters_win(tmp_path):
    (tmp_path / "fitted.toml").write_text("[parameters]\nmigrant_ltbi_ratio = 0.55\n"
                                          "migrant_active_tb_ratio = 0.6\n")
    table = {**BASE, "parameters_file": "fitted.toml",
             "parameters": {"migrant_active_tb_ratio": 0.3}}
    scenario = parse_scenario(table, path=tmp_path / "config.toml")
    assert scenario.parameters["migrant_ltbi_ratio"] == 0.55
    assert scenario.parameters["migrant_active_tb_ratio"] == 0.3
    assert tmp_path / "fitted.toml" in scenario.input_files


def test_a_config_gives_the_places_of_a_region_their_own_ratio(tmp_path):
    (tmp_path / "fitted.toml").write_text(
        "[parameters]\nmigrant_ltbi_ratio = { value = 0.5, by_who_region = { SEA = 0.6 } }\n")
    scenario = parse_scenario({**BASE, "parameters_file": "fitted.toml"},
                              path=tmp_path / "config.toml")
    np.testing.assert_array_equal(scenario.parameters["migrant_ltbi_ratio"], [0.5, 0.6])
    table = {**BASE, "places": {"source": "world", "ids": ["GBR", "ATA"]},  # ATA: no region
             "parameters": {"migrant_ltbi_ratio": {"by_who_region": {"EUR": 0.3}}}}
    scenario = parse_scenario(table, path=tmp_path / "config.toml")
    np.testing.assert_array_equal(scenario.parameters["migrant_ltbi_ratio"], [0.3, 0.4])
    table = {**BASE, "parameters": {"tb_death": {"units": "1/day",  # the model's: 0.15/year
                                                 "by_who_region": {"EUR": 0.001}}}}
    scenario = parse_scenario(table, path=tmp_path / "config.toml")
    np.testing.assert_allclose(scenario.parameters["tb_death"], [0.001, 0.15 / 365.25])


@pytest.mark.parametrize("text, message", [
    (None, "parameters_file: cannot read"),
    ("[parameters]\nmigrant_ltbi_ratio = { by_who_region = { XXX = 0.5 } }\n",
     "parameters.migrant_ltbi_ratio.by_who_region.XXX must be a who_region of the places "
     "['EUR', 'SEA']"),
    ("[parameters]\nmigrant_ltbi_ratio = { by_who_region = { SEA = 0.9 } }\n",
     "by_who_region.SEA must be within the declared range"),
    ("[parameters]\nmigrant_ltbi_ratio = { by_who_region = 0.5 }\n",
     "by_who_region must be a table of WHO region = value"),
    ("[parameters\n", "is not valid TOML"),
    ("[other]\nx = 1\n", "must hold one [parameters] table"),
    ("[parameters]\nmigrant_ltbi_ratio = 0.9\n", "within the declared range"),
])
def test_a_bad_parameter_file_is_one_line(tmp_path, text, message):
    if text is not None:
        (tmp_path / "fitted.toml").write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")) as caught:
        parse_scenario({**BASE, "parameters_file": "fitted.toml"},
                       path=tmp_path / "config.toml")
    assert "\n" not in str(caught.value)
