"""the science brief checks #12 (screening decision tree) and #13 (Imai inversion)."""

import numpy as np
import pytest

from healthmob.risk.screening import exported_case_inversion, gostic_miss, gostic_miss_tree


def test_no_screening_detects_nobody():
    rng = np.random.default_rng(3)
    f_d = rng.uniform(0, 1, 50)
    f_dd = f_d + (1 - f_d) * rng.uniform(0, 1, 50)
    missed = gostic_miss(f_d, f_dd, f=0.8, g=0.3, s_d=0, s_a=0, r_d=0, r_a=0)
    np.testing.assert_allclose(missed, 1.0)


def test_perfect_departure_symptom_screen_catches_every_symptomatic_traveller():
    assert gostic_miss(1.0, 1.0, f=1.0, g=0.0, s_d=1.0, s_a=0.0, r_d=0, r_a=0) == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_factorised_identity_equals_the_explicit_tree(seed):
    rng = np.random.default_rng(seed)
    f_d, frac, f, g, s_d, s_a, r_d, r_a = rng.uniform(0, 1, 8)
    f_dd = f_d + (1 - f_d) * frac
    assert gostic_miss(f_d, f_dd, f, g, s_d, s_a, r_d, r_a) == pytest.approx(
        gostic_miss_tree(f_d, f_dd, f, g, s_d, s_a, r_d, r_a), abs=1e-14)


def test_imai_exported_case_inversion():
    """Imai et al. 2020: 3,301 travellers/day, catchment 19 M, 10-day window, 3 exported."""
    p, total = exported_case_inversion(3301, 19e6, 10, 3)
    assert 1 / p == pytest.approx(576, abs=0.5)
    assert total == pytest.approx(1727, abs=1)
