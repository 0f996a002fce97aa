"""Stochastic engine, member seeding, ensemble config and cluster scripts (issue #5)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from healthmob.disease.compile import compile_model
from healthmob.disease.parse import load_model
from healthmob.engine.binomial import _Force, simulate_stochastic
from healthmob.engine.config import SolverConfig
from healthmob.engine.coupling import Coupling
from healthmob.engine.seeds import stream
from healthmob.ensemble.config import parse_cluster, parse_ensemble, parse_sweep
from healthmob.ensemble.executors import render_cluster_script
from healthmob.ensemble.members import compute_member
from healthmob.ensemble.plan import EnsemblePlan, Labels, integer_state, sweep_scenarios
from healthmob.errors import RunError
from healthmob.mobility.matrix import Mobility, MobilityLayer

N_PLACES = 4


def _coupling(relocation, visiting, stay, population):
    ids = tuple(f"P{i}" for i in range(len(population)))
    for matrix in (relocation, visiting):
        np.fill_diagonal(matrix, 0.0)
    mobility = Mobility(ids, {
        "migration": MobilityLayer("migration", sp.csr_array(relocation), "relocation"),
        "air": MobilityLayer("air", sp.csr_array(visiting), "visiting", stay_days=stay)})
    return Coupling.from_mobility(mobility, np.asarray(population, dtype=float))


def _seir_start(population, seeded=0, infectious=100):
    x0 = np.zeros((len(population), 4), dtype=np.int64)
    x0[:, 0] = population
    x0[seeded, 0] -= infectious
    x0[seeded, 2] = infectious
    return x0


flows = arrays(np.float64, (N_PLACES, N_PLACES), elements=st.floats(0, 5e4))


@settings(max_examples=20, deadline=None)
@given(relocation=flows, visiting=flows, stay=st.floats(0.5, 30),
       population=arrays(np.int64, N_PLACES, elements=st.integers(1_000, 2_000_000)),
       seed=st.integers(0, 2**32))
def test_people_are_whole_never_negative_and_conserved_exactly(relocation, visiting, stay,
                                                               population, seed):
    """the science brief check #2 for the stochastic engine: exact, not approximate."""
    model = compile_model(load_model("seir"), N_PLACES)
    coupling = _coupling(relocation, visiting, stay, population)
    x0 = _seir_start(population, infectious=min(100, int(population[0])))
    trajectory = simulate_stochastic(model, x0, np.arange(0.0, 91.0, 10.0), coupling,
                                     np.random.default_rng(seed))
    assert trajectory.state.dtype == np.int64
    assert trajectory.state.min() >= 0
    assert (trajectory.state.sum(axis=(1, 2)) == population.sum()).all()


def test_births_replacing_deaths_keep_every_place_constant():
    model = compile_model(load_model("tb"), 3)
    x0 = np.zeros((3, model.n_compartments), dtype=np.int64)
    x0[:, 0] = [50_000, 80_000, 20_000]
    x0[:, model.compartments.index("A")] = 500
    trajectory = simulate_stochastic(model, x0, np.arange(0.0, 3651.0, 365.0), None,
                                     np.random.default_rng(1), dt=5.0)
    np.testing.assert_array_equal(trajectory.state.sum(axis=2), np.broadcast_to(
        x0.sum(axis=1), trajectory.state.shape[:2]))
    assert trajectory.tally_rates[1:, :, model.tally_names.index("tb_deaths")].sum() > 0


def test_same_stream_same_numbers_other_stream_other_numbers():
    model = compile_model(load_model("seir"), N_PLACES)
    population = np.array([100_000, 50_000, 70_000, 20_000])
    coupling = _coupling(np.full((4, 4), 500.0), np.full((4, 4), 2_000.0), 1.0, population)
    x0 = _seir_start(population)
    times = np.arange(0.0, 61.0)
    runs = [simulate_stochastic(model, x0, times, coupling, np.random.default_rng(s))
            for s in (7, 7, 8)]
    np.testing.assert_array_equal(runs[0].state, runs[1].state)
    np.testing.assert_array_equal(runs[0].tally_rates, runs[1].tally_rates)
    assert not np.array_equal(runs[0].state, runs[2].state)


