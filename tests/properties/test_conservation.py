"""the science brief check #2: any mobility conserves people (no births, no deaths)."""

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from healthmob.disease.compile import compile_model
from healthmob.disease.parse import load_model
from healthmob.engine.coupling import Coupling
from healthmob.engine.ode import simulate_deterministic
from healthmob.mobility.matrix import Mobility, MobilityLayer

N_PLACES = 4


def _mobility(relocation, visiting, stay):
    ids = tuple(f"P{i}" for i in range(N_PLACES))
    for matrix in (relocation, visiting):
        np.fill_diagonal(matrix, 0.0)
    return Mobility(ids, {
        "migration": MobilityLayer("migration", sp.csr_array(relocation), "relocation"),
        "air": MobilityLayer("air", sp.csr_array(visiting), "visiting", stay_days=stay),
    })


flows = arrays(np.float64, (N_PLACES, N_PLACES), elements=st.floats(0, 5e4))
moving = arrays(np.float64, (N_PLACES, N_PLACES), elements=st.floats(0, 0.01))
"""Share of a place's residents who relocate to another place per day: up to 1% a day to
each, ten times the busiest real corridor. (Places emptied within days by relocation are
degenerate: RK45 can fail on them; that is not what this property is about.)"""


@settings(max_examples=25, deadline=None)
@given(relocating=moving, visiting=flows, stay=st.floats(0.5, 30),
       population=arrays(np.float64, N_PLACES, elements=st.floats(1e4, 1e7)),
       seeded=st.integers(0, N_PLACES - 1))
def test_total_population_is_constant_and_nonnegative(relocating, visiting, stay, population,
                                                      seeded):
    model = compile_model(load_model("seir"), N_PLACES)
    x0 = np.zeros((N_PLACES, 4))
    x0[:, 0] = population
    x0[seeded, 0] -= 100.0
    x0[seeded, 2] = 100.0
    relocation = relocating * population[:, None]  # persons per day
    coupling = Coupling.from_mobility(_mobility(relocation, visiting, stay), population)
    trajectory = simulate_deterministic(model, x0, np.linspace(0, 120, 13), coupling)
    totals = trajectory.state.sum(axis=(1, 2))
    np.testing.assert_allclose(totals, population.sum(), rtol=1e-9)
    assert trajectory.state.min() > -1e-6 * population.max()


def test_visiting_without_travel_is_the_local_force():
    """Check #16: sigma -> 0 gives the local force of infection."""
    model = compile_model(load_model("sir"), N_PLACES)
    rng = np.random.default_rng(1)
    x = rng.uniform(1e3, 1e5, size=(N_PLACES, 3))
    tiny = _mobility(np.zeros((N_PLACES, N_PLACES)), np.full((N_PLACES, N_PLACES), 1e-9), 1.0)
    coupling = Coupling.from_mobility(tiny, x.sum(axis=1))
    np.testing.assert_allclose(coupling.force(model, x), model.local_force(x), rtol=1e-9)


def test_visiting_residents_sum_to_population():
    """Check #16: residents of i at home plus those away sum to N_i."""
    rng = np.random.default_rng(2)
    population = rng.uniform(1e4, 1e6, N_PLACES)
    visiting = rng.uniform(0, 1e4, (N_PLACES, N_PLACES))
    coupling = Coupling.from_mobility(_mobility(np.zeros_like(visiting), visiting, 7.0),
                                      population)
    home = population / (1 + coupling.away_total)
    away = (coupling.away.toarray() * home[:, None]).sum(axis=1)
    np.testing.assert_allclose(home + away, population, rtol=1e-12)
