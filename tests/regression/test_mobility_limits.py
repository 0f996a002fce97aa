"""the science brief check #3: the two limits of mobility coupling."""

import numpy as np
import pytest
import scipy.sparse as sp

from healthmob.disease.compile import compile_model
from healthmob.disease.parse import load_model
from healthmob.engine.coupling import Coupling
from healthmob.engine.ode import simulate_deterministic
from healthmob.mobility.matrix import Mobility, MobilityLayer

FINAL_SIZE = {2.0: 0.7968, 3.0: 0.9405}


def _sir(r0_per_place):
    spec = load_model("sir")
    beta = np.asarray(r0_per_place) * spec.base_values()["recovery"]
    return compile_model(spec, len(beta), {"beta": beta})


def test_zero_mobility_places_are_independent():
    model = _sir([2.0, 3.0])
    x0 = np.array([[1e6 - 10, 10, 0], [2e6 - 10, 10, 0]], dtype=float)
    mobility = Mobility(("A", "B"), {"air": MobilityLayer("air", sp.csr_array((2, 2)),
                                                          "visiting", 5.0)})
    coupling = Coupling.from_mobility(mobility, x0.sum(axis=1))
    final = simulate_deterministic(model, x0, np.array([0, 4000.0]), coupling,
                                   rtol=1e-9).state[-1]
    assert final[0, 2] / 1e6 == pytest.approx(FINAL_SIZE[2.0], abs=1e-3)
    assert final[1, 2] / 2e6 == pytest.approx(FINAL_SIZE[3.0], abs=1e-3)


@pytest.mark.parametrize("coupling_kind", ["relocation", "visiting"])
def test_high_symmetric_mobility_is_one_well_mixed_population(coupling_kind):
    """Two places of 1 M and 3 M, seeded in one: same final size as 4 M well mixed."""
    model = _sir([2.0, 2.0])
    population = np.array([1e6, 3e6])
    x0 = np.array([[1e6 - 10, 10, 0], [3e6, 0, 0]], dtype=float)
    # every resident travels (relocation) or is away (visiting) at a high rate
    rate = 50.0 if coupling_kind == "relocation" else 1.0
    flow = np.array([[0, rate * 1e6], [rate * 1e6, 0]])  # symmetric persons/day
    stay = 1e4 if coupling_kind == "visiting" else 1.0
    mobility = Mobility(("A", "B"), {"m": MobilityLayer("m", sp.csr_array(flow),
                                                        coupling_kind, stay)})
    coupling = Coupling.from_mobility(mobility, population)
    final = simulate_deterministic(model, x0, np.array([0, 4000.0]), coupling,
                                   method="LSODA", rtol=1e-8, atol=1e-4).state[-1]
    assert final[:, 2].sum() / population.sum() == pytest.approx(FINAL_SIZE[2.0], abs=1e-3)
