"""The risk stage: arrivals by measure, programmes as they are run, exact for the chain."""

import tomllib

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.linalg import expm

from healthmob.disease.chains import expected_events, expected_events_by_horizon, propagate
from healthmob.disease.compile import compile_model
from healthmob.disease.parse import load_model, parse_model
from healthmob.engine.binomial import simulate_stochastic
from healthmob.mobility.matrix import Mobility, MobilityLayer
from healthmob.risk.assess import RiskInputs, assess_risk
from healthmob.risk.config import parse_risk
from healthmob.risk.costs import CostsConfig, parse_costs
from healthmob.risk.measures import Masks

PLACES = pd.DataFrame({"id": ["A", "B", "C"], "name": ["A", "B", "C"],
                       "population": [1e6, 2e6, 5e5], "lat": [0.0, 1.0, 2.0],
                       "lon": [0.0, 1.0, 2.0], "tb_incidence_per_100k": [300.0, 5.0, 60.0]})
STAYS = {"air": 7.0, "migration": np.inf}
CATEGORIES = {"air": "visitor", "migration": "settlement"}


def _mobility(scale=1.0, hours=12.0):
    flow = np.array([[0, 1000, 500], [800, 0, 0], [300, 0, 0]], float) * scale / 1000
    tt = np.where(flow > 0, hours / 24, 0.0)
    air = MobilityLayer("air", sp.csr_array(flow), "visiting", 7.0,
                        travel_time=sp.csr_array(tt))
    mig = MobilityLayer("migration", sp.csr_array(flow / 10), "relocation", 1.0,
                        travel_time=sp.csr_array(tt * 4))
    return Mobility(("A", "B", "C"), {"air": air, "migration": mig})


def _state(spec, rng_seed=None, prevalence=(0.2, 0.01, 0.05)):
    """Every infected state equally filled with a place's prevalence (or a random state)."""
    ids = spec.compartment_ids
    if rng_seed is not None:
        rng = np.random.default_rng(rng_seed)
        return rng.dirichlet(np.ones(len(ids)), size=3) * PLACES["population"].to_numpy()[:, None]
    infected = [c for c in ids if c in set(sum((d.infected for d in spec.diseases.values()),
                                               ()))]
    state = np.zeros((3, len(ids)))
    for p, prev in enumerate(prevalence):
        state[p, [ids.index(c) for c in ids if c not in infected]] = (1 - prev) / (
            len(ids) - len(infected))
        state[p, [ids.index(c) for c in infected]] = prev / len(infected)
    return state * PLACES["population"].to_numpy()[:, None]


def _risk(spec, state, mobility, costs=None, **cfg):
    problems = []
    config = parse_risk(cfg, spec, problems)
    assert not problems, problems
    compiled = compile_model(spec, 3)
    return assess_risk(RiskInputs(spec, compiled, state, PLACES, mobility, "test", CATEGORIES,
                                  {}, STAYS, costs or CostsConfig()), config)


def test_uniformization_matches_expm_for_generators_and_subgenerators():
    model = compile_model(load_model("tb_hiv"))
    q = model.generator(0)
    rng = np.random.default_rng(0)
    vectors = rng.dirichlet(np.ones(len(q)), size=3)
    taus = np.array([0.0, 0.3, 1.7, 4.0, 90.0])
    each = np.repeat(vectors, len(taus), axis=0)             # every vector at every time
    times = np.tile(taus, len(vectors))
    expected = np.stack([v @ expm(q * t) for v, t in zip(each, times)])
    np.testing.assert_allclose(propagate(q, each, times), expected, atol=1e-12)
    sub = q[:40, :40]
    np.testing.assert_allclose(propagate(sub, vectors[:, :40], np.full(3, 1.7)),
                               vectors[:, :40] @ expm(sub * 1.7), atol=1e-13)


def test_expected_events_for_several_horizons_are_each_horizons_own():
    model = compile_model(load_model("tb_hiv"))
    q = model.generator(0)
    k = model.tally_names.index("tb_incidence")
    rates = np.zeros(len(q))
    np.add.at(rates, model.tr_source, model.tr_rate[0] * model.tally_tr[:, k])
    for horizons in ((365.25, 730.5, 1826.25, 3652.5), (100.0, 250.0)):
        by_horizon = expected_events_by_horizon(q, rates, horizons)
        for h, days in enumerate(horizons):
            np.testing.assert_allclose(by_horizon[h], expected_events(q, rates, days),
                                       rtol=1e-9, atol=1e-14)


