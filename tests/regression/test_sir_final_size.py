"""the science brief check #1: single-patch SIR final size z = 1 - exp(-R0 z)."""

import numpy as np
import pytest

from healthmob.disease.compile import compile_model
from healthmob.disease.parse import load_model
from healthmob.engine.ode import simulate_deterministic

PUBLISHED = {1.5: 0.5828, 2.0: 0.7968, 2.5: 0.8926, 3.0: 0.9405}


@pytest.mark.parametrize("r0", sorted(PUBLISHED))
def test_final_size_matches_analytic(r0):
    spec = load_model("sir")
    recovery = spec.base_values()["recovery"]
    model = compile_model(spec, 1, {"beta": r0 * recovery})
    n = 1e7
    x0 = np.array([[n - 10.0, 10.0, 0.0]])
    trajectory = simulate_deterministic(model, x0, np.array([0.0, 4000.0]), rtol=1e-9, atol=1e-6)
    final = trajectory.state[-1, 0, 2] / n
    assert final == pytest.approx(PUBLISHED[r0], abs=1e-3)
    # the analytic root, beyond the 4 published digits
    z = final
    assert abs(z - (1 - np.exp(-r0 * z))) < 1e-5
