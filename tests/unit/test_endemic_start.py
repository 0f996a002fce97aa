"""The endemic start: each place starts at an equilibrium with its observed burden."""

import numpy as np
import pandas as pd
import pytest

from healthmob.calibration.fit import Target, stationary
from healthmob.calibration.initial import FLAG_MEANINGS, endemic_start
from healthmob.disease.compile import compile_model
from healthmob.disease.observables import observe
from healthmob.disease.parse import load_model

PLACES = pd.DataFrame({
    "id": ["ZAF", "GBR", "IND", "XXX"],
    "population": [59.9e6, 67e6, 1.417e9, 1e6],
    "tb_incidence_per_100k": [468.0, 7.8, 199.0, np.nan],
    "hiv_prevalence_percent": [18.3, 0.16, 0.2, 1.0],
    "tb_hiv_percent": [54.0, 3.0, 2.0, 10.0],
    "subregion": ["a", "b", "a", "a"],
})
TB_TARGET = [Target("tb_incidence", "beta", column="tb_incidence_per_100k")]
TB_HIV_TARGETS = TB_TARGET + [
    Target("hiv_prevalence", "beta_hiv", column="hiv_prevalence_percent"),
    Target("art_coverage", "art_initiation", value=76.0),
    Target("tb_hiv_share", "rr_tb_activation_hiv", column="tb_hiv_percent")]


@pytest.fixture(scope="module")
def start():
    return endemic_start(load_model("tb"), PLACES, {}, TB_TARGET, fallback="subregion")


def _observed(spec, start, name):
    model = compile_model(spec, len(PLACES), start.overrides)
    force = model.local_force(start.state)
    return observe(spec, name, start.state, model.tally_rates(start.state, force))


def test_incidence_at_start_matches_target(start):
    incidence = _observed(load_model("tb"), start, "tb_incidence")
    np.testing.assert_allclose(incidence, [468, 7.8, 199, 333.5], rtol=1e-6)


def test_start_is_an_equilibrium_of_the_ode(start):
    """Check #8: at the fitted state the derivative vanishes (relative to the population)."""
    model = compile_model(load_model("tb"), len(PLACES), start.overrides)
    x = start.state
    dx = model.derivative(x, model.local_force(x))
    assert np.abs(dx).max() / x.sum(axis=1).max() < 1e-12


def test_missing_data_uses_the_region_median_and_is_flagged(start):
    assert [FLAG_MEANINGS[f] for f in start.flag] == [
        "fitted_to_data", "fitted_to_data", "fitted_to_data", "fallback_region_median"]
    assert start.goal[3, 0] == pytest.approx(np.median([468, 199]))


def test_higher_transmission_never_lowers_incidence():
    """Monotonicity: a higher incidence target needs a higher transmission rate, i.e. the
    equilibrium incidence never falls as beta rises (checked over 1-2,000 per 100k/yr)."""
    targets = np.geomspace(1, 2000, 25)
    places = pd.DataFrame({"id": [f"P{i}" for i in range(25)], "population": 1e6,
                           "tb_incidence_per_100k": targets})
    start = endemic_start(load_model("tb"), places, {}, TB_TARGET, fallback="x")
    assert np.all(np.diff(start.overrides["beta"]) > 0)
    assert not start.flag.any()


def test_tb_hiv_start_meets_targets_in_priority_order():
    """TB incidence, HIV prevalence and ART coverage are met; the HIV-positive share of TB
    is met where a relative risk inside 12-31 allows (ZAF) and otherwise given up with the
    relative risk at its bound and the place flagged (IND: 2.0% needs more than 31)."""
    spec = load_model("tb_hiv")
    places = PLACES.iloc[[0, 2]].reset_index(drop=True)
    start = endemic_start(spec, places, {}, TB_HIV_TARGETS, fallback="x")
    model = compile_model(spec, 2, start.overrides)
    tallies = model.tally_rates(start.state, model.local_force(start.state))
    for name, expected in [("tb_incidence", places["tb_incidence_per_100k"]),
                           ("hiv_prevalence", places["hiv_prevalence_percent"]),
                           ("art_coverage", [76.0, 76.0])]:
        got = observe(spec, name, start.state, tallies)
        np.testing.assert_allclose(got, expected, rtol=0.02)
    share = observe(spec, "tb_hiv_share", start.state, tallies)
    assert share[0] == pytest.approx(54.0, rel=0.02)
    assert [FLAG_MEANINGS[f] for f in start.flag] == ["fitted_to_data",
                                                       "lower_priority_target_missed"]
    assert start.overrides["rr_tb_activation_hiv"][1] == pytest.approx(31.0)
    assert share[1] == pytest.approx(start.achieved[1, 3]) and share[1] < 2.0


def test_stationary_distribution_of_a_two_state_chain():
    q = np.array([[-1.0, 1.0], [3.0, -3.0]])
    np.testing.assert_allclose(stationary(q), [0.75, 0.25])
