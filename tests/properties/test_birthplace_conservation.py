"""The birthplace account keeps every person (the science brief check #2, for strata).

Under any mobility (random flows and origin states) and any force of infection, with an
exit rate that is the same in every compartment (background mortality mu, return hazard h,
no TB deaths), the foreign-born of a destination follow exactly
``F(y+1) = F(y) e^{-(mu+h)D} + A(y) e^{-(mu+h)D/2}`` (arrivals at mid-year), to 1e-9.
"""

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from healthmob.birthplace.account import OriginGroups, StartCohorts, run_account
from healthmob.disease.compile import compile_model
from healthmob.disease.parse import load_model
from healthmob.disease.schedule import Schedule
from healthmob.engine.coupling import Coupling
from healthmob.mobility.matrix import Mobility, MobilityLayer
from healthmob.units import DAYS_PER_YEAR

N = 3
MU = 1 / 70 / DAYS_PER_YEAR
SPEC = load_model("tb")
C, K, T = len(SPEC.compartments), len(SPEC.infections), len(SPEC.tallies)
COMPILED = compile_model(SPEC, N, {"tb_death": 0.0, "background_mortality": MU})


@settings(max_examples=25, deadline=None)
@given(flow=arrays(np.float64, (N, N), elements=st.floats(0, 1e4)),
       origin_state=arrays(np.float64, (N, C), elements=st.floats(0, 1e6)),
       stock=arrays(np.float64, (N, 2, C), elements=st.floats(0, 1e5)),
       force=arrays(np.float64, (13, N, K), elements=st.floats(0, 1e-3)),
       hazard=arrays(np.float64, N, elements=st.floats(0, 1e-3)),
       weights=arrays(np.float64, (N, C), elements=st.floats(0.1, 3.0)))
def test_foreign_born_are_conserved(flow, origin_state, stock, force, hazard, weights):
    np.fill_diagonal(flow, 0.0)
    origin_state[:, 0] += 1.0                       # every origin has someone
    cohorts = np.zeros((N, N, 2, C))
    groups = np.tile(np.arange(N), (N, 1))          # group g = origin g
    for j in range(N):
        cohorts[j, (j + 1) % N] = stock[j]
    start = StartCohorts(cohorts, OriginGroups(groups, np.array([["A", "B", "C"]] * N)),
                         hazard, np.zeros(0, int), np.zeros(0, int),
                         np.zeros((0, cohorts.shape[-1])))
    times = np.linspace(0.0, 3 * DAYS_PER_YEAR, 13)
    states = np.repeat(origin_state[None], len(times), axis=0)
    account = run_account(Schedule.constant(COMPILED), times, states,
                          np.zeros((len(times), N, T)), force, start, [(flow, weights)])
    foreign = account.population.sum(axis=(2, 3))   # (year, place)
    arrivals = account.arrivals.sum(axis=2)
    assert np.allclose(arrivals, flow.sum(axis=0) * DAYS_PER_YEAR, rtol=1e-12)
    survive = np.exp(-(MU + hazard) * DAYS_PER_YEAR)
    expected = foreign[:-1] * survive + arrivals[:-1] * np.sqrt(survive)
    assert np.allclose(foreign[1:], expected, rtol=1e-9, atol=1e-9 * foreign.max())
    assert (account.population >= -1e-9).all()


def test_without_mobility_birthplace_changes_nothing(small_config, tmp_path):
    """No relocation layer: no one is foreign-born, and ``[birthplace]`` on or off gives
    the same results to 1e-9 (and no birthplace variables)."""
    from healthmob.pipeline import simulate
    from healthmob.scenario import load_scenario

    on = simulate(load_scenario(small_config))
    off_config = tmp_path / "off.toml"
    off_config.write_text(small_config.read_text() + "\n[birthplace]\nenabled = false\n")
    off = simulate(load_scenario(off_config))
    assert "native_population" not in on
    for name in off.data_vars:
        if np.issubdtype(off[name].dtype, np.floating):
            np.testing.assert_allclose(on[name].values, off[name].values, rtol=1e-9, atol=0)



@settings(max_examples=50, deadline=None)
@given(flow=arrays(np.float64, (N, N), elements=st.floats(0, 1e4)),
       state=arrays(np.float64, (N, C), elements=st.floats(0, 1e6)),
       weights=arrays(np.float64, (N, C), elements=st.floats(0.0, 5.0)))
def test_selected_relocation_moves_people_without_losing_any(flow, state, weights):
    """Relocation that moves a selected sample (weights per compartment) takes from each
    origin exactly what it brings to the destinations, compartment by compartment; with
    weights of one it is the random-sample relocation."""
    np.fill_diagonal(flow, 0.0)
    state[:, 0] += 1.0
    mobility = Mobility(tuple(f"P{i}" for i in range(N)), {
        "migration": MobilityLayer("migration", sp.csr_array(flow), "relocation")})
    population = state.sum(axis=1)
    flux = Coupling.from_mobility(mobility, population, {"migration": weights}
                                  ).relocation_flux(state)
    assert np.allclose(flux.sum(axis=0), 0.0, atol=1e-9 * max(np.abs(flux).max(), 1.0))
    ones = Coupling.from_mobility(mobility, population, {"migration": np.ones((N, C))})
    np.testing.assert_allclose(ones.relocation_flux(state),
                               Coupling.from_mobility(mobility, population).relocation_flux(
                                   state), rtol=1e-9, atol=1e-9 * max(np.abs(flux).max(), 1.0))
