"""The risk stage: phase-type undetectable arrivals, screening policies, monotonicity."""

import tomllib

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.linalg import expm

from healthmob.disease.chains import expected_events, propagate
from healthmob.disease.compile import compile_model
from healthmob.disease.parse import load_model, parse_model
from healthmob.engine.binomial import simulate_stochastic
from healthmob.mobility.matrix import Mobility, MobilityLayer
from healthmob.risk.assess import RiskInputs, assess_risk
from healthmob.risk.config import parse_risk
from healthmob.risk.kernel import masks

PLACES = pd.DataFrame({"id": ["A", "B", "C"], "name": ["A", "B", "C"],
                       "population": [1e6, 2e6, 5e5], "lat": [0.0, 1.0, 2.0],
                       "lon": [0.0, 1.0, 2.0]})


def _mobility(scale=1.0, hours=12.0):
    flow = np.array([[0, 1000, 500], [800, 0, 0], [300, 0, 0]], float) * scale / 1000
    tt = np.where(flow > 0, hours / 24, 0.0)
    air = MobilityLayer("air", sp.csr_array(flow), "visiting", 7.0,
                        travel_time=sp.csr_array(tt))
    mig = MobilityLayer("migration", sp.csr_array(flow / 10), "relocation", 1.0,
                        travel_time=sp.csr_array(tt * 4))
    return Mobility(("A", "B", "C"), {"air": air, "migration": mig})


def _hiv_state(spec, prevalence=(0.2, 0.01, 0.05)):
    """A state with a share of each place in every HIV stage (window stages included)."""
    ids = spec.compartment_ids
    state = np.zeros((3, len(ids)))
    for p, prev in enumerate(prevalence):
        state[p, ids.index("N")] = 1 - prev
        positives = [c for c in ids if c != "N"]
        state[p, [ids.index(c) for c in positives]] = prev / len(positives)
    return state * PLACES["population"].to_numpy()[:, None]


def _risk(spec, state, mobility, **cfg):
    problems = []
    config = parse_risk(cfg, spec, problems)
    assert not problems
    compiled = compile_model(spec, 3)
    return assess_risk(RiskInputs(spec, compiled, state, PLACES, mobility, "test"), config)


def test_uniformization_matches_expm_for_generators_and_subgenerators():
    model = compile_model(load_model("tb_hiv"))
    q = model.generator(0)
    rng = np.random.default_rng(0)
    vectors = rng.dirichlet(np.ones(len(q)), size=3)
    taus = np.array([0.0, 0.3, 1.7, 4.0])
    expected = np.stack([vectors @ expm(q * t) for t in taus])
    np.testing.assert_allclose(propagate(q, vectors, taus), expected, atol=1e-13)
    sub = q[:40, :40]
    np.testing.assert_allclose(propagate(sub, vectors[:, :40], taus)[2],
                               vectors[:, :40] @ expm(sub * 1.7), atol=1e-13)


def test_undetectable_hiv_arrivals_are_the_window_stages_surviving_the_journey():
    spec = load_model("hiv")
    state = _hiv_state(spec)
    ds = _risk(spec, state, _mobility())
    ids = spec.compartment_ids
    window = [ids.index(f"W{i}") for i in range(1, 7)]
    q = compile_model(spec, 3).generator(0)
    p = state[0] / state[0].sum()
    tau = 0.5
    staying = p[window] @ expm(q[np.ix_(window, window)] * tau) @ np.ones(6)
    expected = 1.0 * 365.25 * staying
    assert float(ds.undetectable_arrivals.sel(origin="A", destination="B", layer="air")) \
        == pytest.approx(expected, rel=1e-10)


def test_phase_type_agrees_with_the_stochastic_engine():
    """P(still inside the test window after 18 days) from expm vs 200,000 simulated people."""
    spec = load_model("hiv")
    model = compile_model(spec, 1, {"beta_hiv": 0.0, "art_initiation": 0.0})
    ids = spec.compartment_ids
    window = [ids.index(f"W{i}") for i in range(1, 7)]
    q = model.generator(0)
    alpha = np.zeros(len(window))
    alpha[0] = 1.0
    exact = alpha @ expm(q[np.ix_(window, window)] * 18.0) @ np.ones(len(window))
    x0 = np.zeros((1, len(ids)), dtype=np.int64)
    x0[0, ids.index("W1")] = 200_000
    trajectory = simulate_stochastic(model, x0, np.array([0.0, 18.0]),
                                     rng=np.random.default_rng(7), dt=0.05)
    simulated = trajectory.state[-1, 0, window].sum() / 200_000
    assert simulated == pytest.approx(exact, rel=0.02)
    assert exact == pytest.approx(0.5, abs=0.01)


def test_longer_test_window_never_lowers_undetectable_arrivals():
    results = []
    for days in (10.0, 19.05, 30.0, 45.0):
        spec = load_model("hiv")
        spec.parameters["dur_window"] = type(spec.parameters["dur_window"])(
            "dur_window", days, "day", "test")
        results.append(float(_risk(spec, _hiv_state(spec), _mobility())
                             .undetectable_arrivals.sum()))
    assert np.all(np.diff(results) > 0)


