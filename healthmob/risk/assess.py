"""The risk stage: :mod:`healthmob.risk.kernel`'s arrays labelled as ``risk.nc`` (CF).

Per corridor (origin, destination, layer): travellers, travel time, arrivals in the states
of each of the model's ``[arrivals]`` measures (one disease each, never summed across
diseases). Per (origin, destination): expected future active TB among a year's new
residents, and per screening programme: persons screened, found by measure, false
positives, starting preventive treatment, cases prevented, cost (``docs/risk.md`` lists
every variable).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from .. import __version__
from ..disease.compile import CompiledModel
from ..disease.selection import selection_weights
from ..disease.spec import ModelSpec, select
from ..mobility.files import DENSE_LIMIT
from ..mobility.matrix import VOLUME_SOURCE_ATTRS, Mobility
from ..results import place_coords
from ..schema import CONVENTIONS, CORRIDOR_DIMS, require_conforming
from ..store.gather import gathered, pair_coordinate, scatter_pairs
from ..store.resources import DATA_SOURCES
from ..units import DAYS_PER_YEAR
from .config import RiskConfig
from .costs import CostsConfig
from .kernel import CorridorRisk, Corridors, Future, corridor_risk
from .measures import Masks
from .uncertainty import QUANTILES, Draws, MemberInputs, draw

PER_YEAR = {"units": "year-1", "cell_methods": "time: sum"}
PAIR = ("origin", "destination")


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
    stays: dict = field(default_factory=dict)
    """Layer name -> stay in days (inf for a relocation layer)."""
    costs: CostsConfig = field(default_factory=CostsConfig)
    focus: tuple = ()
    focus_name: str = ""
    state_date: str = ""
    """ISO date of ``state``."""


def risk_inputs(spec: ModelSpec, compiled: CompiledModel, state: np.ndarray, places,
                mobility: Mobility, layers_cfg, weights: dict, scenario: str,
                costs: CostsConfig, focus, date) -> RiskInputs:
    """The risk stage's inputs: each layer's traveller category (``layers_cfg``: the
    ``[mobility]`` section), its selection weights at ``state`` (``weights`` given for
    layers that move people as they are, e.g. ``return``) and its stay (days; inf for a
    relocation layer)."""
    categories = {name: layers_cfg.layer(name).category for name in mobility.layers}
    by_category = {c: selection_weights(spec, compiled.values, state, c)
                   for c in set(categories.values()) if c in spec.selection}
    weights = {**{name: by_category[c] for name, c in categories.items() if c in by_category},
               **weights}
    stays = {name: (np.inf if layer.coupling == "relocation"
                    else layers_cfg.layer(name).stay_days)
             for name, layer in mobility.layers.items()}
    return RiskInputs(spec, compiled, state, places, mobility, scenario, categories, weights,
                      stays, costs, focus.destination, focus.name, str(date))


def assess_risk(inputs: RiskInputs, cfg: RiskConfig) -> xr.Dataset:
    """Arrivals and programmes per corridor (persons per year), as a CF dataset: dense in
    ``(origin, destination)`` up to :data:`~healthmob.mobility.files.DENSE_LIMIT` places,
    above it at the pairs with a flow only (:mod:`healthmob.store.gather`; 3,000 places
    and 30,000 corridors dense would be 873 MB, gathered they are 3.5 MB)."""
    masks = Masks.of(inputs.spec)
    future = _future(inputs, cfg)
    arrays = corridor_risk(inputs.compiled, inputs.state, inputs.mobility, masks,
                           cfg.compared(), _who(inputs), future, inputs.costs)
    ds = _dataset(inputs, cfg, masks, arrays, future is not None)
    if ds.sizes["origin"] > DENSE_LIMIT:
        return ds
    dense = scatter_pairs(ds)
    dense["found"] = dense["found"].where(~_other_disease(inputs.spec, cfg, masks))
    return dense


def _who(inputs: RiskInputs) -> Corridors:
    incidence = (inputs.places["tb_incidence_per_100k"].to_numpy(dtype=float)
                 if "tb_incidence_per_100k" in inputs.places else
                 np.full(len(inputs.places), np.inf))
    return Corridors(inputs.categories, inputs.weights, inputs.stays, np.nan_to_num(incidence))


def member_inputs(inputs: RiskInputs, cfg: RiskConfig, fitted, seed: int) -> MemberInputs:
    """What every member of the uncertainty ensemble shares, with the draws of all of them
    (``fitted``: the parameters the calibration fitted per place, never sampled)."""
    policies = cfg.compared()
    ids = inputs.places["id"].to_numpy(dtype=str)
    focus = np.isin(ids, inputs.focus) if inputs.focus else np.ones(len(ids), dtype=bool)
    draws = draw(inputs.spec, inputs.places, policies, fitted, cfg.uncertainty.members, seed)
    return MemberInputs(inputs.spec, inputs.compiled, inputs.state, inputs.mobility,
                        _who(inputs), tuple(policies), _future(inputs, cfg), inputs.costs,
                        focus, draws)


def add_intervals(ds: xr.Dataset, summaries: list[dict], draws: Draws) -> xr.Dataset:
    """``interval_origins (quantile, statistic, origin)``, ``interval_total (quantile,
    statistic)`` and ``interval_programme (quantile, policy, statistic)``: the quantiles of
    the members' summaries (:func:`healthmob.risk.uncertainty.summarise`)."""
    q = np.array(QUANTILES)
    origin_names = list(summaries[0]["origins"])
    total_names = list(summaries[0]["total"])
    programme_names = list(summaries[0]["programme"][0]) if summaries[0]["programme"] else []
    origins = np.array([[s["origins"][n] for n in origin_names] for s in summaries])
    totals = np.array([[s["total"][n] for n in total_names] for s in summaries])
    programme = np.array([[[row[n] for n in programme_names] for row in s["programme"]]
                          for s in summaries])
    attrs = {"units": "1", "long_name": "quantiles over the uncertainty ensemble's members "
             "(docs/risk.md): persons per year, or the statistic's own unit"}
    out = ds.assign_coords(quantile=("quantile", q, {"long_name": "quantile over members",
                                                     "units": "1"}))
    out["interval_origins"] = xr.Variable(("quantile", "statistic_origin", "origin"),
                                          _quantiles(origins, q), attrs)
    out["interval_total"] = xr.Variable(("quantile", "statistic_total"),
                                        _quantiles(totals, q), attrs)
    out["interval_programme"] = xr.Variable(("quantile", "policy", "statistic_programme"),
                                            _quantiles(programme, q), attrs)
    out = out.assign_coords(statistic_origin=np.array(origin_names, dtype=str),
                            statistic_total=np.array(total_names, dtype=str),
                            statistic_programme=np.array(programme_names, dtype=str))
    out.attrs.update(uncertainty_members=len(summaries),
                     uncertainty_parameters=" ".join(draws.names))
    return require_conforming(out, "risk.nc")


