"""A small synthetic run directory with a ``risk.nc`` of the risk stage's schema.

Used by the map/report tests (``tests/unit/test_maps.py``, ``tests/cli/test_report_browser.py``)
so that they need no simulation. Seven places: six countries of ``geo/countries.gpkg`` and one
made-up place ``ZZZ`` without a polygon; three layers; two screening policies. The corridor
Kenya -> South Africa (land) has by far the most arrivals with active TB (rank 1).
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
COUPLING = ("visiting", "visiting", "relocation")
MEASURES = {"tb_active": ("tb", "active TB, infectious or on treatment"),
            "tb_latent": ("tb", "latent TB infection"),
            "hiv_not_on_art": ("hiv", "living with HIV and not on ART")}
POLICIES = ("none", "pre_entry_cxr")
HORIZONS = (2.0, 5.0)
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
    top = ids.index(TOP[0]), ids.index(TOP[1]), LAYERS.index(TOP[2])
    flow[top] = max(flow[top], 5e5)
    arrivals = np.stack([1e-4 * flow, 0.3 * flow, 2e-3 * flow])
    arrivals[0][top] = 1000.0
    travel = np.where(flow > 0, 0.2 + rng.random(flow.shape), np.nan)
    migrants = flow[..., 2]
    screened = np.stack([0 * migrants, migrants])
    found = np.stack([0 * arrivals[:, ..., 2], 0.87 * arrivals[:, ..., 2]])
    population = np.array([PLACES[p][1] for p in ids])
    corridor, pair = ("origin", "destination", "layer"), ("origin", "destination")
    data = {
        "flow": (corridor, flow, {"units": "year-1", "long_name": "travellers per year"}),
        "travel_time": (corridor, travel, {"units": "day", "long_name": "travel time"}),
        "arrivals": (("measure", *corridor), arrivals, {**PER_YEAR, "long_name":
                     "arrivals per year in the states of the measure"}),
        "future_tb_incidence": (("horizon", *pair), np.stack([0.01 * migrants,
                                                              0.02 * migrants]),
                                {"units": "year-1", "long_name": "expected active TB"}),
        "screened": (("policy", *pair), screened, {**PER_YEAR, "long_name": "screened"}),
        "found": (("policy", "measure", *pair), found, {**PER_YEAR, "long_name": "found"}),
        "false_positives": (("policy", *pair), 0.01 * screened, {**PER_YEAR,
                            "long_name": "false positives"}),
        "treated": (("policy", *pair), 0 * screened, {**PER_YEAR, "long_name": "treated"}),
        "prevented": (("policy", "horizon", *pair), np.stack([np.full((2, n, n), np.nan),
                                                             np.stack([found[1, 0]] * 2)]),
                      {"units": "year-1", "long_name": "cases prevented"}),
        "programme_cost": (("policy", *pair), 23.24 * screened, {
            "units": "year-1", "currency": "GBP", "long_name": "cost in GBP per year"}),
        "population": (("place",), population, {"units": "1", "long_name": "population"}),
    }
    for name in drop:
        data.pop(name)
    coords = {
        "origin": ("origin", ids, {"long_name": "place of departure"}),
        "destination": ("destination", ids, {"long_name": "place of arrival"}),
        "layer": ("layer", list(LAYERS), {"long_name": "mobility layer"}),
        "layer_coupling": ("layer", list(COUPLING), {"long_name": "coupling"}),
        "layer_category": ("layer", ["visitor", "visitor", "settlement"],
                           {"long_name": "category"}),
        "measure": ("measure", list(MEASURES), {"long_name": "arrival measure"}),
        "measure_disease": ("measure", [d for d, _ in MEASURES.values()],
                            {"long_name": "disease"}),
        "measure_long_name": ("measure", [t for _, t in MEASURES.values()],
                              {"long_name": "what it counts"}),
        "horizon": ("horizon", list(HORIZONS), {"units": "year", "long_name": "horizon"}),
        "policy": ("policy", list(POLICIES), {"long_name": "screening policy"}),
        "policy_description": ("policy", ["no screening", "pre-entry chest X-ray"],
                               {"long_name": "what the policy screens"}),
        "policy_disease": ("policy", ["tb", "tb"], {"long_name": "disease"}),
        "policy_finds": ("policy", ["", "tb_active"], {"long_name": "measure"}),
        "place": ("place", ids, {"long_name": "place id"}),
        "place_name": ("place", [PLACES[p][0] for p in ids], {"long_name": "place name"}),
        "lat": ("place", [PLACES[p][2] for p in ids], LAT_ATTRS),
        "lon": ("place", [PLACES[p][3] for p in ids], LON_ATTRS),
    }
    ds = xr.Dataset(data, coords=coords)
    ds.attrs = {"title": "healthmob risk for scenario synthetic", "source": "healthmob test",
                "history": "synthetic", "Conventions": CONVENTIONS, "scenario": "synthetic",
                "policy": "pre_entry_cxr", "currency": "GBP", "state_date": "2022-01-01",
                "focus_destination": "", "data_sources": "Natural Earth; OpenFlights (ODbL); "
                "WHO; UNAIDS/World Bank; UN DESA; GeoDataSource"}
    assert check_dataset(ds) == []
    return ds


def write_risk_run(directory, order=None, drop=()):
    """Write ``risk.nc``, ``manifest.json`` and ``config.toml`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    write_dataset(risk_dataset(order, drop), directory / "risk.nc")
    manifest = {"healthmob_version": "0.1.0",
                "command": "healthmob run /home/someone/configs/synthetic.toml",
                "status": "complete",
                "seed": 42, "started": "2026-01-01T00:00:00+00:00",
                "finished": "2026-01-01T00:01:00+00:00", "wall_seconds": 60.0,
                "inputs": {"configs/synthetic.toml": "ab" * 32}, "packages": {"numpy": "2"}}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    (directory / "config.toml").write_text('name = "synthetic"\nseed = 42\n')
    return directory
