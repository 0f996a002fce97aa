"""Network module: spec -> epydemic mapping, generators, seeding, fitting helpers, config."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
import xarray as xr

from healthmob.disease.compile import compile_model
from healthmob.disease.parse import load_model, parse_model
from healthmob.disease.reproduction import basic_reproduction_number
from healthmob.errors import ConfigError, ModelSpecError
from healthmob.network import fit as netfit
from healthmob.network import generators as netgen
from healthmob.network import process as network
from healthmob.network.config import load_network_config, parse_network
from healthmob.network.fit import per_contact_rates
from healthmob.network.process import SpecModel, run_network_member
from healthmob.network.run import (
    calibrate_transmission,
    initial_state,
    member_seeds,
    run_network,
    run_network_ensembles,
    transmission_parameter,
)
from healthmob.schema import check_dataset

# A small HIV-like staged model: acute -> two chronic stages -> AIDS -> death, ART from any
# stage, background deaths from every compartment, deaths replaced by births.
STAGED = """
name = "staged"
compartments = [
  { id = "S", long_name = "susceptible" },
  { id = "A", long_name = "acute", infectious = 10.0 },
  { id = "C1", long_name = "chronic 1", infectious = 1.0 },
  { id = "C2", long_name = "chronic 2", infectious = 1.0 },
  { id = "D", long_name = "AIDS" },
  { id = "T", long_name = "on ART", infectious = 0.05 },
]
transitions = [
  { from = "A", to = "C1", rate = "1/dur_acute" },
  { from = "C1", to = "C2", rate = "2 * 1/dur_chronic" },
  { from = "C2", to = "D", rate = "2 * 1/dur_chronic" },
  { from = "D", to = "death", rate = "1/dur_aids", tally = "deaths" },
  { from = "C1", to = "T", rate = "art" },
  { from = "C2", to = "T", rate = "art" },
  { from = "*", to = "death", rate = "mu" },
]
infections = [
  { from = "S", to = "A", rate = "beta", tally = "incidence" },
]
births = { to = "S", replace_deaths = true }
tallies = { incidence = "new infections", deaths = "AIDS deaths" }

