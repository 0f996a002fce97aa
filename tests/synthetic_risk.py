"""A small synthetic run directory with a ``risk.nc`` of the risk stage's schema.

Used by the map/report tests (``tests/unit/test_maps.py``, ``tests/cli/test_report_browser.py``)
so that they need no simulation. Seven places: six countries of ``geo/countries.gpkg`` and one
made-up place ``ZZZ`` without a polygon; three layers; two screening policies. The corridor
Kenya -> South Africa (land) has by far the most undetectable arrivals (rank 1).
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from healthmob.schema import CONVENTIONS, LAT_ATTRS, LON_ATTRS, check_dataset
from healthmob.store.netcdf import write_dataset

PLACES = {  # id: (name, population, lat, lon)
    "ZAF": ("South Africa", 60e6, -26.1, 28.2), "MOZ": ("Mozambique", 33e6, -19.0, 34.8),
    "KEN": ("Kenya", 54e6, -1.3, 36.8), "FRA": ("France", 68e6, 48.9, 2.4),
    "FJI": ("Fiji", 0.93e6, -17.7, 178.1), "USA": ("United States of America", 333e6, 39.1,
                                                    -93.6),
    "ZZZ": ("Testland", 0.5e6, 10.0, -30.0),
}
LAYERS = ("air", "land", "migration")
POLICIES = ("none", "symptoms_arrival")
TOP = ("KEN", "ZAF", "land")
PER_YEAR = {"units": "year-1", "cell_methods": "time: sum"}


def risk_dataset(order: list[str] | None = None, drop: tuple[str, ...] = ()) -> xr.Dataset:
    """The synthetic risk dataset, places in ``order`` (default: as in :data:`PLACES`)."""
    ids = list(order or PLACES)
    n, n_lay = len(ids), len(LAYERS)
    rng = np.random.default_rng(7)
    # values depend on the ids, not on their order, so any order gives the same data by id
    flow = np.zeros((n, n, n_lay))
    for a, i in enumerate(ids):
        for b, j in enumerate(ids):
            for k in range(n_lay):
                seed = sum(map(ord, i + j)) * 7 + k
                if i != j and seed % 3 != 0:
                    flow[a, b, k] = 1e4 * (1 + seed % 11)
    infected = 0.3 * flow
    undetectable = 1e-4 * flow
    top = ids.index(TOP[0]), ids.index(TOP[1]), LAYERS.index(TOP[2])
    flow[top] = max(flow[top], 5e5)
    undetectable[top] = 1000.0
    travel = np.where(flow > 0, 0.2 + rng.random(flow.shape), np.nan)
    missed = np.stack([infected, 0.9 * infected])
    population = np.array([PLACES[p][1] for p in ids])
    total = undetectable.sum(axis=(0, 2))
    corridor = ("origin", "destination", "layer")
    data = {
        "flow": (corridor, flow, {"units": "year-1", "long_name": "travellers per year"}),
        "travel_time": (corridor, travel, {"units": "day", "long_name": "travel time"}),
        "infected_arrivals": (corridor, infected, {**PER_YEAR, "long_name": "infected "
                                                   "travellers arriving per year"}),
        "undetectable_arrivals": (corridor, undetectable, {**PER_YEAR, "long_name":
                                  "infected arrivals per year no test can detect"}),
        "missed_arrivals": (("policy", *corridor), missed, {**PER_YEAR, "long_name":
                            "infected arrivals per year the policy misses"}),
        "undetectable_arrivals_total": ("place", total, {**PER_YEAR, "long_name":
                                        "undetectable infected arrivals per year"}),
        "undetectable_arrivals_per_100k": ("place", total / population * 1e5, {
            "units": "1e-5 year-1", "long_name": "undetectable infected arrivals per "
                                                 "100,000 destination population per year"}),
        "p_undetectable_infectious_arrival": ("place", 1 - np.exp(-0.5 * total), {
            "units": "1", "long_name": "probability of at least one undetectable infectious "
                                       "arrival in a year"}),
        "missed_arrivals_total": (("policy", "place"), missed.sum(axis=(1, 3)), {
            **PER_YEAR, "long_name": "infected arrivals per year missed by the policy"}),
        "detected_arrival": (("policy", "place"), np.stack([0 * total, 0.1 * total]), {
            **PER_YEAR, "long_name": "infected travellers detected on arrival per year"}),
        "future_tb_incidence_2y": ("place", 0.01 * total, {"units": "year-1", "long_name":
                                   "expected active TB within 2 years"}),
        "future_tb_incidence_5y": ("place", 0.02 * total, {"units": "year-1", "long_name":
                                   "expected active TB within 5 years"}),
        "hiv_in_window_arrivals": ("place", 0.5 * total, {**PER_YEAR, "long_name":
                                   "arrivals with HIV in the test window"}),
        "hiv_undiagnosed_arrivals": ("place", 3 * total, {**PER_YEAR, "long_name":
                                     "arrivals with undiagnosed HIV"}),
    }
    for name in drop:
        data.pop(name)
    coords = {
        "origin": ("origin", ids, {"long_name": "place of departure"}),
        "destination": ("destination", ids, {"long_name": "place of arrival"}),
        "layer": ("layer", list(LAYERS), {"long_name": "mobility layer"}),
        "policy": ("policy", list(POLICIES), {"long_name": "screening policy"}),
        "policy_description": ("policy", ["no screening", "symptom screening at arrival"],
                               {"long_name": "what the policy screens"}),
        "place": ("place", ids, {"long_name": "place id"}),
        "place_name": ("place", [PLACES[p][0] for p in ids], {"long_name": "place name"}),
        "lat": ("place", [PLACES[p][2] for p in ids], LAT_ATTRS),
        "lon": ("place", [PLACES[p][3] for p in ids], LON_ATTRS),
    }
    ds = xr.Dataset(data, coords=coords)
    ds.attrs = {"title": "healthmob risk for scenario synthetic", "source": "healthmob test",
                "history": "synthetic", "Conventions": CONVENTIONS, "scenario": "synthetic",
                "policy": "none", "data_sources": "Natural Earth; OpenFlights (ODbL); WHO; "
                "UNAIDS/World Bank; UN DESA; GeoDataSource"}
    assert check_dataset(ds) == []
    return ds


def write_risk_run(directory, order=None, drop=()):
    """Write ``risk.nc``, ``manifest.json`` and ``config.toml`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    write_dataset(risk_dataset(order, drop), directory / "risk.nc")
    manifest = {"healthmob_version": "0.1.0", "command": "run", "status": "complete",
                "seed": 42, "started": "2026-01-01T00:00:00+00:00",
                "finished": "2026-01-01T00:01:00+00:00", "wall_seconds": 60.0,
                "inputs": {"configs/synthetic.toml": "ab" * 32}, "packages": {"numpy": "2"}}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    (directory / "config.toml").write_text('name = "synthetic"\nseed = 42\n')
    return directory