def test_fast_force_equals_the_coupling_force():
    rng = np.random.default_rng(3)
    population = rng.integers(10_000, 1_000_000, 6)
    coupling = _coupling(rng.uniform(0, 1e3, (6, 6)), rng.uniform(0, 1e4, (6, 6)), 4.0,
                         population)
    for name in ("sir", "seir", "tb"):
        model = compile_model(load_model(name), 6)
        x = rng.integers(0, 100_000, (6, model.n_compartments))
        np.testing.assert_allclose(_Force(model, coupling)(np.ascontiguousarray(x.T)).T,
                                   coupling.force(model, x), rtol=1e-12, atol=0)


def test_exits_follow_the_exponential_probability_and_tallies_count_them():
    """One step of E -> I: binomial(E, 1 - exp(-h dt)) per place, averaged over places."""
    n_places = 2_000
    model = compile_model(load_model("seir"), n_places)
    x0 = np.zeros((n_places, 4), dtype=np.int64)
    x0[:, 1] = 1_000
    dt = 2.0
    trajectory = simulate_stochastic(model, x0, np.array([0.0, dt]), None,
                                     np.random.default_rng(11), dt=dt)
    moved = trajectory.state[1, :, 2]
    p = 1 - np.exp(-0.2 * dt)
    expected_sd = np.sqrt(1_000 * p * (1 - p) / n_places)
    assert abs(moved.mean() - 1_000 * p) < 4 * expected_sd
    # tally: events in the interval / its length (persons/day)
    onset = trajectory.tally_rates[1, :, model.tally_names.index("onset")]
    np.testing.assert_array_equal(onset * dt, moved)
    # the first output holds the expected rate at the start
    np.testing.assert_allclose(trajectory.tally_rates[0, :, model.tally_names.index("onset")],
                               200.0)


def test_competing_exits_split_in_proportion_to_their_rates():
    """TB active cases leave by cure, TB death or background death: a multinomial split."""
    n_places = 500
    model = compile_model(load_model("tb"), n_places)
    active = model.compartments.index("A")
    x0 = np.zeros((n_places, model.n_compartments), dtype=np.int64)
    x0[:, active] = 10_000
    trajectory = simulate_stochastic(model, x0, np.array([0.0, 365.0]), None,
                                     np.random.default_rng(5), dt=365.0)
    leaving = model.tr_source == active
    rates = model.tr_rate[0, leaving]
    p_leave = 1 - np.exp(-rates.sum() * 365.0)
    left = 10_000 - trajectory.state[1, :, active] + 0  # births refill S, not A
    assert abs(left.mean() / 10_000 - p_leave) < 0.002
    deaths = trajectory.tally_rates[1, :, model.tally_names.index("tb_deaths")] * 365.0
    tb_share = model.tr_rate[0][leaving & (model.tr_target < 0)][0] / rates.sum()
    assert abs(deaths.sum() / left.sum() - tb_share) < 0.005


def test_relocation_sends_people_in_proportion_to_the_flows():
    model = compile_model(load_model("sir"), 3, {"beta": 0.0})
    population = np.array([1_000_000, 1, 1])
    relocation = np.array([[0, 3_000.0, 1_000.0], [0, 0, 0], [0, 0, 0]])
    coupling = _coupling(relocation, np.zeros((3, 3)), 1.0, population)
    x0 = np.zeros((3, 3), dtype=np.int64)
    x0[:, 0] = population
    trajectory = simulate_stochastic(model, x0, np.array([0.0, 10.0]), coupling,
                                     np.random.default_rng(2))
    arrived = trajectory.state[1, 1:, 0] - 1
    assert arrived.sum() == pytest.approx(40_000, rel=0.03)  # 4,000 per day minus depletion
    assert arrived[0] / arrived[1] == pytest.approx(3.0, rel=0.05)
    assert trajectory.state[1].sum() == population.sum()


