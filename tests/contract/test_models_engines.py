"""Every model in ``models/`` on every engine: the contract each pair must keep.

For each of the shipped models (sir, seir, tb, hiv, tb_hiv) and each engine (deterministic,
stochastic), a three-place scenario coupled by visiting and relocation runs for 60 days
through the same path a config run takes (:func:`healthmob.pipeline.prepare`, then the
deterministic engine or an ensemble). The outputs must be CF-valid, people conserved
(every shipped model replaces its deaths), never negative, and the same seed must give the
same numbers (the design brief; epydemic's and scikit-learn's estimator checks).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
import xarray as xr

from healthmob.disease.observables import observe
from healthmob.disease.parse import load_model
from healthmob.engine.config import ENGINES
from healthmob.engine.coupling import Coupling
from healthmob.ensemble.plan import plan_ensemble
from healthmob.ensemble.run import execute_plan
from healthmob.mobility.matrix import Mobility, MobilityLayer
from healthmob.pipeline import prepare, simulate
from healthmob.scenario import parse_scenario
from healthmob.schema import check_dataset
from healthmob.store.resources import data_dir
from healthmob.store.rundir import RunDirectory

MODELS = sorted(path.stem for path in data_dir("models").glob("*.toml"))
POPULATION = np.array([1_000_000.0, 500_000.0, 2_000_000.0])
"""The three places of the ``places_csv`` fixture."""


def _scenario(model: str, engine: str, places_csv, seed: int):
    spec = load_model(model)
    infection = spec.infections[0]
    table = {
        "name": f"contract-{model}", "model": model, "engine": engine, "seed": seed,
        "places": {"source": str(places_csv)},
        "time": {"duration": "60 days", "step": "5 days"},
        "initial": {"method": "fractions", "fractions": {infection.source: 1.0},
                    "seeds": [{"place": "AAA", "compartment": infection.target,
                               "count": 2000}]},
        "ensemble": {"members": 2, "step": "1 day"},
    }
    return parse_scenario(table)


def _prepared(model: str, engine: str, places_csv, seed: int = 7):
    """The scenario prepared as a run prepares it, with mobility between the places."""
    prepared = prepare(_scenario(model, engine, places_csv, seed))
    visiting = sp.csr_array(np.array([[0, 300, 100], [200, 0, 50], [80, 40, 0]], float))
    moving = sp.csr_array(np.array([[0, 20, 10], [15, 0, 5], [10, 10, 0]], float))
    mobility = Mobility(("AAA", "BBB", "CCC"), {
        "air": MobilityLayer("air", visiting, "visiting", 7.0),
        "migration": MobilityLayer("migration", moving, "relocation")})
    return dataclasses.replace(prepared, mobility=mobility,
                               coupling=Coupling.from_mobility(mobility, POPULATION))


def _results(prepared, tmp_path, name: str) -> xr.Dataset:
    """results of the prepared scenario: in memory (deterministic) or from results.nc."""
    if prepared.scenario.engine == "deterministic":
        return simulate(prepared.scenario, prepared)
    folder = RunDirectory(tmp_path, name, "run", prepared.scenario.seed, [])
    with execute_plan(plan_ensemble(prepared), folder) as ds:
        loaded = ds.load()
    folder.finish("complete")
    return loaded


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("model", MODELS)
def test_every_model_on_every_engine(model, engine, places_csv, tmp_path):
    first = _results(_prepared(model, engine, places_csv), tmp_path, "first")
    assert check_dataset(first) == []
    population = first["population"]
    np.testing.assert_allclose(population.isel(time=0).sum("compartment").values.reshape(
        -1, 3)[0], POPULATION)
    totals = population.sum(("place", "compartment"))  # relocation moves people around
    start = totals.isel(time=0)
    if engine == "stochastic":
        assert population.dtype.kind == "i" and int(population.min()) >= 0
        assert (totals == start).all()                          # exactly, in every member
    else:
        assert float(population.min()) > -1e-6 * POPULATION.max()
        np.testing.assert_allclose(totals, start.broadcast_like(totals), rtol=1e-8)
    spec = load_model(model)
    for name in [*spec.tallies, *spec.outputs]:   # the same variables on both engines
        assert first[name].attrs["units"], name
        if engine == "stochastic":
            assert f"{name}_quantile" in first, name
    for name, output in spec.outputs.items():     # and the same definition
        if not output.is_tally_ratio:
            no_tallies = np.zeros(population.shape[:-1] + (len(spec.tallies),))
            np.testing.assert_allclose(first[name].values, observe(
                spec, name, population.values, no_tallies), rtol=1e-12)
    again = _results(_prepared(model, engine, places_csv), tmp_path, "again")
    np.testing.assert_array_equal(again["population"].values, population.values)
    if engine == "stochastic":
        other = _results(_prepared(model, engine, places_csv, seed=8), tmp_path, "other")
        assert not np.array_equal(other["population"].values, population.values)