def test_longer_journey_never_lowers_undetectable_arrivals_of_a_window():
    spec = load_model("hiv")
    values = [float(_risk(spec, _hiv_state(spec), _mobility(hours=h)).undetectable_arrivals
                    .sum()) for h in (2, 12, 48)]
    assert values[0] >= values[1] >= values[2]  # people leave the window during the journey


def test_more_travellers_from_a_higher_burden_origin_never_lower_destination_risk():
    spec = load_model("hiv")
    base = _risk(spec, _hiv_state(spec), _mobility())
    flow = _mobility().layers
    bigger = {k: MobilityLayer(v.name, v.flow.tolil(), v.coupling, v.stay_days,
                               travel_time=v.travel_time) for k, v in flow.items()}
    bigger["air"].flow[0, 1] *= 3      # A (20% prevalence) -> B
    bigger = Mobility(("A", "B", "C"), {k: MobilityLayer(v.name, sp.csr_array(v.flow),
                                                         v.coupling, v.stay_days,
                                                         travel_time=v.travel_time)
                                        for k, v in bigger.items()})
    more = _risk(spec, _hiv_state(spec), bigger)
    for name in ("undetectable_arrivals_total", "p_undetectable_infectious_arrival"):
        assert float(more[name].sel(place="B")) > float(base[name].sel(place="B"))
        assert float(more[name].sel(place="C")) == pytest.approx(float(base[name].sel(place="C")))


def test_perfect_arrival_test_leaves_no_detectable_case_missed():
    spec = load_model("hiv")
    perfect = {"perfect": {"screens": [{"stage": "arrival", "test": "hiv_ag_ab",
                                         "sensitivity": 1.0}]}}
    ds = _risk(spec, _hiv_state(spec), _mobility(), policy="perfect", policies=perfect,
               compare=["none", "perfect"])
    missed = ds.missed_arrivals.sel(policy="perfect")
    np.testing.assert_allclose(missed, ds.undetectable_arrivals, rtol=1e-9, atol=1e-9)
    none = ds.missed_arrivals.sel(policy="none")
    np.testing.assert_allclose(none, ds.infected_arrivals, rtol=1e-12)


def test_future_tb_from_latent_arrivals_matches_the_cohort_integral():
    spec = load_model("tb")
    model = compile_model(spec, 1)
    q = model.generator(0)
    rates = np.zeros(len(spec.compartments))
    k = model.tally_names.index("tb_incidence")
    np.add.at(rates, model.tr_source, model.tr_rate[0] * model.tally_tr[:, k])
    events = expected_events(q, rates, 2 * 365.25)
    le = spec.compartment_ids.index("LE")
    # Ragonnet all ages: about 10% of a newly infected cohort activates within 2 years
    assert events[le] == pytest.approx(0.10, abs=0.01)


def test_risk_config_errors_name_the_key():
    spec = load_model("tb")
    problems = []
    parse_risk({"policy": "scan_everyone"}, spec, problems)
    assert any("risk.policy must be one of the policies" in p for p in problems)
    bad = {"x": {"screens": [{"stage": "arrival", "test": "cxr", "sensitivity": 1.5}]}}
    problems = []
    parse_risk({"policies": bad, "policy": "x"}, spec, problems)
    assert any("risk.policies.x.screens[0].sensitivity must be a number in [0, 1]; got 1.5"
               in p for p in problems)
    plain = parse_model(tomllib.loads(
        'name = "plain"\ncompartments = [ { id = "S" }, { id = "I", infectious = 1.0 } ]\n'
        'infections = [ { from = "S", to = "I", rate = "b" } ]\n'
        '[parameters]\nb = { value = 0.1, units = "1/day", source = "test" }\n'))
    problems = []
    parse_risk({}, plain, problems)
    assert any("declares no detectable_by" in p for p in problems)


def test_masks_of_the_tb_hiv_product():
    spec = load_model("tb_hiv")
    m = masks(spec, compile_model(spec), [])
    ids = np.array(spec.compartment_ids)
    # inside the HIV test window or the IGRA conversion window, with no other infection a
    # test would flag
    window = {f"W{i}" for i in range(1, 7)}
    assert set(ids[m["undetectable"]]) == {f"S_{w}" for w in window} | {
        f"LE0_{w}" for w in window | {"N"}}


def test_detected_and_missed_add_up_and_are_never_negative():
    """Caught at departure + caught at arrival + missed = infected travellers; a traveller
    stopped at departure does not arrive (SCIENCE.md check #12 in the chain)."""
    spec = load_model("tb_hiv")
    state = np.zeros((3, len(spec.compartments)))
    rng = np.random.default_rng(5)
    state[:] = rng.dirichlet(np.ones(len(spec.compartments)), size=3) * 1e6
    ds = _risk(spec, state, _mobility(hours=48))
    assert float(ds.detected_arrival.min()) >= 0 and float(ds.detected_departure.min()) >= 0
    none = ds.missed_arrivals_total.sel(policy="none")
    for policy in ds.policy.values:
        total = (ds.detected_departure.sel(policy=policy) + ds.detected_arrival.sel(
            policy=policy) + ds.missed_arrivals_total.sel(policy=policy))
        # equal up to infections that end (deaths, TB recovery) during the 2-day journey
        np.testing.assert_allclose(total, none, rtol=2e-3)