def test_output_times_off_the_step_grid_are_reached_exactly():
    model = compile_model(load_model("sir"), 1)
    trajectory = simulate_stochastic(model, np.array([[990, 10, 0]]),
                                     np.array([0.0, 2.5, 3.0, 10.0]), None,
                                     np.random.default_rng(0), dt=1.0)
    assert trajectory.n_evaluations == 3 + 1 + 7
    assert trajectory.state.sum(axis=(1, 2)).tolist() == [1000] * 4


@pytest.mark.parametrize("x0, match", [([[-1, 2, 0]], "non-negative whole"),
                                       ([[0.5, 2, 0]], "non-negative whole"),
                                       ([[1, 2]], "shape")])
def test_bad_initial_states_are_refused(x0, match):
    model = compile_model(load_model("sir"), 1)
    with pytest.raises(RunError, match=match):
        simulate_stochastic(model, np.array(x0), np.array([0.0, 1.0]))


def test_integer_state_keeps_each_place_total():
    x = np.array([[333.4, 333.3, 333.3], [0.5, 0.5, 99.0], [10.0, 0.0, 0.0]])
    counts = integer_state(x)
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts.sum(axis=1), np.rint(x.sum(axis=1)))
    assert np.abs(counts - x).max() < 1


def test_member_seed_is_the_spawned_child_and_ignores_ensemble_size():
    child = np.random.SeedSequence(42).spawn(3)[2].spawn(10)[7]
    assert stream(42, 2, 7).generate_state(4).tolist() == child.generate_state(4).tolist()
    # the member's numbers do not depend on how many members or scenarios there are
    spec = load_model("sir")
    x0 = np.array([[9_900, 100, 0]])
    plans = [EnsemblePlan(spec=spec, x0=x0, coupling=Coupling.none(1),
                          times=np.arange(0.0, 31.0), members=n, seed=42,
                          scenarios=({},) * s) for n, s in ((8, 3), (20, 5))]
    a, b = (compute_member(p, 2, 7) for p in plans)
    np.testing.assert_array_equal(a.state, b.state)
    assert not np.array_equal(a.state, compute_member(plans[0], 2, 6).state)


def test_ensemble_config_defaults_and_problems():
    problems = []
    config = parse_ensemble({}, None, 9, problems)
    assert problems == []
    assert config.members == 10 and config.seed == 9 and config.executor == "serial"
    parse_ensemble({"members": 0, "executor": "mpi", "membres": 3, "step": "soon",
                    "quantiles": [2]}, None, 0, problems)
    text = " | ".join(problems)
    assert "ensemble.members must be an integer >= 1; got 0" in text
    assert "ensemble.executor must be one of ['serial', 'local', 'cluster']; got 'mpi'" in text
    assert "ensemble.membres is not a known key; valid keys: [" in text and "'members'" in text
    assert "ensemble.step must be" in text
    assert "ensemble.quantiles must be" in text


def test_sweep_config_is_checked_against_the_model():
    spec = load_model("sir")
    problems = []
    parse_ensemble({"sweep": {"method": "lhs", "parameters": {
        "beta": {"min": 0.1, "max": 0.5}, "gamma": [1.0]}}}, spec, 0, problems)
    text = " | ".join(problems)
    assert "ensemble.sweep.samples must be an integer >= 1" in text
    assert "ensemble.sweep.parameters.gamma is not a known parameter; valid parameters:" in text
    problems = []
    parse_ensemble({"sweep": {"parameters": {"recovery": {"values": [1], "units": "day"}}}},
                   spec, 0, problems)
    assert any("units must be compatible" in p for p in problems)


def _sweep(table: dict, spec):
    problems = []
    sweep = parse_sweep(table, spec, problems)
    assert problems == []
    return sweep