def _quantiles(values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantiles over the first axis, NaN where any member is NaN (a missing cost)."""
    out = np.quantile(values, q, axis=0)
    return np.where(np.isnan(values).any(axis=0), np.nan, out)


def _future(inputs: RiskInputs, cfg: RiskConfig) -> Future | None:
    if not cfg.future_tally:
        return None
    ids = inputs.spec.compartment_ids
    states = select(inputs.spec.outputs[cfg.future_from].numerator, ids)
    disease = next((d.name for d in inputs.spec.diseases.values()
                    if set(states) <= set(d.infected)), "")
    return Future(inputs.compiled.tally_names.index(cfg.future_tally), np.isin(ids, states),
                  tuple(y * DAYS_PER_YEAR for y in cfg.horizons_years), disease)


def _other_disease(spec: ModelSpec, cfg: RiskConfig, masks: Masks) -> xr.DataArray:
    """(policy, measure): the measure counts another disease than the policy screens for."""
    return xr.DataArray([[spec.arrivals[m].disease != p.disease for m in masks.names]
                         for p in cfg.compared()], dims=("policy", "measure"))


def _dataset(inputs: RiskInputs, cfg: RiskConfig, masks: Masks, a: CorridorRisk,
             with_future: bool) -> xr.Dataset:
    spec = inputs.spec
    a.found[_other_disease(spec, cfg, masks).values] = np.nan   # a programme finds its own
    variables = {**_corridor_variables(a), **_programme_variables(a, inputs.costs.currency)}
    variables["volume_source"] = (CORRIDOR_DIMS, inputs.mobility.volume_sources(
        a.origin, a.destination), dict(VOLUME_SOURCE_ATTRS))
    if with_future:
        tally = spec.tallies[cfg.future_tally]
        variables[f"future_{cfg.future_tally}"] = (("horizon", *PAIR), a.future, {
            "units": "year-1", "long_name": f"expected {tally} within the horizon among one "
            f"year's new residents (relocation layers) arriving in {cfg.future_from} states"})
        variables["prevented"] = (("policy", "horizon", *PAIR), a.prevented, {
            "units": "year-1", "long_name": f"{tally} within the horizon among one year's "
            "screened arrivals that the destination does not get: kept out by a departure "
            "screen, or avoided by preventive treatment"})
    data = {name: gathered(dims, values, attrs, np.nan if name == "travel_time" else 0)
            for name, (dims, values, attrs) in variables.items()}
    data["population"] = xr.Variable(("place",), inputs.places["population"].to_numpy(
        dtype=float), {"units": "1", "long_name": "population of the place (persons)"})
    ids = inputs.places["id"].to_numpy(dtype=str)
    layers = list(inputs.mobility.layers)
    coords = {**place_coords(inputs.places),
              "origin": ("origin", ids, {"long_name": "place of departure"}),
              "destination": ("destination", ids, {"long_name": "place of arrival"}),
              "layer": ("layer", np.array(layers, dtype=str), {"long_name": "mobility layer"}),
              "layer_category": ("layer", np.array(
                  [inputs.categories.get(n) or "none" for n in layers], dtype=str),
                  {"long_name": "traveller category of the layer"}),
              "layer_coupling": ("layer", np.array(
                  [inputs.mobility.layers[n].coupling for n in layers], dtype=str),
                  {"long_name": "visiting (visitors who go home) or relocation (new "
                                "residents)"}),
              "measure": ("measure", np.array(masks.names, dtype=str),
                          {"long_name": "arrival measure of the disease model"}),
              "measure_disease": ("measure", np.array(
                  [spec.arrivals[m].disease for m in masks.names], dtype=str),
                  {"long_name": "disease of the measure"}),
              "measure_long_name": ("measure", np.array(
                  [spec.arrivals[m].long_name for m in masks.names], dtype=str),
                  {"long_name": "what the measure counts"}),
              "horizon": ("horizon", np.array(cfg.horizons_years, dtype=float),
                          {"units": "year", "long_name": "years after entry"}),
              **_policy_coords(cfg.compared())}
    coords = {k: xr.Variable(*v) for k, v in coords.items()}
    coords["pair"] = pair_coordinate(a.origin, a.destination, len(ids))
    ds = xr.Dataset(data, coords=coords)
    ds.attrs = {
        "title": f"healthmob risk for scenario {inputs.scenario}",
        "source": f"healthmob {__version__}",
        "history": f"{pd.Timestamp.now(tz='UTC').isoformat(timespec='seconds')} "
                   "healthmob risk",
        "Conventions": CONVENTIONS,
        "scenario": inputs.scenario,
        "policy": cfg.policy,
        "focus_destination": " ".join(inputs.focus),
        "focus_name": inputs.focus_name,
        "state_date": inputs.state_date,
        "currency": inputs.costs.currency,
        "traveller_categories": " ".join(f"{name}:{inputs.categories.get(name) or 'none'}"
                                         for name in layers),
        "data_sources": DATA_SOURCES,
        "references": "Gostic KM et al. (2015) eLife 4:e05564 (screening); Brockmann D, "
                      "Helbing D (2013) Science 342:1337 (effective distance); programme "
                      "parameters: docs/risk.md",
    }
    return require_conforming(ds, "risk.nc")


def _policy_coords(policies) -> dict:
    def text(values, long_name):
        return ("policy", np.array(values, dtype=str), {"long_name": long_name})
    return {"policy": text([p.name for p in policies], "screening policy"),
            "policy_description": text([p.description for p in policies],
                                       "whom and how the policy screens"),
            "policy_disease": text([p.disease for p in policies], "disease it screens for"),
            "policy_finds": text([p.finds for p in policies],
                                 "arrival measure its yield counts")}


def _corridor_variables(a: CorridorRisk) -> dict:
    return {
        "flow": (CORRIDOR_DIMS, a.flow, {"units": "year-1", "long_name": "travellers from origin "
                                                                    "to destination per year"}),
        "travel_time": (CORRIDOR_DIMS, a.travel_time, {
            "units": "day", "long_name": "travel time of the fastest route"}),
        "arrivals": (("measure", *CORRIDOR_DIMS), a.arrivals, {
            **PER_YEAR, "long_name": "arrivals per year in the states of the measure (no "
                                     "screening)"}),
    }


def _programme_variables(a: CorridorRisk, currency: str) -> dict:
    return {
        "screened": (("policy", *PAIR), a.screened, {
            **PER_YEAR, "long_name": "travellers screened by the policy per year"}),
        "found": (("policy", "measure", *PAIR), a.found, {
            **PER_YEAR, "long_name": "screened travellers the policy truly flags per year, "
                                     "in the states of the measure (NaN for measures of "
                                     "another disease)"}),
        "false_positives": (("policy", *PAIR), a.false_positives, {
            **PER_YEAR, "long_name": "screened travellers without the policy's disease whom "
                                     "it flags per year"}),
        "treated": (("policy", *PAIR), a.treated, {
            **PER_YEAR, "long_name": "screen-positive travellers starting preventive "
                                     "treatment per year"}),
        "programme_cost": (("policy", *PAIR), a.cost, {
            "units": "year-1", "currency": currency, "long_name": f"cost in {currency} of "
            "the tests and preventive treatment per year (NaN: a unit cost is missing from "
            "[costs])"}),
    }
