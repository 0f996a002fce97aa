"""the science brief checks #7 and #8: TB R0 and the endemic equilibrium."""

import numpy as np
import pandas as pd
import pytest

from healthmob.calibration.fit import Target
from healthmob.calibration.initial import endemic_start
from healthmob.disease.compile import compile_model
from healthmob.disease.parse import load_model
from healthmob.disease.reproduction import basic_reproduction_number

# no treatment failure and no reinfection: the structure of the closed form in section 1.1
SIMPLE = {"p_treatment_success": 1.0, "rr_reinfection": 0.0}


def _closed_form_r0(v):
    eps, kap, nu, mu = (v["early_activation"], v["stabilisation"], v["late_reactivation"],
                        v["background_mortality"])
    gamma = v["self_cure"] + v["detection"]
    return v["beta"] * (eps / (eps + kap + mu) + kap / (eps + kap + mu) * nu / (nu + mu)) / (
        gamma + v["tb_death"] + mu)


@pytest.mark.parametrize("beta_per_year", [5.0, 10.0, 20.0])
def test_next_generation_r0_equals_closed_form(beta_per_year):
    spec = load_model("tb")
    values = {**spec.base_values(), **SIMPLE, "beta": beta_per_year / 365.25}
    model = compile_model(spec, 1, values)
    assert basic_reproduction_number(model) == pytest.approx(_closed_form_r0(values), rel=1e-10)


def test_endemic_susceptible_share_is_one_over_r0():
    """Without reinfection the endemic S*/N equals 1/R0 (treatment sends people to R)."""
    spec = load_model("tb")
    places = pd.DataFrame({"id": ["A", "B"], "population": [1e6, 1e6],
                           "inc": [100.0, 500.0]})
    start = endemic_start(spec, places, SIMPLE, [Target("tb_incidence", "beta", column="inc")], "x")
    model = compile_model(spec, 2, start.overrides)
    susceptible = start.state[:, 0] / start.state.sum(axis=1)
    r0 = np.array([basic_reproduction_number(model, p) for p in range(2)])
    np.testing.assert_allclose(susceptible, 1 / r0, rtol=1e-8)
