"""the science brief checks #4-#6, computed from models/tb.toml through the engine."""

import numpy as np
import pytest

from healthmob.disease.compile import compile_model
from healthmob.disease.parse import load_model
from healthmob.engine.ode import simulate_deterministic
from healthmob.units import DAYS_PER_YEAR

OFF = {"beta": 0.0, "tb_death": 0.0, "self_cure": 0.0, "detection": 0.0,
       "background_mortality": 0.0}
ALL_AGES = {}
AGE_15_PLUS = {"early_activation": 2.7e-4, "stabilisation": 5.4e-3, "late_reactivation": 3.3e-6}
AGE_0_4 = {"early_activation": 6.6e-3, "stabilisation": 1.2e-2, "late_reactivation": 1.9e-11}


def _cohort(overrides, years, **extra):
    spec = load_model("tb")
    model = compile_model(spec, 1, {**OFF, **overrides, **extra})
    x0 = np.zeros((1, len(spec.compartments)))
    x0[0, spec.compartment_ids.index("LE0")] = 1.0  # newly infected, before IGRA conversion
    times = np.asarray(years, dtype=float) * DAYS_PER_YEAR
    return spec, simulate_deterministic(model, x0, times, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("rates, expected", [
    (ALL_AGES, {2: 0.1022, 5: 0.1077, 20: 0.1341}),
    (AGE_15_PLUS, {2: 0.0486, 5: 0.0528, 20: 0.0698}),
])
def test_latency_cohort_cumulative_activation(rates, expected):
    """Check #4: Ragonnet 2017 rates, no mortality: cumulative activation = share in A."""
    years = [0, *expected]
    spec, trajectory = _cohort(rates, years)
    active = trajectory.state[1:, 0, spec.compartment_ids.index("A")]
    assert active == pytest.approx(list(expected.values()), abs=5e-5)


@pytest.mark.parametrize("rates, expected", [
    (ALL_AGES, 0.209), (AGE_15_PLUS, 0.121), (AGE_0_4, 0.354)])
def test_lifetime_risk_with_background_mortality(rates, expected):
    """Check #5: with death 1/70 per year, the integral of the activation flow."""
    years = np.linspace(0, 600, 60001)
    spec, trajectory = _cohort(rates, years, background_mortality=1 / 70 / DAYS_PER_YEAR)
    flow = trajectory.tally_rates[:, 0, list(spec.tallies).index("tb_incidence")]
    lifetime = np.trapezoid(flow, years * DAYS_PER_YEAR)
    assert lifetime == pytest.approx(expected, abs=1e-3)


def test_untreated_tb_outcomes():
    """Check #6: death 0.233/yr and self-cure 0.100/yr: 70% die of TB, mean 3.0 years."""
    spec = load_model("tb")
    model = compile_model(spec, 1, {**OFF, "tb_death": 0.233 / DAYS_PER_YEAR,
                                    "self_cure": 0.100 / DAYS_PER_YEAR})
    x0 = np.zeros((1, len(spec.compartments)))
    x0[0, spec.compartment_ids.index("A")] = 1.0
    years = np.linspace(0, 80, 80001)
    trajectory = simulate_deterministic(model, x0, years * DAYS_PER_YEAR, rtol=1e-10,
                                        atol=1e-14)
    k = model.tally_names.index("tb_deaths")
    died = np.trapezoid(trajectory.tally_rates[:, 0, k], years * DAYS_PER_YEAR)
    mean_years = np.trapezoid(trajectory.state[:, 0, spec.compartment_ids.index("A")], years)
    assert died == pytest.approx(0.70, abs=1e-3)
    assert mean_years == pytest.approx(3.0, abs=1e-2)
