"""The risk stage's uncertainty ensemble: Latin hypercube draws, members, intervals."""

import numpy as np
import pytest
from scipy.stats import triang
from test_risk import CATEGORIES, PLACES, STAYS, _mobility, _state

from healthmob.disease.compile import compile_model
from healthmob.disease.parse import load_model
from healthmob.ensemble.executors import map_calls
from healthmob.risk.assess import RiskInputs, add_intervals, assess_risk, member_inputs
from healthmob.risk.config import parse_risk
from healthmob.risk.costs import CostsConfig
from healthmob.risk.uncertainty import INCIDENCE_STATES, draw, run_member, scale_tb

BOUNDS = PLACES.assign(tb_incidence_per_100k_lo=[200.0, 3.0, 40.0],
                       tb_incidence_per_100k_hi=[420.0, 8.0, 85.0])


def _setup(members=6, focus=("B",)):
    spec = load_model("tb_hiv")
    problems = []
    cfg = parse_risk({"policy": "post_entry_ltbi_150", "uncertainty": {"members": members}},
                     spec, problems)
    assert not problems
    inputs = RiskInputs(spec, compile_model(spec, 3), _state(spec, rng_seed=9), BOUNDS,
                        _mobility(), "test", CATEGORIES, {}, STAYS, CostsConfig(), focus)
    return spec, cfg, inputs


def test_draws_are_reproducible_within_the_declared_ranges():
    spec, cfg, _ = _setup()
    policies = cfg.compared()
    a = draw(spec, BOUNDS, policies, {"beta", "detection"}, 50, seed=11)
    b = draw(spec, BOUNDS, policies, {"beta", "detection"}, 50, seed=11)
    c = draw(spec, BOUNDS, policies, {"beta", "detection"}, 50, seed=12)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)
    assert "beta" not in a.names and "detection" not in a.names
    assert "late_reactivation" in a.names and "migrant_ltbi_ratio" in a.names
    for k, name in enumerate(a.names):
        p = spec.parameters[name]
        low, high = (p.base_value * v / p.value for v in p.range)
        values = a.values[:, k]
        assert np.all((values >= low * (1 - 1e-12)) & (values <= high * (1 + 1e-12))), name
        # Latin hypercube: one draw in each of 50 equal-probability strata of the triangle
        c = (p.base_value - low) / (high - low)
        u = triang.cdf(a.values[:, k], c, loc=low, scale=high - low)
        assert sorted(np.floor(u * 50 - 1e-9).astype(int)) == list(range(50)), name
    factor = a.incidence_factor
    np.testing.assert_array_less(factor[:, 0], 420 / 300 + 1e-12)
    np.testing.assert_array_less(200 / 300 - 1e-12, factor[:, 0])
    j = [p.name for p in policies].index("post_entry_ltbi_150")
    assert np.all((a.efficacy[:, j] >= 0.22) & (a.efficacy[:, j] <= 0.64))


def test_scaling_tb_incidence_keeps_the_population():
    spec = load_model("tb_hiv")
    state = _state(spec, rng_seed=5)
    scaled = scale_tb(spec, state, np.array([1.3, 0.7, 1.0]))
    np.testing.assert_allclose(scaled.sum(axis=1), state.sum(axis=1), rtol=1e-12)
    moved = np.isin(spec.compartment_ids, [c for m in INCIDENCE_STATES
                                           for c in spec.arrivals[m].states])
    np.testing.assert_allclose(scaled[:, moved].sum(axis=1),
                               state[:, moved].sum(axis=1) * [1.3, 0.7, 1.0], rtol=1e-12)
    assert scaled.min() >= 0


def test_members_are_the_same_on_any_executor_and_intervals_bracket_them():
    spec, cfg, inputs = _setup(members=4)
    shared = member_inputs(inputs, cfg, {"detection"}, seed=3)
    serial = map_calls(run_member, 4, shared, "serial")
    local = map_calls(run_member, 4, shared, "local", workers=2)
    for a, b in zip(serial, local):           # bitwise, NaN where a cost is missing
        np.testing.assert_equal(a["total"], b["total"])
        np.testing.assert_equal(a["programme"], b["programme"])
        np.testing.assert_equal(a["origins"], b["origins"])
    ds = add_intervals(assess_risk(inputs, cfg), serial, shared.draws)
    total = ds.interval_total.sel(statistic_total="tb_active_new_residents").values
    members = [s["total"]["tb_active_new_residents"] for s in serial]
    assert total[0] <= total[1] <= total[2]
    assert total[0] == pytest.approx(np.quantile(members, 0.025))
    assert ds.attrs["uncertainty_members"] == 4
    row = ds.interval_programme.sel(policy="post_entry_ltbi_150",
                                    statistic_programme="yield_per_100k").values
    assert row[0] <= row[1] <= row[2] and row[0] > 0