def test_in_window_arrivals_are_the_window_stages_after_the_journey():
    spec = load_model("hiv")
    state = _state(spec)
    ds = _risk(spec, state, _mobility())
    ids = spec.compartment_ids
    window = [ids.index(f"W{i}") for i in range(1, 7)]
    q = compile_model(spec, 3).generator(0)
    p = state[0] / state[0].sum()
    tau = 0.5
    arriving = p @ expm(q * tau)
    staying = p[window] @ expm(q[np.ix_(window, window)] * tau) @ np.ones(6)
    value = float(ds.arrivals.sel(measure="hiv_in_window", origin="A", destination="B",
                                  layer="air"))
    # nobody enters the window during a journey: arriving there = staying there throughout
    assert value == pytest.approx(365.25 * arriving[window].sum(), rel=1e-10)
    assert value == pytest.approx(365.25 * staying, rel=1e-10)


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


def test_a_longer_test_window_or_a_shorter_journey_never_lowers_in_window_arrivals():
    results = []
    for days in (10.0, 19.05, 30.0, 45.0):
        spec = load_model("hiv")
        spec.parameters["dur_window"] = type(spec.parameters["dur_window"])(
            "dur_window", days, "day", "test")
        results.append(float(_risk(spec, _state(spec), _mobility())
                             .arrivals.sel(measure="hiv_in_window").sum()))
    assert np.all(np.diff(results) > 0)
    spec = load_model("hiv")
    values = [float(_risk(spec, _state(spec), _mobility(hours=h)).arrivals
                    .sel(measure="hiv_in_window").sum()) for h in (2, 12, 48)]
    assert values[0] >= values[1] >= values[2]   # people leave the window during the journey


def test_more_travellers_from_a_higher_burden_origin_never_lower_destination_arrivals():
    spec = load_model("hiv")
    base = _risk(spec, _state(spec), _mobility())
    layers = {}
    for name, layer in _mobility().layers.items():
        flow = layer.flow.tolil()
        flow[0, 1] *= 3                          # A (20% prevalence) -> B
        layers[name] = MobilityLayer(layer.name, sp.csr_array(flow), layer.coupling,
                                     layer.stay_days, travel_time=layer.travel_time)
    more = _risk(spec, _state(spec), Mobility(("A", "B", "C"), layers))
    for measure in spec.arrivals:
        into = [ds.arrivals.sel(measure=measure).sum(["origin", "layer"]) for ds in (base, more)]
        assert float(into[1].sel(destination="B")) > float(into[0].sel(destination="B"))
        assert float(into[1].sel(destination="C")) == pytest.approx(
            float(into[0].sel(destination="C")))


def test_a_perfect_arrival_test_finds_everyone_but_the_window():
    spec = load_model("hiv")
    perfect = {"perfect": {"screens": [{"stage": "arrival", "test": "hiv_ag_ab",
                                         "sensitivity": 1.0}]}}
    ds = _risk(spec, _state(spec), _mobility(), policy="perfect", policies=perfect,
               compare=["none", "perfect"])
    found = ds.found.sel(policy="perfect", measure="hiv_infection").sum()
    arrived = ds.arrivals.sel(measure=["hiv_infection", "hiv_in_window"]).sum(
        ["origin", "destination", "layer"])
    assert float(found) == pytest.approx(float(arrived[0] - arrived[1]), rel=1e-10)
    assert float(ds.screened.sel(policy="perfect").sum()) == pytest.approx(
        float(ds.flow.sum()), rel=1e-12)
    assert float(ds.false_positives.sel(policy="perfect").sum()) == 0.0
    assert float(ds.screened.sel(policy="none").sum()) == 0.0


def test_pre_entry_screening_counts_the_eligible_and_keeps_cases_out():
    """pre_entry_cxr: long-stay migrants (not visitors) from origins >= 40 per 100,000
    (A at 300 and C at 60, not B at 5); found = sensitivity x active TB at departure; every
    case found is a case the destination does not get, at every horizon."""
    spec = load_model("tb")
    state = _state(spec, rng_seed=3)
    ds = _risk(spec, state, _mobility(), policy="pre_entry_cxr")
    cxr = ds.sel(policy="pre_entry_cxr")
    migration = ds.flow.sel(layer="migration")
    eligible = migration.sel(origin=["A", "C"]).sum()
    assert float(cxr.screened.sum()) == pytest.approx(float(eligible), rel=1e-12)
    assert float(cxr.screened.sel(origin="B").sum()) == 0.0
    ids = spec.compartment_ids
    active = [ids.index(s) for s in ("A", "AP", "T")]
    share = state[0, active].sum() / state[0].sum()   # no selection weights given: a sample
    assert float(cxr.found.sel(measure="tb_active", origin="A", destination="B")) == \
        pytest.approx(0.87 * share * float(migration.sel(origin="A", destination="B")),
                      rel=1e-10)
    np.testing.assert_allclose(cxr.prevented.sum(["origin", "destination"]),
                               float(cxr.found.sel(measure="tb_active").sum()), rtol=1e-12)
    assert float(cxr.programme_cost.sum()) == pytest.approx(23.24 * float(eligible))


