"""The risk stage: :mod:`healthmob.risk.kernel`'s arrays labelled as ``risk.nc`` (CF).

Per corridor (origin, destination, layer): travellers, travel time, infected, undetectable
and missed arrivals by screening policy. Per destination: totals, detections, false
positives, arrivals by state and by spec output, expected future TB from relocating latent
infection (``docs/risk.md`` lists every variable).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from .. import __version__
from ..disease.compile import CompiledModel
from ..disease.spec import ModelSpec, select
from ..mobility.matrix import VOLUME_SOURCE_ATTRS, Mobility
from ..results import place_coords
from ..schema import CONVENTIONS, CORRIDOR_DIMS, require_conforming
from ..store.resources import DATA_SOURCES
from ..units import PER_100K_YEAR_UNITS
from .config import RiskConfig
from .kernel import CorridorRisk, corridor_risk, future_events, masks

PER_YEAR = {"units": "year-1", "cell_methods": "time: sum"}


@dataclass(frozen=True)
class RiskInputs:
    """What the risk stage reads: the model (spec and compiled), state, places, mobility."""

    spec: ModelSpec
    compiled: CompiledModel
    state: np.ndarray            # (P, C) persons at the chosen time
    places: pd.DataFrame
    mobility: Mobility
    scenario: str
    categories: dict = field(default_factory=dict)
    """Layer name -> traveller category (``[mobility.<layer>] category``; None: none)."""
    weights: dict = field(default_factory=dict)
    """Layer name -> (P, C) selection weights of its travellers (absent: a random sample)."""


def assess_risk(inputs: RiskInputs, cfg: RiskConfig) -> xr.Dataset:
    """Risk per corridor and per destination (persons per year), as a CF dataset."""
    m = masks(inputs.spec, inputs.compiled, cfg.reference_tests)
    policies = cfg.compared()
    arrays = corridor_risk(inputs.compiled, inputs.state, inputs.mobility, m, policies,
                           inputs.categories, inputs.weights)
    data = {**_corridor_variables(arrays), **_place_variables(inputs, arrays),
            **_output_arrivals(inputs.spec, arrays),
            "volume_source": (CORRIDOR_DIMS, inputs.mobility.volume_sources(),
                              dict(VOLUME_SOURCE_ATTRS))}
    if cfg.future_tally:
        data.update(_future_variables(inputs, cfg, arrays.relocating_by_state))
    ids = inputs.places["id"].to_numpy(dtype=str)
    coords = {**place_coords(inputs.places),
              "origin": ("origin", ids, {"long_name": "place of departure"}),
              "destination": ("destination", ids, {"long_name": "place of arrival"}),
              "layer": ("layer", np.array(list(inputs.mobility.layers), dtype=str),
                        {"long_name": "mobility layer"}),
              "policy": ("policy", np.array([p.name for p in policies], dtype=str),
                         {"long_name": "screening policy"}),
              "policy_description": ("policy", np.array([p.description for p in policies],
                                                        dtype=str),
                                     {"long_name": "what the policy screens"}),
              "compartment": ("compartment", np.array(inputs.spec.compartment_ids, dtype=str),
                              {"long_name": "compartment id of the disease model"})}
    ds = xr.Dataset(data, coords={k: xr.Variable(*v) for k, v in coords.items()})
    ds.attrs = {
        "title": f"healthmob risk for scenario {inputs.scenario}",
        "source": f"healthmob {__version__}",
        "history": f"{pd.Timestamp.now(tz='UTC').isoformat(timespec='seconds')} "
                   "healthmob risk",
        "Conventions": CONVENTIONS,
        "scenario": inputs.scenario,
        "policy": cfg.policy,
        "reference_tests": " ".join(cfg.reference_tests or sorted(m["detectable"])),
        "traveller_categories": " ".join(f"{name}:{inputs.categories.get(name) or 'none'}"
                                         for name in inputs.mobility.layers),
        "data_sources": DATA_SOURCES,
        "references": "Gostic KM et al. (2015) eLife 4:e05564 (screening); Brockmann D, "
                      "Helbing D (2013) Science 342:1337 (effective distance)",
    }
    return require_conforming(ds, "risk.nc")


def _corridor_variables(a: CorridorRisk) -> dict:
    return {
        "flow": (CORRIDOR_DIMS, a.flow, {"units": "year-1", "long_name": "travellers from origin "
                                                                    "to destination per year"}),
        "travel_time": (CORRIDOR_DIMS, a.travel_time, {
            "units": "day", "long_name": "travel time of the fastest route"}),
        "infected_arrivals": (CORRIDOR_DIMS, a.infected, {
            **PER_YEAR, "long_name": "infected travellers arriving per year (no screening)"}),
        "undetectable_arrivals": (CORRIDOR_DIMS, a.undetectable, {
            **PER_YEAR, "long_name": "infected arrivals per year that no reference test can "
                                     "detect during the journey and on arrival"}),
        "missed_arrivals": (("policy", *CORRIDOR_DIMS), a.missed, {
            **PER_YEAR, "long_name": "infected arrivals per year that the screening policy "
                                     "does not detect"}),
    }


def _place_variables(inputs: RiskInputs, a: CorridorRisk) -> dict:
    population = inputs.places["population"].to_numpy(dtype=float)
    total = a.undetectable.sum(axis=(0, 2))
    infectious_total = a.undetectable_infectious.sum(axis=(0, 2))
    return {
        "undetectable_arrivals_total": (("place",), total, {
            **PER_YEAR, "long_name": "undetectable infected arrivals per year at the "
                                     "destination"}),
        "undetectable_arrivals_per_100k": (("place",), total / population * 1e5, {
            "units": PER_100K_YEAR_UNITS, "long_name": "undetectable infected arrivals per "
                                                       "100,000 destination population per "
                                                       "year"}),
        "p_undetectable_infectious_arrival": (("place",), 1 - np.exp(-infectious_total), {
            "units": "1", "long_name": "probability of at least one undetectable infectious "
                                       "arrival in a year (Poisson)"}),
        "detected_departure": (("policy", "place"), a.detected_departure, {
            **PER_YEAR, "long_name": "infected travellers to the destination stopped by "
                                     "departure screening per year"}),
        "detected_arrival": (("policy", "place"), a.detected_arrival, {
            **PER_YEAR, "long_name": "infected travellers detected by arrival screening per "
                                     "year"}),
        "missed_arrivals_total": (("policy", "place"), a.missed.sum(axis=(1, 3)), {
            **PER_YEAR, "long_name": "infected arrivals per year missed by the policy"}),
        "false_positives": (("policy", "place"), a.false_positives, {
            **PER_YEAR, "long_name": "uninfected travellers flagged by the screens per year"}),
        "arrivals_by_state": (("place", "compartment"), a.arrivals_by_state, {
            **PER_YEAR, "long_name": "arrivals per year by disease state on arrival "
                                     "(no screening)"}),
    }


def _output_arrivals(spec: ModelSpec, a: CorridorRisk) -> dict:
    """Arrivals per year counted in each share-of-people output of the spec."""
    ids = spec.compartment_ids
    data = {}
    for name, out in spec.outputs.items():
        if out.is_tally_ratio:
            continue
        mask = np.isin(ids, select(out.numerator, ids))
        data[f"{name}_arrivals"] = (("place",), a.arrivals_by_state[:, mask].sum(axis=1), {
            **PER_YEAR, "long_name": f"arrivals per year counted in {out.long_name} "
                                     "(no screening)"})
    return data


def _future_variables(inputs: RiskInputs, cfg: RiskConfig, relocating: np.ndarray) -> dict:
    """Expected ``future_tally`` events at the destination within each horizon, from people
    who relocate in the states of the ``future_from`` output (e.g. latent TB)."""
    out = {}
    for years in cfg.horizons_years:
        expected = future_events(inputs.spec, inputs.compiled, relocating, cfg.future_tally,
                                 cfg.future_from, years)
        label = f"{years:g}".replace(".", "_")
        out[f"future_{cfg.future_tally}_{label}y"] = (("place",), expected, {
            "units": "year-1",
            "long_name": f"expected {inputs.spec.tallies[cfg.future_tally]} within "
                         f"{years:g} years among one year's relocating arrivals in "
                         f"{cfg.future_from} states"})
    return out