def test_grid_and_latin_hypercube_sweeps():
    spec = load_model("sir")
    grid, labels = sweep_scenarios(_sweep({"method": "grid", "parameters": {
        "beta": [0.2, 0.4], "recovery": {"values": [1, 2, 4], "units": "1/week"}}}, spec),
        spec, 0)
    assert len(grid) == 6
    assert grid[1] == {"beta": 0.2, "recovery": pytest.approx(2 / 7)}
    assert labels["recovery"] == ([1.0, 2.0, 4.0, 1.0, 2.0, 4.0], "week-1")
    sweep = _sweep({"method": "lhs", "samples": 8,
                    "parameters": {"beta": {"min": 0.1, "max": 0.5}}}, spec)
    lhs, _ = sweep_scenarios(sweep, spec, 3)
    values = np.sort([s["beta"] for s in lhs])
    assert len(values) == 8 and 0.1 <= values.min() and values.max() <= 0.5
    # one value in each of the 8 strata: the Latin hypercube property
    assert sorted(np.floor((values - 0.1) / 0.05).astype(int).tolist()) == list(range(8))
    assert sweep_scenarios(sweep, spec, 3)[0] == lhs
    assert sweep_scenarios(sweep, spec, 4)[0] != lhs
    problems = []
    parse_sweep({"method": "grid", "parameters": {"nope": [1]}}, spec, problems)
    assert any("not a known parameter" in p for p in problems)


def test_cluster_config_defaults_and_problems():
    problems = []
    assert parse_cluster({}, problems) is None and problems == []
    cluster = parse_cluster({"kind": "slurm"}, problems)
    assert problems == [] and cluster.host == "127.0.0.1" and cluster.jobs == 1
    parse_cluster({"kind": "lsf", "cores": "8", "queues": "x"}, problems)
    text = " | ".join(problems)
    assert "cluster.kind must be one of ['slurm', 'pbs']; got 'lsf'" in text
    assert "cluster.cores must be an integer >= 1; got '8'" in text
    assert "cluster.queues is not a known key" in text
    problems = []
    parse_cluster({"queue": "long"}, problems)
    assert problems == ["cluster.kind is required"]


@pytest.mark.parametrize("kind, directive", [("slurm", "#SBATCH"), ("pbs", "#PBS")])
def test_cluster_job_scripts_render_without_the_batch_system(kind, directive):
    problems = []
    cluster = parse_cluster(
        {"kind": kind, "queue": "normal", "cores": 4, "memory": "8GB", "walltime": "02:00:00",
         "jobs": 3, "account": "proj42", "job_script_prologue": ["module load python"]},
        problems)
    assert problems == []
    script = render_cluster_script(cluster, python="/opt/venv/bin/python")
    assert script.startswith("#!")
    assert directive in script and "normal" in script and "02:00:00" in script
    assert "proj42" in script
    assert "export OMP_NUM_THREADS=1" in script and "module load python" in script
    assert "/opt/venv/bin/python -m distributed.cli.dask_worker tcp://127.0.0.1:8786" in script
    assert "--nthreads 1" in script and "--nworkers 4" in script


def test_a_deterministic_grid_sweep_gives_each_scenario_its_final_size(tmp_path):
    """A sweep runs one member per scenario with the deterministic engine (check #1)."""
    from healthmob.ensemble.run import execute_plan
    from healthmob.store.rundir import RunDirectory

    spec = load_model("sir")
    scenarios, labels = sweep_scenarios(
        _sweep({"method": "grid", "parameters": {"beta": [0.375, 0.5, 0.625]}}, spec), spec, 0)
    plan = EnsemblePlan(spec=spec, x0=np.array([[1e7 - 10, 10, 0]]), coupling=Coupling.none(1),
                        times=np.array([0.0, 3000.0]), engine="deterministic",
                        scenarios=scenarios, labels=Labels(sweep=labels),
                        solver=SolverConfig(rtol=1e-9))
    folder = RunDirectory(tmp_path, "sweep", "run", 0, [])
    with execute_plan(plan, folder) as ds:
        final = ds.population.sel(compartment="R").isel(time=-1, member=0, place=0) / 1e7
        np.testing.assert_allclose(final.values, [0.5828, 0.7968, 0.8926], atol=2e-4)
        np.testing.assert_allclose(ds.sweep_beta.values, [0.375, 0.5, 0.625])
        assert ds.sweep_beta.attrs["units"] == "day-1"
        assert "population_quantile" not in ds  # one member: no quantiles
    folder.finish("complete")
