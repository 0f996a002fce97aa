"""The endemic start: each place starts at an equilibrium with the observed TB incidence."""

import numpy as np
import pandas as pd
import pytest

from healthmob.initial import FLAG_MEANINGS, PER_100K_YEAR, endemic_start, stationary
from healthmob.model import compile_model
from healthmob.spec import load_model

PLACES = pd.DataFrame({
    "id": ["ZAF", "GBR", "IND", "XXX"],
    "population": [59.9e6, 67e6, 1.417e9, 1e6],
    "tb_incidence_per_100k": [468.0, 7.8, 199.0, np.nan],
    "subregion": ["a", "b", "a", "a"],
})


@pytest.fixture(scope="module")
def start():
    return endemic_start(load_model("tb"), PLACES, {}, tally="tb_incidence",
                         column="tb_incidence_per_100k", parameter="beta",
                         fallback="subregion")


def test_incidence_at_start_matches_target(start):
    model = compile_model(load_model("tb"), len(PLACES), start.overrides)
    rates = model.tally_rates(start.state, model.local_force(start.state))
    incidence = rates[:, model.tally_names.index("tb_incidence")] / PLACES["population"]
    np.testing.assert_allclose(incidence * PER_100K_YEAR, [468, 7.8, 199, 333.5], rtol=1e-8)


def test_start_is_an_equilibrium_of_the_ode(start):
    """Check #8: at the fitted state the derivative vanishes (relative to the flows)."""
    model = compile_model(load_model("tb"), len(PLACES), start.overrides)
    x = start.state
    dx = model.derivative(x, model.local_force(x))
    assert np.abs(dx).max() / x.sum(axis=1).max() < 1e-12


def test_missing_data_uses_the_region_median_and_is_flagged(start):
    assert [FLAG_MEANINGS[f] for f in start.flag] == [
        "fitted_to_data", "fitted_to_data", "fitted_to_data", "fallback_region_median"]
    assert start.target[3] == pytest.approx(np.median([468, 199]))


def test_higher_transmission_never_lowers_incidence():
    """Monotonicity: a higher incidence target needs a higher transmission rate, i.e. the
    equilibrium incidence never falls as beta rises (checked over 1-2,000 per 100k/yr)."""
    targets = np.geomspace(1, 2000, 25)
    places = pd.DataFrame({"id": [f"P{i}" for i in range(25)], "population": 1e6,
                           "tb_incidence_per_100k": targets})
    start = endemic_start(load_model("tb"), places, {}, tally="tb_incidence",
                          column="tb_incidence_per_100k", parameter="beta", fallback="x")
    assert np.all(np.diff(start.overrides["beta"]) > 0)
    assert not start.flag.any()


def test_stationary_distribution_of_a_two_state_chain():
    q = np.array([[-1.0, 1.0], [3.0, -3.0]])
    np.testing.assert_allclose(stationary(q), [0.75, 0.25])