def test_post_entry_ltbi_prevents_what_treatment_stops_within_the_horizon():
    """Cases prevented = uptake x completion x efficacy x the expected activations of the
    people the IGRA finds in latent states, from their state at the screen (3 months after
    arrival, by the origin's own chain)."""
    spec = load_model("tb")
    state = _state(spec, rng_seed=4)
    ds = _risk(spec, state, _mobility(), policy="post_entry_ltbi_150",
               compare=["post_entry_ltbi_150"], horizons_years=[2.0])
    model = compile_model(spec, 3)
    q = model.generator(0)
    p = state[0] / state[0].sum()                     # no selection weights given: a sample
    tau = 2.0                                         # 12 hours x 4 on the migration layer
    later = p @ expm(q * tau) @ expm(q * 365.25 / 4)
    ids = spec.compartment_ids
    latent = [ids.index(c) for c in ("LE0", "LE", "LL")]
    igra = np.array(["igra" in c.detectable_by for c in spec.compartments])
    caught = later * np.where(igra, 0.80, 0.0)
    k = model.tally_names.index("tb_incidence")
    rates = np.zeros(len(ids))
    np.add.at(rates, model.tr_source, model.tr_rate[0] * model.tally_tr[:, k])
    events = expected_events(q, rates, 2 * 365.25)
    flow = float(ds.flow.sel(origin="A", destination="B", layer="migration"))
    expected = 0.64 * 0.69 * 0.47 * (caught[latent] @ events[latent]) * flow
    at = ds.sel(policy="post_entry_ltbi_150", origin="A", destination="B")
    assert float(at.prevented.sel(horizon=2.0)) == pytest.approx(expected, rel=1e-9)
    found = float(at.found.sel(measure="tb_latent"))
    assert found == pytest.approx(caught[latent].sum() * flow, rel=1e-9)
    false = (later * np.where(igra, 0.0, 0.03)).sum() * flow
    assert float(at.false_positives) == pytest.approx(false, rel=1e-9)
    assert float(at.treated) == pytest.approx(0.64 * (found + false), rel=1e-9)
    assert float(ds.screened.sel(origin="C").sum()) == 0.0   # 60 per 100,000 < 150


def test_a_programme_for_another_disease_prevents_no_tb_and_costs_nan_without_a_price():
    spec = load_model("tb_hiv")
    ds = _risk(spec, _state(spec, rng_seed=2), _mobility(), policy="hiv_test_entry",
               compare=["hiv_test_entry", "pre_entry_cxr"])
    hiv = ds.sel(policy="hiv_test_entry")
    screened = hiv.screened.values > 0
    assert screened.any() and np.isnan(hiv.prevented.values[:, screened]).all()
    assert np.isnan(float(hiv.programme_cost.sum(skipna=False)))      # no HIV test price
    assert np.isnan(hiv.found.sel(measure="tb_active")).all()         # HIV tests find HIV
    assert float(hiv.found.sel(measure="hiv_not_on_art").sum()) > 0
    assert list(ds.policy_disease.values) == ["hiv", "tb"]


def test_arrivals_never_sum_diseases_and_measures_add_up():
    spec = load_model("tb_hiv")
    ds = _risk(spec, _state(spec, rng_seed=1), _mobility(hours=48))
    a = ds.arrivals.sum(["origin", "destination", "layer"])
    assert set(ds.measure_disease.values) == {"tb", "hiv"}
    parts = sum(float(a.sel(measure=m)) for m in ("tb_latent_recent", "tb_latent_early",
                                                  "tb_latent_remote"))
    assert parts == pytest.approx(float(a.sel(measure="tb_latent")), rel=1e-12)
    assert float(a.sel(measure="tb_active")) + float(a.sel(measure="tb_latent")) == \
        pytest.approx(float(a.sel(measure="tb_infection")), rel=1e-12)
    assert float(a.sel(measure="hiv_not_on_art")) + float(a.sel(measure="hiv_on_art")) == \
        pytest.approx(float(a.sel(measure="hiv_infection")), rel=1e-12)
    for name in ("screened", "found", "false_positives", "treated", "programme_cost"):
        assert float(ds[name].min(skipna=True)) >= 0, name


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


