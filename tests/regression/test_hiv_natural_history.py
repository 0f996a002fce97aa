"""the science brief checks #9-#11 computed from models/hiv.toml through the engine."""

import numpy as np
import pytest

from healthmob.disease.compile import compile_model
from healthmob.disease.parse import load_model
from healthmob.engine.ode import simulate_deterministic
from healthmob.units import DAYS_PER_YEAR

UNTREATED = {"art_initiation": 0.0, "background_mortality": 0.0, "beta_hiv": 0.0}


def _cohort(days):
    spec = load_model("hiv")
    model = compile_model(spec, 1, UNTREATED)
    x0 = np.zeros((1, len(spec.compartments)))
    x0[0, spec.compartment_ids.index("W1")] = 1.0
    return spec, simulate_deterministic(model, x0, np.asarray(days, float), rtol=1e-10,
                                        atol=1e-14)


def test_untreated_median_survival_is_about_eleven_years():
    """Check #9: Todd et al. 2007: median 11.1 years (8.7-14.2) from seroconversion."""
    years = np.linspace(0, 30, 3001)
    spec, trajectory = _cohort(years * DAYS_PER_YEAR)
    # deaths are replaced by HIV-negative births (N): the cohort is everyone else
    negative = spec.compartment_ids.index("N")
    alive = trajectory.state[:, 0, :].sum(axis=1) - trajectory.state[:, 0, negative]
    median = np.interp(0.5, alive[::-1], years[::-1])
    assert median == pytest.approx(11.1, abs=0.1)
    assert 8.7 <= median <= 14.2


def test_infectiousness_ratios():
    """Check #10: acute : chronic : late = 26 : 1 : 7; ART 96% lower (HPTN 052)."""
    spec = load_model("hiv")
    weights = dict(zip(spec.compartment_ids, compile_model(spec).inf_weight[0]))
    assert weights["W1"] == weights["AC"] == 26.0
    assert weights["C1"] == weights["C4"] == 1.0
    assert weights["L"] == 7.0
    assert 1 - weights["ART"] == pytest.approx(0.96)


def test_fourth_generation_test_window():
    """Check #11: median window 18 days; P(false negative) = 0.01 at 42 days."""
    spec, trajectory = _cohort([0.0, 18.0, 42.0])
    window = [spec.compartment_ids.index(f"W{i}") for i in range(1, 7)]
    undetectable = trajectory.state[:, 0, window].sum(axis=1)
    assert undetectable[1] == pytest.approx(0.5, abs=0.005)
    assert undetectable[2] == pytest.approx(0.01, abs=0.002)
