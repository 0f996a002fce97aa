"""Who a corridor moves when it is not the origin's average: the return layer takes each
origin's own emigrants home (CorridorWeights), in the engines' coupling, the start and the
risk stage."""

import numpy as np
import pandas as pd
import scipy.sparse as sp

from healthmob.birthplace.account import OriginGroups, StartCohorts
from healthmob.birthplace.setup import return_weights
from healthmob.disease.compile import compile_model
from healthmob.disease.parse import load_model
from healthmob.disease.selection import CorridorWeights, travellers
from healthmob.engine.coupling import Coupling
from healthmob.mobility.matrix import Mobility, MobilityLayer
from healthmob.risk.assess import RiskInputs, assess_risk
from healthmob.risk.config import parse_risk

RNG = np.random.default_rng(11)
PLACES = pd.DataFrame({"id": ["A", "B", "C"], "name": ["A", "B", "C"],
                       "population": [1e6, 2e6, 5e5], "lat": [0.0, 1.0, 2.0],
                       "lon": [0.0, 1.0, 2.0], "tb_incidence_per_100k": [300.0, 5.0, 60.0]})


def _layers(flow):
    return Mobility(tuple(f"P{i}" for i in range(len(flow))),
                    {"return": MobilityLayer("return", sp.csr_array(flow), "relocation")})


def test_corridor_weights_fall_back_to_the_origin_where_a_corridor_has_none():
    fallback = RNG.random((4, 3))
    own = CorridorWeights(np.array([0, 2]), np.array([3, 1]), np.array([[1., 2, 3], [4, 5, 6]]),
                          fallback)
    got = own.at(np.array([2, 0, 0, 3]), np.array([1, 3, 1, 0]))
    assert np.array_equal(got, [[4, 5, 6], [1, 2, 3], fallback[0], fallback[3]])
    empty = CorridorWeights(np.zeros(0, int), np.zeros(0, int), np.zeros((0, 3)), fallback)
    assert np.array_equal(empty.at(np.array([1, 2]), np.array([0, 0])), fallback[[1, 2]])


def test_the_flux_moves_each_corridor_with_its_own_weights_and_conserves_people():
    n, c = 5, 4
    flow = RNG.random((n, n)) * (RNG.random((n, n)) < 0.7) * 1e3
    np.fill_diagonal(flow, 0)
    population = RNG.uniform(1e5, 1e6, n)
    x = RNG.dirichlet(np.ones(c), n) * population[:, None]
    rows, cols = np.nonzero(flow)
    w = RNG.uniform(0.2, 3.0, (len(rows), c))
    w *= (population[rows] / (w * x[rows]).sum(axis=1))[:, None]      # flows kept
    keep = np.arange(len(rows)) % 2 == 0                # the others use the fallback
    fallback = np.ones((n, c))
    weights = CorridorWeights(rows[keep], cols[keep], w[keep], fallback)
    coupling = Coupling.from_mobility(_layers(flow), population, {"return": weights})
    expected = np.zeros((n, c))
    for k, (i, j) in enumerate(zip(rows, cols)):
        moved = flow[i, j] / population[i] * (w[k] if keep[k] else fallback[i]) * x[i]
        expected[j] += moved
        expected[i] -= moved
    flux = coupling.relocation_flux(x)
    assert np.allclose(flux, expected, rtol=1e-12, atol=1e-9)
    assert np.allclose(flux.sum(axis=0), 0.0, atol=1e-9)             # per compartment
    assert np.allclose(coupling.relocation_inflow(x) - flux,
                       coupling.relocation_out_rates(c) * x, rtol=1e-12)
    # at the start state each corridor carries its flow
    out_people = (coupling.relocation_out_rates(c) * x).sum(axis=1)
    assert np.allclose(out_people, flow.sum(axis=1), rtol=1e-9)
    # per-origin weights and a CorridorWeights with no own corridors are the same operator
    plain = Coupling.from_mobility(_layers(flow), population, {"return": fallback * 2})
    same = Coupling.from_mobility(_layers(flow), population, {"return": CorridorWeights(
        np.zeros(0, int), np.zeros(0, int), np.zeros((0, c)), fallback * 2)})
    assert np.allclose(plain.relocation_flux(x), same.relocation_flux(x), rtol=1e-12)


def test_returners_carry_their_own_origins_composition_not_the_hosts_foreign_born():
    """Host 0 holds emigrants of 1 (all in compartment 1) and of 2 (all in compartment 2):
    going home on 0 -> 1 they are all in compartment 1, not the foreign-born mix."""
    c = 3
    state = np.array([[800., 100, 100], [1000, 0, 0], [1000, 0, 0]])
    emigrants = np.array([[0., 100, 0], [0, 0, 100]])
    cohorts = np.zeros((3, 2, 1, c))
    cohorts[0, 0, 0], cohorts[0, 1, 0] = emigrants
    start = StartCohorts(cohorts, OriginGroups(np.zeros((3, 3), int), np.array([["", ""]] * 3)),
                         np.zeros(3), np.array([1, 2]), np.array([0, 0]), emigrants)
    weights = return_weights(start, state)
    got = travellers(state[[0, 0]], weights.at(np.array([0, 0]), np.array([1, 2])))
    assert np.allclose(got, [[0, 1, 0], [0, 0, 1]])
    # the host's foreign-born together: what a corridor without a stock of its own moves
    assert np.allclose(travellers(state[[0]], weights.fallback[[0]]), [[0, 0.5, 0.5]])
    assert np.allclose((weights.weights * state[[0, 0]]).sum(axis=1), state[0].sum())


def test_the_risk_stage_gives_a_corridor_the_arrivals_of_its_own_weights():
    spec = load_model("tb")
    compiled = compile_model(spec, 3)
    n_c = len(spec.compartment_ids)
    state = RNG.dirichlet(np.ones(n_c), size=3) * PLACES["population"].to_numpy()[:, None]
    flow = np.array([[0, 1000, 500], [800, 0, 0], [300, 0, 0]], float) / 100
    mobility = Mobility(("A", "B", "C"), {"migration": MobilityLayer(
        "migration", sp.csr_array(flow), "relocation", travel_time=sp.csr_array(flow > 0) / 6)})
    own = RNG.uniform(0.1, 5.0, n_c)
    problems = []
    config = parse_risk({}, spec, problems)
    assert not problems

    def arrivals(weights):
        inputs = RiskInputs(spec, compiled, state, PLACES, mobility, "test", {},
                            {"migration": weights}, {"migration": np.inf})
        return assess_risk(inputs, config).arrivals.sel(layer="migration")

    mixed = arrivals(CorridorWeights(np.array([0]), np.array([1]), own[None, :],
                                     np.ones((3, n_c))))
    everywhere = arrivals(np.tile(own, (3, 1)))
    sample = arrivals(None)
    assert np.allclose(mixed.sel(origin="A", destination="B"),
                       everywhere.sel(origin="A", destination="B"), rtol=1e-12)
    assert not np.allclose(mixed.sel(origin="A", destination="B"),
                           sample.sel(origin="A", destination="B"), rtol=1e-3)
    for pair in (("A", "C"), ("B", "A"), ("C", "A")):
        at = dict(origin=pair[0], destination=pair[1])
        assert np.allclose(mixed.sel(**at), sample.sel(**at), rtol=1e-12)