[parameters]
beta = { value = 0.8, units = "1/year", source = "test" }
dur_acute = { value = 3.0, units = "month", source = "test" }
dur_chronic = { value = 8.0, units = "year", source = "test" }
dur_aids = { value = 1.0, units = "year", source = "test" }
art = { value = 0.2, units = "1/year", source = "test" }
mu = { value = 0.02, units = "1/year", source = "test" }
"""


@pytest.fixture(scope="module")
def staged():
    return parse_model(tomllib.loads(STAGED), "staged")


def _events(spec, per_contact):
    model = compile_model(spec)
    process = SpecModel(model, per_contact, initial_state(spec, 10, 1), np.array([0.0, 1.0]))
    return process, process.event_table()


# ---------- spec -> epydemic mapping ----------

def test_sir_maps_to_one_node_event_and_one_edge_event():
    spec = load_model("sir")
    model = compile_model(spec)
    rates = per_contact_rates(model, mean_degree=20.0)
    assert rates[0] == pytest.approx(0.5 / 20)
    process, table = _events(spec, rates)
    assert [(kind, locus, source, target) for kind, locus, _, source, target, _ in table] == [
        ("node", "node:I", "I", "R"), ("edge", "edge:0:1", "S", "I")]
    assert table[0][2] == pytest.approx(0.25) and table[1][2] == pytest.approx(0.025)
    assert process.compartment_ids == ["S", "I", "R"]  # no deaths: no "dead"


def test_contact_scaling_none_reads_beta_per_contact():
    model = compile_model(load_model("sir"))
    assert per_contact_rates(model, 20.0, "none")[0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="contact_scaling"):
        per_contact_rates(model, 20.0, "degree")


def test_seir_maps_latency_and_recovery_to_node_events():
    _, table = _events(load_model("seir"), [0.05])
    nodes = {(s, t): rate for kind, _, rate, s, t, _ in table if kind == "node"}
    assert nodes == {("E", "I"): pytest.approx(0.2), ("I", "R"): pytest.approx(0.2)}
    assert [row[1] for row in table if row[0] == "edge"] == ["edge:0:1"]


def test_staged_model_maps_stages_weights_and_deaths(staged):
    tau = 0.01
    process, table = _events(staged, [tau])
    values = staged.base_values()
    edges = {locus: (rate, what[2]) for kind, locus, rate, _, _, what in table
             if kind == "edge"}
    # compartments of equal weight share one edge locus; weight 0 (AIDS) has none
    assert edges == {"edge:0:0.05": (pytest.approx(tau * 0.05), frozenset({"T"})),
                     "edge:0:1": (pytest.approx(tau), frozenset({"C1", "C2"})),
                     "edge:0:10": (pytest.approx(tau * 10), frozenset({"A"}))}
    nodes = [(s, t, rate) for kind, _, rate, s, t, _ in table if kind == "node"]
    # AIDS deaths and background deaths are replaced by newborns in S (same node, same
    # contacts); a background death in S changes nothing and is left out
    assert ("D", "S", pytest.approx(1 / values["dur_aids"] + 0.0)) in nodes
    assert ("C1", "C2", pytest.approx(2 / values["dur_chronic"])) in nodes
    assert ("A", "S", pytest.approx(values["mu"])) in nodes
    assert not [n for n in nodes if n[0] == "S"]
    assert process.compartment_ids == list(staged.compartment_ids)


def test_deaths_without_births_go_to_dead(staged):
    table = tomllib.loads(STAGED)
    del table["births"]
    spec = parse_model(table, "staged-no-births")
    process, rows = _events(spec, [0.01])
    assert process.compartment_ids[-1] == "dead"
    assert ("D", "dead") in {(s, t) for _, _, _, s, t, _ in rows}
    times = np.linspace(0, 3650, 11)
    params = {"type": "erdos_renyi", "mean_degree": 6.0, "n_nodes": 300, "times": times,
              "x0": initial_state(spec, 300, 30), "overrides": {"beta": 2.0 / 365.25}}
    result = run_network_member(spec, params, np.random.SeedSequence(1))
    assert result["compartments"][-1] == "dead"
    assert np.all(result["state"].sum(axis=1) == 300)
    assert result["state"][-1, -1] > 0  # people died


def test_shipped_hiv_model_runs_on_a_network():
    spec = load_model("hiv")
    process, table = _events(spec, [1e-3])
    edges = {locus: sorted(what[2]) for kind, locus, _, _, _, what in table if kind == "edge"}
    assert edges == {"edge:0:0.04": ["ART"], "edge:0:1": ["C1", "C2", "C3", "C4"],
                     "edge:0:7": ["L"],
                     "edge:0:26": ["AC", "W1", "W2", "W3", "W4", "W5", "W6"]}
    assert "dead" not in process.compartment_ids  # deaths are replaced by births
    n = 300
    params = {"type": "household", "household_size": 3.0, "community_degree": 2.0,
              "n_nodes": n, "times": np.linspace(0.0, 5 * 365.25, 61),
              "x0": initial_state(spec, n, 15),
              "overrides": {"beta_hiv": 2.0 / 365.25, "art_initiation": 0.5 / 365.25}}
    result = run_network_member(spec, params, np.random.SeedSequence(3))
    assert np.all(result["state"].sum(axis=1) == n)
    assert result["state"][-1, spec.compartment_ids.index("ART")] > 0


def test_self_infection_is_refused():
    spec = load_model("sir")
    table = {"name": "sis-like", "compartments": [{"id": "S"}, {"id": "I", "infectious": 1.0}],
             "transitions": [{"from": "I", "to": "S", "rate": "g"}],
             "infections": [{"from": "I", "to": "S", "rate": "b", "sources": {"I": 1.0}}],
             "parameters": {"g": {"value": 0.1, "units": "1/day", "source": "t"},
                            "b": {"value": 0.1, "units": "1/day", "source": "t"}}}
    del spec
    with pytest.raises(ModelSpecError, match="own infectious compartment"):
        _events(parse_model(table, "t"), [0.1])


def test_staged_member_conserves_nodes_and_counts_events(staged):
    n = 400
    times = np.linspace(0.0, 20 * 365.25, 21)
    params = {"type": "erdos_renyi", "mean_degree": 8.0, "n_nodes": n, "times": times,
              "x0": initial_state(staged, n, 20), "overrides": {"beta": 3.0 / 365.25}}
    result = run_network_member(staged, params, np.random.SeedSequence(4))
    state, cumulative = result["state"], result["cumulative"]
    assert state.shape == (21, 6) and np.all(state >= 0)
    assert np.all(state.sum(axis=1) == n)  # deaths are replaced: constant population
    assert np.all(np.diff(cumulative, axis=0) >= 0)
    incidence = compile_model(staged).tally_names.index("incidence")
    assert np.array_equal(cumulative[:, 0], cumulative[:, 1 + incidence])
    assert cumulative[-1, 0] > 20  # the infection spread
    assert result["events"] > cumulative[-1, 0]


# ---------- generators ----------

def test_erdos_renyi_degrees_are_poisson():
    rng = np.random.default_rng(1)
    edges = netgen.erdos_renyi_edges(5000, 12.0, rng)
    assert np.all(edges[:, 0] < edges[:, 1])
    assert len(np.unique(edges[:, 0] * 5000 + edges[:, 1])) == len(edges)
    k = netgen.degrees_of(edges, 5000)
    assert k.mean() == pytest.approx(12.0, rel=0.02)
    assert k.var() == pytest.approx(12.0, rel=0.08)  # Poisson: variance = mean
    dense = netgen.erdos_renyi_edges(300, 250.0, rng)  # the dense branch
    assert netgen.degrees_of(dense, 300).mean() == pytest.approx(250.0, rel=0.01)


def test_power_law_configuration_network_degrees():
    rng = np.random.default_rng(2)
    n = 20_000
    degrees = netgen.power_law_degrees(n, 2.5, 0.0, 2, 200, rng)
    assert degrees.min() == 2 and degrees.max() <= 200 and degrees.sum() % 2 == 0
    ks = np.arange(2, 201)
    p = ks ** -2.5 / (ks ** -2.5).sum()
    assert degrees.mean() == pytest.approx((ks * p).sum(), rel=0.03)
    assert np.mean(degrees == 2) == pytest.approx(p[0], abs=0.01)
    edges = netgen.configuration_edges(degrees, rng)
    assert np.all(edges[:, 0] < edges[:, 1])  # no self-loops
    realised = netgen.degrees_of(edges, n)
    assert realised.sum() > 0.99 * degrees.sum()  # erasing loops and repeats loses < 1%
    stats = netgen.degree_statistics(edges, n)
    assert stats["mean_excess_degree"] > 2 * stats["mean_degree"]  # heavy tail


def test_household_network_has_cliques_and_community_contacts():
    rng = np.random.default_rng(3)
    n = 6000
    edges, household = netgen.household_edges(n, 4.0, 3.0, rng)
    sizes = np.bincount(household)
    assert household.size == n and sizes.min() >= 1
    assert sizes[:-1].mean() == pytest.approx(4.0, rel=0.05)
    same = household[edges[:, 0]] == household[edges[:, 1]]
    assert same.sum() == int((sizes * (sizes - 1) // 2).sum())  # every household a clique
    community = netgen.degrees_of(edges[~same], n)
    assert community.mean() == pytest.approx(3.0, rel=0.05)


def test_generate_edges_dispatches_and_refuses_unknown_types():
    rng = np.random.default_rng(0)
    for kind, params in netgen.NETWORK_TYPES.items():
        assert len(netgen.generate_edges(kind, 500, params, rng)) > 0
    with pytest.raises(ValueError, match="network type"):
        netgen.generate_edges("lattice", 10, {}, rng)


# ---------- seeding ----------

def _sir_params(n=500):
    spec = load_model("sir")
    return spec, {"type": "configuration", "exponent": 2.5, "cutoff": 50.0, "k_min": 2,
                  "k_max": 0, "n_nodes": n, "times": np.arange(0.0, 61.0, 1.0),
                  "x0": initial_state(spec, n, 5)}


def test_same_seed_same_result_whatever_the_order():
    spec, params = _sir_params()
    seeds = member_seeds(42, 1, 3)
    first = [run_network_member(spec, params, s) for s in seeds]
    alone = run_network_member(spec, params, member_seeds(42, 1, 5)[2])  # more members
    again = run_network_member(spec, params, seeds[2])
    for other in (alone, again):
        assert np.array_equal(first[2]["state"], other["state"])
        assert np.array_equal(first[2]["cumulative"], other["cumulative"])
    assert not np.array_equal(first[0]["state"], first[1]["state"])
    assert seeds[0].spawn_key == (1, 0)


def test_member_leaves_global_random_state_alone():
    spec, params = _sir_params(200)
    rng = network.epydemic.rng
    before = rng.bit_generator.state
    run_network_member(spec, params, np.random.SeedSequence(9))
    assert rng.bit_generator.state == before


def test_maximum_time_is_respected():
    spec, params = _sir_params(300)
    params = {**params, "times": np.array([0.0, 0.5, 1.0])}
    result = run_network_member(spec, params, np.random.SeedSequence(1))
    assert result["state"].shape == (3, 3)
    assert np.all(result["state"].sum(axis=1) == 300)
    assert result["state"][-1, 1] > 0  # stopped at one day, the epidemic still running


# ---------- fitting helpers ----------

def test_transmissibility_of_sir_seir_and_a_staged_chain(staged):
    sir = compile_model(load_model("sir"))
    assert netfit.transmissibility(sir, 0.1) == pytest.approx(0.1 / 0.35)
    seir = compile_model(load_model("seir"))
    assert netfit.transmissibility(seir, 0.1) == pytest.approx(0.1 / 0.3)
    model = compile_model(staged)
    v = staged.base_values()
    tau = 0.002
    a, mu = 1 / v["dur_acute"], v["mu"]
    c, art, d = 2 / v["dur_chronic"], v["art"], 1 / v["dur_aids"]
    r_a, r_c, r_t = tau * 10.0, tau, tau * 0.05
    # P(no transmission) along the chain, stage by stage
    miss_t = mu / (mu + r_t)
    miss_d = 1.0
    miss_c2 = (c * miss_d + art * miss_t + mu) / (c + art + mu + r_c)
    miss_c1 = (c * miss_c2 + art * miss_t + mu) / (c + art + mu + r_c)
    miss_a = (a * miss_c1 + mu) / (a + mu + r_a)
    del d
    assert netfit.transmissibility(model, tau) == pytest.approx(1 - miss_a, rel=1e-10)


def test_generating_function_final_size_of_poisson_degrees_is_the_mean_field_one():
    rng = np.random.default_rng(5)
    degrees = rng.poisson(40.0, 200_000)
    t = 2.0 / 40.0  # R0 = T <k> = 2
    z = netfit.network_final_size(degrees, t)
    assert z == pytest.approx(0.7968, abs=0.003)
    assert netfit.network_r0(degrees, t) == pytest.approx(2.0, rel=0.01)
    assert netfit.network_final_size(degrees, 0.01) == pytest.approx(0.0, abs=1e-6)
    assert netfit.network_final_size(degrees, 0.01, 0.05) > 0.05


def test_growth_rate_and_r0_of_sir_and_seir():
    sir = compile_model(load_model("sir"))
    assert netfit.growth_rate(sir) == pytest.approx(0.25)
    assert basic_reproduction_number(sir) == pytest.approx(2.0)
    seir = compile_model(load_model("seir"))
    r = netfit.growth_rate(seir)
    assert (r + 0.2) * (r + 0.2) == pytest.approx(0.2 * 0.5)  # (r + sigma)(r + gamma) = sigma b
    assert basic_reproduction_number(seir) == pytest.approx(2.5)
    assert netfit.scale_for_growth(sir, 0.5) == pytest.approx(1.5)
    assert np.isnan(netfit.scale_for_growth(sir, -1.0))


def test_attack_fraction_and_its_inverse():
    sir = compile_model(load_model("sir"))
    x0 = np.array([999_999.0, 1.0, 0.0])
    assert netfit.attack_fraction(sir, x0, 400.0) == pytest.approx(0.7968, abs=1e-3)
    scale = netfit.scale_for_attack(sir, x0, 400.0, 0.5828)  # R0 = 1.5
    assert scale == pytest.approx(0.75, rel=2e-3)


def test_peak_time_and_growth_fit_read_curves():
    t = np.linspace(0, 20, 81)
    assert netfit.peak_time(t, 100 - (t - 7.3) ** 2) == pytest.approx(7.3)
    curve = 5 * np.exp(0.3 * t)
    assert netfit.fit_growth_rate(t, curve, curve, 1000, (0.01, 0.5)) == pytest.approx(0.3)
    assert np.isnan(netfit.fit_growth_rate(t, curve, curve, 1e9, (0.01, 0.5)))


# ---------- config, outputs, calibration ----------

def test_validate_fills_defaults_and_names_every_problem():
    problems = []
    config = parse_network({"model": "sir"}, "network", problems)
    assert problems == []
    assert config.members == 10 and config.max_time == "100 days"
    assert config.networks["erdos_renyi"] == {"type": "erdos_renyi", "mean_degree": 10.0}
    bad = {"model": "sir", "members": 0, "colour": 1, "max_time": "soon",
           "parameters": {"gamma": 1.0, "beta": {"value": 1, "units": "day"}},
           "growth_window": [0.5, 0.1], "executor": "gpu",
           "networks": {"x": {"type": "lattice"},
                        "y": {"type": "configuration", "k_min": 0, "alpha": 2},
                        "z": {"type": "household", "household_size": "four"}}}
    problems = []
    parse_network(bad, "network", problems)
    text = "\n".join(problems)
    for expected in ("network.members must be an integer >= 1; got 0",
                     "network.colour is not a known key; valid keys:",
                     "network.max_time must be",
                     "network.parameters.gamma is not a known parameter; valid parameters:",
                     "network.parameters.beta.units must be compatible with '1/day'",
                     "network.growth_window must be",
                     "network.executor must be one of ['serial', 'local']",
                     "network.networks.x.type must be one of",
                     "network.networks.y.alpha is not a known key; valid keys:",
                     "network.networks.y.k_min must be an integer >= 1",
                     "network.networks.z.household_size must be a number"):
        assert expected in text, expected
    problems = []
    parse_network({}, "network", problems)
    assert problems == ["network.model is required"]


def test_load_network_config_reads_the_shipped_example_and_refuses_bad_files(tmp_path):
    name, config, base = load_network_config("network-sir")
    assert name == "network-sir" and base.name == "configs"
    assert list(config.networks) == ["dense_er", "sparse_er", "heavy_tailed", "households"]
    assert config.networks["households"]["community_degree"] == 4.0
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\ncolour = 1\n[network]\nmodel = "nope"\n')
    with pytest.raises(ConfigError) as info:
        load_network_config(bad)
    message = str(info.value)
    assert message.startswith(str(bad)) and "2 problems" in message
    assert "colour is not a known key; valid keys: ['description', 'name', 'network']" in message
    assert "network.model:" in message


def test_models_with_per_capita_births_are_refused(tmp_path):
    table = tomllib.loads(STAGED)
    table["births"] = {"to": "S", "rate": "mu"}
    path = tmp_path / "births.toml"
    import tomli_w
    path.write_text(tomli_w.dumps(table))
    problems = []
    parse_network({"model": str(path)}, "network", problems)
    assert any("births.replace_deaths" in p for p in problems)


def test_run_network_writes_cf_dataset_and_fit_table(tmp_path):
    table = {"model": "sir", "n_nodes": 400, "members": 3, "seed": 1, "max_time": "60 days",
             "initial_infected": 8,
             "networks": {"er": {"type": "erdos_renyi", "mean_degree": 6.0},
                          "hh": {"type": "household", "household_size": 3.0,
                                 "community_degree": 3.0}}}
    nc, fit = run_network(table, tmp_path, name="unit")
    with xr.open_dataset(nc, engine="h5netcdf") as ds:
        assert check_dataset(ds) == []
        assert ds.population.dims == ("network", "member", "time", "compartment")
        assert list(ds.network.values) == ["er", "hh"]
        assert ds.population.sum("compartment").min() == ds.population.sum(
            "compartment").max() == 400
        first = ds.population.values.copy()
    lines = fit.read_text().splitlines()
    assert lines[0].startswith("network,type,n_nodes,members,mean_degree")
    assert [line.split(",")[0] for line in lines[1:]] == ["er", "hh"]
    again = tmp_path / "again"
    again.mkdir()
    nc2, _ = run_network(table, again)
    with xr.open_dataset(nc2, engine="h5netcdf") as ds:
        assert np.array_equal(ds.population.values, first)  # same seed, same result
    with pytest.raises(ConfigError, match="network.members must be an integer >= 1"):
        run_network({**table, "members": 0}, tmp_path)


def test_calibrate_transmission_returns_the_parameter_override():
    table = {"model": "sir", "n_nodes": 600, "members": 3, "seed": 2, "max_time": "120 days",
             "initial_infected": 12, "step": "0.5 day",
             "networks": {"er": {"type": "erdos_renyi", "mean_degree": 6.0}}}
    assert transmission_parameter(load_model("sir")) == "beta"
    fitted = calibrate_transmission(table, "final_size")
    assert set(fitted) == {"beta"}
    assert 0.25 < fitted["beta"] < 0.5  # a sparse network spreads less than the mean field
    with pytest.raises(ConfigError, match="network must be one of"):
        calibrate_transmission(table, network="nope")


@pytest.mark.slow
def test_local_dask_executor_gives_the_serial_result():
    table = {"model": "sir", "n_nodes": 300, "members": 3, "seed": 4, "max_time": "60 days",
             "networks": {"er": {"type": "erdos_renyi", "mean_degree": 6.0}}}
    serial = run_network_ensembles(table)
    local = run_network_ensembles({**table, "executor": "local", "workers": 2})
    for a, b in zip(serial.members["er"], local.members["er"]):
        assert np.array_equal(a["state"], b["state"])