def test_masks_of_the_tb_hiv_product():
    spec = load_model("tb_hiv")
    m = Masks.of(spec)
    ids = np.array(spec.compartment_ids)
    assert set(ids[m.measures["tb_latent_recent"]]) == {c for c in ids if c.startswith("LE0_")}
    assert set(ids[m.measures["hiv_in_window"]]) == {c for c in ids if "_W" in c}
    assert m.infected["tb"].sum() == 90 and m.infected["hiv"].sum() == 112
    active = {c for c in ids if c.split("_")[0] in ("A", "AP", "T")}
    assert set(ids[m.detectable["tb"]["cxr"]]) == active


def test_risk_config_errors_name_the_key():
    spec = load_model("tb_hiv")
    cases = {
        "unknown policy": ({"policy": "scan_everyone"}, "risk.policy must be one of the "
                           "policies the model 'tb_hiv' can run"),
        "sensitivity": ({"policy": "x", "policies": {"x": {"screens": [
            {"stage": "arrival", "test": "cxr", "sensitivity": 1.5}]}}},
            "risk.policies.x.screens[0].sensitivity must be a number in [0, 1]; got 1.5"),
        "undeclared test": ({"policy": "x", "policies": {"x": {"screens": [
            {"stage": "arrival", "test": "pcr", "sensitivity": 0.9}]}}},
            "tests ['pcr'] are declared by no compartment of model 'tb_hiv', so the policy "
            "would screen nobody"),
        "two diseases": ({"policy": "x", "policies": {"x": {"screens": [
            {"stage": "arrival", "test": "symptoms", "sensitivity": 0.9}]}}},
            "tests of several diseases ['tb', 'hiv']: set risk.policies.x.disease"),
        "test of another disease": ({"policy": "x", "policies": {"x": {"disease": "hiv",
            "screens": [{"stage": "arrival", "test": "cxr", "sensitivity": 0.9}]}}},
            "no compartment of disease 'hiv' of model 'tb_hiv' is detectable_by ['cxr']"),
        "finds another disease": ({"policy": "x", "policies": {"x": {"finds": "hiv_infection",
            "screens": [{"stage": "arrival", "test": "cxr", "sensitivity": 0.9}]}}},
            "risk.policies.x.finds must be an [arrivals] measure of disease 'tb'"),
        "uptake": ({"policy": "x", "policies": {"x": {"treatment_uptake": 1.5, "screens": [
            {"stage": "arrival", "test": "igra", "sensitivity": 0.9}]}}},
            "risk.policies.x.treatment_uptake must be a number in [0, 1]; got 1.5"),
        "stay": ({"policy": "x", "policies": {"x": {"min_stay": "long", "screens": [
            {"stage": "arrival", "test": "igra", "sensitivity": 0.9}]}}},
            "risk.policies.x.min_stay must be a duration"),
        "horizon": ({"horizons_years": [-1]}, "risk.horizons_years"),
    }
    for name, (table, expected) in cases.items():
        problems = []
        parse_risk(table, spec, problems)
        assert any(expected in p for p in problems), (name, problems)
    plain = parse_model(tomllib.loads(
        'name = "plain"\ncompartments = [ { id = "S" }, { id = "I", infectious = 1.0 } ]\n'
        'infections = [ { from = "S", to = "I", rate = "b" } ]\n'
        '[parameters]\nb = { value = 0.1, units = "1/day", source = "test" }\n'))
    problems = []
    parse_risk({}, plain, problems)
    assert any("declares no [arrivals] measures" in p for p in problems)


def test_costs_must_be_numbers_at_least_zero():
    for table, expected in (({"tests": {"cxr": -1}}, "costs.tests.cxr must be a number >= 0"),
                            ({"tests": {"igra": "cheap"}}, "costs.tests.igra must be a number"),
                            ({"preventive_treatment": -5}, "costs.preventive_treatment must "
                                                           "be a number >= 0")):
        problems = []
        parse_costs(table, problems)
        assert any(expected in p for p in problems), problems
