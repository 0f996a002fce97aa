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
    table = pd.DataFrame([{"origin_region": "all regions", "theta": 2.5, "lower_95": 2.2,
                           "upper_95": 2.8}])
    text = parameters_toml(SelectionFit(table, 3.0, 100),
                           {"migrant_ltbi_ratio": (0.4, 0.3, 0.6),
                            "migrant_active_tb_ratio": (0.2, 0.2, 0.8)}, "obs.csv")
    assert "migrant_ltbi_ratio = 0.6  # the data ask for 1.000" in text
    assert "\nmigrant_active_tb_ratio = 0.5\n" in text


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


@pytest.mark.parametrize("text, message", [
    (None, "parameters_file: cannot read"),
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
