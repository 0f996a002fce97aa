"""Risk: infected arrivals per corridor, the ones no test could detect, and screening.

For every corridor (origin, destination, layer) with a flow, travellers are drawn from the
origin's state at the chosen time (optionally enriched in infection by
``traveller_risk_ratio``). Departure screens remove some infected travellers; during the
journey each traveller's state evolves by the model's own chain for the corridor's travel
time tau; arrival screens catch some of the rest. Everything is exact for the chain
(:mod:`healthmob.phasetype`):

* ``undetectable_arrivals``: infected arrivals who were, throughout the journey, in states
  that none of the reference tests can detect, ``alpha exp(Q_U tau) 1`` with ``Q_U`` the
  generator restricted to those states (DESIGN.md section 2);
* ``missed_arrivals (policy)``: infected arrivals the policy's screens do not catch, with the
  person-level classes of Gostic et al. 2015 (:mod:`healthmob.screening`);
* expected active TB (or any tally) within 2 and 5 years from people who relocate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from .. import __version__
from ..disease.chains import expected_events, propagate
from ..disease.compile import CompiledModel
from ..disease.spec import ModelSpec, select
from ..mobility.matrix import Mobility
from ..results import place_coords
from ..schema import CONVENTIONS, PER_100K_YEAR_UNITS, check_dataset
from ..units import DAYS_PER_YEAR
from .screening import BUILT_IN, SYMPTOMS, Policy, policy_from_config

log = logging.getLogger(__name__)

DATA_SOURCES = ("Natural Earth; OpenFlights (ODbL); WHO Global TB Programme; UNAIDS via World "
                "Bank and Our World in Data; UN DESA International Migrant Stock 2019; "
                "GeoDataSource country borders (CC BY-SA 4.0)")


@dataclass(frozen=True)
class RiskInputs:
    """What the risk stage reads: model, state, places and mobility."""

    spec: ModelSpec
    model: CompiledModel
    state: np.ndarray            # (P, C) persons at the chosen time
    places: pd.DataFrame
    mobility: Mobility
    scenario: str


def masks(spec: ModelSpec, model: CompiledModel, reference_tests: list[str]) -> dict:
    """Compartment masks the risk stage needs (all boolean arrays of length C).

    ``undetectable`` marks infected compartments that none of ``reference_tests`` (every
    test the model declares when empty) can detect.
    """
    ids = spec.compartment_ids
    reference_tests = reference_tests or sorted({t for c in spec.compartments
                                                 for t in c.detectable_by})
    infected = np.zeros(len(ids), dtype=bool)
    infected[[ids.index(c) for c in select(spec.infected, ids)]] = True
    detectable = {}
    for c, comp in enumerate(spec.compartments):
        for test in comp.detectable_by:
            detectable.setdefault(test, np.zeros(len(ids), dtype=bool))[c] = True
    any_reference = np.zeros(len(ids), dtype=bool)
    for test in reference_tests:
        any_reference |= detectable.get(test, np.zeros(len(ids), dtype=bool))
    return {
        "infected": infected,
        "infectious": model.inf_weight.max(axis=0) > 0,
        "symptomatic": np.array([c.symptomatic for c in spec.compartments]),
        "undetectable": infected & ~any_reference,
        "detectable": detectable,
    }


def assess_risk(inputs: RiskInputs, cfg: dict) -> xr.Dataset:
    """Risk per corridor and per destination (persons per year), as a CF dataset.

    Parameters
    ----------
    inputs : RiskInputs
    cfg : dict
        The resolved ``[risk]`` table (docs/config.md).
    """
    spec, model, mobility = inputs.spec, inputs.model, inputs.mobility
    m = masks(spec, model, cfg["reference_tests"])
    policies = [policy_from_config(name, cfg["policies"]) for name in cfg["compare"]]
    layers = list(mobility.layers)
    n, n_comp, n_pol = mobility.n_places, len(spec.compartments), len(policies)
    shape = (n, n, len(layers))
    flow, travel_time = np.zeros(shape), np.full(shape, np.nan)
    infected_arr, undetectable, undetectable_inf = (np.zeros(shape) for _ in range(3))
    missed = np.zeros((n_pol, *shape))
    detected_dep, detected_arr, false_pos = (np.zeros((n_pol, n)) for _ in range(3))
    arrivals_state = np.zeros((n, n_comp))        # by destination, per year
    relocating_state = np.zeros((n, n, n_comp))   # origin, destination
    departures = _departure_distributions(inputs.state, m["infected"],
                                          cfg["traveller_risk_ratio"])
    u = m["undetectable"]
    for i in range(n):
        corridors = [(k, layer.flow[[i], :].tocoo()) for k, layer in enumerate(
            mobility.layers.values())]
        dest = np.concatenate([c.col for _, c in corridors]).astype(int)
        if dest.size == 0:
            continue
        lay = np.concatenate([np.full(c.nnz, k) for k, c in corridors])
        per_year = np.concatenate([c.data for _, c in corridors]) * DAYS_PER_YEAR
        tau = np.array([_travel_time(mobility.layers[layers[k]], i, j)
                        for k, j in zip(lay, dest)])
        flow[i, dest, lay], travel_time[i, dest, lay] = per_year, tau
        q = model.generator(i)
        p = departures[i]
        # policy-independent: the arriving distribution without screening, and first passage
        # through the undetectable states
        arriving = propagate(q, p[None], tau)[:, 0]                     # (n_corr, C)
        staying = propagate(q[np.ix_(u, u)], p[u][None], tau)[:, 0]     # (n_corr, |U|)
        infected_arr[i, dest, lay] = per_year * (arriving[:, m["infected"]].sum(axis=1))
        undetectable[i, dest, lay] = per_year * staying.sum(axis=1)
        undetectable_inf[i, dest, lay] = per_year * staying[:, m["infectious"][u]].sum(axis=1)
        np.add.at(arrivals_state, dest, per_year[:, None] * arriving)
        relocating = np.array([mobility.layers[layers[k]].coupling == "relocation"
                               for k in lay])
        np.add.at(relocating_state[i], dest[relocating],
                  per_year[relocating, None] * arriving[relocating])
        for j, policy in enumerate(policies):
            caught_dep, caught_arr, lost = _screen(policy, q, p, tau, m)
            missed[j, i, dest, lay] = per_year * lost
            np.add.at(detected_dep[j], dest, per_year * caught_dep)
            np.add.at(detected_arr[j], dest, per_year * caught_arr)
            uninfected = 1.0 - p[m["infected"]].sum()
            np.add.at(false_pos[j], dest, per_year * uninfected * policy.false_positive_rate())
    return _dataset(inputs, cfg, layers, policies, m, flow, travel_time, infected_arr,
                    undetectable, undetectable_inf, missed, detected_dep, detected_arr,
                    false_pos, arrivals_state, relocating_state)


def _departure_distributions(state: np.ndarray, infected: np.ndarray, ratio: float):
    """Traveller state distribution per origin: the population's, with the infected share
    multiplied by ``ratio`` (capped at 1) and the uninfected share scaled to compensate."""
    share = state / np.maximum(state.sum(axis=1, keepdims=True), 1e-300)
    inf = share[:, infected].sum(axis=1, keepdims=True)
    factor_inf = np.minimum(ratio, 1.0 / np.maximum(inf, 1e-300))
    factor_un = (1.0 - inf * factor_inf) / np.maximum(1.0 - inf, 1e-300)
    return np.where(infected[None, :], share * factor_inf, share * factor_un)


def _travel_time(layer, i: int, j: int) -> float:
    if layer.travel_time is None:
        return 0.0
    value = layer.travel_time[i, j]
    return float(value) if np.isfinite(value) else 0.0


def _screen(policy: Policy, q: np.ndarray, p: np.ndarray, tau: np.ndarray, m: dict):
    """Infected travellers caught at departure, caught at arrival, and missed by every
    screen, per corridor (shares of all travellers)."""
    inf = m["infected"]
    caught_dep, caught_arr, lost = (np.zeros(len(tau)) for _ in range(3))
    for weight, shows, aware in policy.classes():
        if weight == 0:
            continue
        keep_dep = policy.miss_vector("departure", m["detectable"], inf, m["symptomatic"],
                                      shows, aware)
        keep_arr = policy.miss_vector("arrival", m["detectable"], inf, m["symptomatic"],
                                      shows, aware)
        caught_dep += weight * float((p * (1 - keep_dep))[inf].sum())
        after = propagate(q, (p * keep_dep)[None], tau)[:, 0]
        lost += weight * (after * keep_arr)[:, inf].sum(axis=1)
        caught_arr += weight * (after * (1 - keep_arr))[:, inf].sum(axis=1)
    return caught_dep, caught_arr, lost


def _dataset(inputs, cfg, layers, policies, m, flow, travel_time, infected_arr, undetectable,
             undetectable_inf, missed, detected_dep, detected_arr, false_pos, arrivals_state,
             relocating_state) -> xr.Dataset:
    spec, places = inputs.spec, inputs.places
    population = places["population"].to_numpy(dtype=float)
    ids = places["id"].to_numpy(dtype=str)
    per_year = {"units": "year-1", "cell_methods": "time: sum"}
    corridor = ("origin", "destination", "layer")
    total = undetectable.sum(axis=(0, 2))
    infectious_total = undetectable_inf.sum(axis=(0, 2))
    data = {
        "flow": (corridor, flow, {"units": "year-1",
                                  "long_name": "travellers from origin to destination per year"}),
        "travel_time": (corridor, travel_time, {
            "units": "day", "long_name": "travel time of the fastest route"}),
        "infected_arrivals": (corridor, infected_arr, {
            **per_year, "long_name": "infected travellers arriving per year (no screening)"}),
        "undetectable_arrivals": (corridor, undetectable, {
            **per_year, "long_name": "infected arrivals per year that no reference test can "
                                     "detect during the journey and on arrival"}),
        "missed_arrivals": (("policy", *corridor), missed, {
            **per_year, "long_name": "infected arrivals per year that the screening policy "
                                     "does not detect"}),
        "undetectable_arrivals_total": (("place",), total, {
            **per_year, "long_name": "undetectable infected arrivals per year at the "
                                     "destination"}),
        "undetectable_arrivals_per_100k": (("place",), total / population * 1e5, {
            "units": PER_100K_YEAR_UNITS, "long_name": "undetectable infected arrivals per 100,000 "
                                                 "destination population per year"}),
        "p_undetectable_infectious_arrival": (("place",), 1 - np.exp(-infectious_total), {
            "units": "1", "long_name": "probability of at least one undetectable infectious "
                                       "arrival in a year (Poisson)"}),
        "detected_departure": (("policy", "place"), detected_dep, {
            **per_year, "long_name": "infected travellers to the destination stopped by "
                                     "departure screening per year"}),
        "detected_arrival": (("policy", "place"), detected_arr, {
            **per_year, "long_name": "infected travellers detected by arrival screening per "
                                     "year"}),
        "missed_arrivals_total": (("policy", "place"), missed.sum(axis=(1, 3)), {
            **per_year, "long_name": "infected arrivals per year missed by the policy"}),
        "false_positives": (("policy", "place"), false_pos, {
            **per_year, "long_name": "uninfected travellers flagged by the screens per year"}),
        "arrivals_by_state": (("place", "compartment"), arrivals_state, {
            **per_year, "long_name": "arrivals per year by disease state on arrival "
                                     "(no screening)"}),
    }
    ids_c = spec.compartment_ids
    for name, out in spec.outputs.items():
        if out.is_tally_ratio:
            continue
        mask = np.isin(ids_c, select(out.numerator, ids_c))
        data[f"{name}_arrivals"] = (("place",), arrivals_state[:, mask].sum(axis=1), {
            **per_year, "long_name": f"arrivals per year counted in {out.long_name} "
                                     "(no screening)"})
    if cfg["future_tally"]:
        data.update(_future_cases(inputs, cfg, relocating_state))
    coords = {**place_coords(places),
              "origin": ("origin", ids, {"long_name": "place of departure"}),
              "destination": ("destination", ids, {"long_name": "place of arrival"}),
              "layer": ("layer", np.array(layers, dtype=str), {"long_name": "mobility layer"}),
              "policy": ("policy", np.array([p.name for p in policies], dtype=str),
                         {"long_name": "screening policy"}),
              "policy_description": ("policy", np.array([p.description for p in policies],
                                                        dtype=str),
                                     {"long_name": "what the policy screens"}),
              "compartment": ("compartment", np.array(ids_c, dtype=str),
                              {"long_name": "compartment id of the disease model"})}
    ds = xr.Dataset(data, coords={k: xr.Variable(*v) for k, v in coords.items()})
    ds.attrs = {
        "title": f"healthmob risk for scenario {inputs.scenario}",
        "source": f"healthmob {__version__}",
        "history": f"{pd.Timestamp.now(tz='UTC').isoformat(timespec='seconds')} "
                   "healthmob risk",
        "Conventions": CONVENTIONS,
        "scenario": inputs.scenario,
        "policy": cfg["policy"],
        "reference_tests": " ".join(cfg["reference_tests"] or sorted(m["detectable"])),
        "traveller_risk_ratio": cfg["traveller_risk_ratio"],
        "data_sources": DATA_SOURCES,
        "references": "Gostic KM et al. (2015) eLife 4:e05564 (screening); Brockmann D, "
                      "Helbing D (2013) Science 342:1337 (effective distance)",
    }
    problems = check_dataset(ds)
    assert not problems, problems
    return ds


def _future_cases(inputs: RiskInputs, cfg: dict, relocating_state: np.ndarray) -> dict:
    """Expected ``future_tally`` events at the destination within each horizon, from people
    who relocate in the states of the ``future_from`` output (e.g. latent TB)."""
    spec, model = inputs.spec, inputs.model
    ids = spec.compartment_ids
    start = np.isin(ids, select(spec.outputs[cfg["future_from"]].numerator, ids))
    k = model.tally_names.index(cfg["future_tally"])
    out = {}
    for years in cfg["horizons_years"]:
        expected = np.zeros(model.n_places)
        for i in np.flatnonzero(relocating_state.sum(axis=(1, 2)) > 0):
            rates = np.zeros(len(ids))
            np.add.at(rates, model.tr_source, model.tr_rate[i] * model.tally_tr[:, k])
            events = expected_events(model.generator(i), rates, years * DAYS_PER_YEAR)
            expected += relocating_state[i][:, start] @ events[start]
        label = f"{years:g}".replace(".", "_")
        out[f"future_{cfg['future_tally']}_{label}y"] = (("place",), expected, {
            "units": "year-1",
            "long_name": f"expected {spec.tallies[cfg['future_tally']]} within {years:g} "
                         f"years among one year's relocating arrivals in "
                         f"{cfg['future_from']} states"})
    return out


RISK_DEFAULTS = {
    "enabled": True, "time": "start", "policy": "none", "compare": [], "policies": {},
    "reference_tests": [], "traveller_risk_ratio": 1.0, "future_tally": "auto",
    "future_from": "auto", "horizons_years": [2.0, 5.0],
}


def validate_risk_config(table, spec: ModelSpec | None, where: str = "risk"):
    """Fill the ``[risk]`` defaults and list every problem (docs/config.md)."""
    problems: list[str] = []
    if not isinstance(table, dict):
        return dict(RISK_DEFAULTS), [f"{where} must be a table; got {table!r}"]
    out = {**RISK_DEFAULTS, **table}
    for extra in sorted(set(table) - set(RISK_DEFAULTS) - {"arrival"}):
        problems.append(f"{where}.{extra} is not a known key; valid keys: "
                        f"{sorted(set(RISK_DEFAULTS) | {'arrival'})}")
    out["arrival"] = _check_arrival(table.get("arrival", {}), f"{where}.arrival", problems)
    custom = out["policies"] if isinstance(out["policies"], dict) else {}
    for name, entry in custom.items():
        _check_policy(entry, f"{where}.policies.{name}", problems)
    known = sorted(set(BUILT_IN) | set(custom))
    if not out["compare"]:
        out["compare"] = [out["policy"]] + [p for p in BUILT_IN if p != out["policy"]]
    for key in ("policy", "compare"):
        for name in (out[key] if key == "compare" else [out[key]]):
            if name not in known:
                problems.append(f"{where}.{key} must name a policy {known}; got {name!r}")
    if out["time"] not in ("start", "end"):
        problems.append(f"{where}.time must be 'start' or 'end'; got {out['time']!r}")
    ratio = out["traveller_risk_ratio"]
    if not isinstance(ratio, (int, float)) or isinstance(ratio, bool) or ratio < 0:
        problems.append(f"{where}.traveller_risk_ratio must be a number >= 0; got {ratio!r}")
    if spec is not None:
        declared = {t for c in spec.compartments for t in c.detectable_by}
        if out["enabled"] and not declared:
            problems.append(f"model {spec.name!r} declares no detectable_by on any compartment:"
                            f" the risk stage needs them (or set {where}.enabled = false)")
        for test in out["reference_tests"]:
            if test not in declared:
                problems.append(f"{where}.reference_tests: {test!r} is not a test of model "
                                f"{spec.name!r} {sorted(declared)}")
        _auto_future(out, spec, where, problems)
    return out, problems


def _auto_future(out, spec, where, problems):
    if out["future_tally"] == "auto":
        out["future_tally"] = "tb_incidence" if "tb_incidence" in spec.tallies else ""
    if out["future_from"] == "auto":
        out["future_from"] = "ltbi_prevalence" if "ltbi_prevalence" in spec.outputs else ""
    if bool(out["future_tally"]) != bool(out["future_from"]):
        problems.append(f"{where}.future_tally and future_from must be given together")
    if out["future_tally"] and out["future_tally"] not in spec.tallies:
        problems.append(f"{where}.future_tally must be a tally {sorted(spec.tallies)}; "
                        f"got {out['future_tally']!r}")
    if out["future_from"] and out["future_from"] not in spec.outputs:
        problems.append(f"{where}.future_from must be an output {sorted(spec.outputs)}; "
                        f"got {out['future_from']!r}")


def _check_arrival(table, where, problems) -> dict:
    from .arrival import ARRIVAL_DEFAULTS

    if not isinstance(table, dict):
        problems.append(f"{where} must be a table; got {table!r}")
        return dict(ARRIVAL_DEFAULTS)
    out = {**ARRIVAL_DEFAULTS, **table}
    for extra in sorted(set(table) - set(ARRIVAL_DEFAULTS)):
        problems.append(f"{where}.{extra} is not a known key; valid keys: "
                        f"{sorted(ARRIVAL_DEFAULTS)}")
    for key in ("members", "seed_count", "threshold"):
        value = out[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            problems.append(f"{where}.{key} must be an integer >= 1; got {value!r}")
    for key in ("seed_place", "model", "duration"):
        if not isinstance(out[key], str):
            problems.append(f"{where}.{key} must be a string; got {out[key]!r}")
    return out


def _check_policy(entry, key, problems):
    if not isinstance(entry, dict) or not isinstance(entry.get("screens"), list):
        problems.append(f"{key} must be a table with screens = [ {{stage, test, sensitivity}} ]")
        return
    for extra in sorted(set(entry) - {"description", "screens", "share_symptomatic",
                                      "share_aware"}):
        problems.append(f"{key}.{extra} is not a known key")
    for name in ("share_symptomatic", "share_aware"):
        value = entry.get(name, 0.5)
        if not isinstance(value, (int, float)) or not 0 <= value <= 1:
            problems.append(f"{key}.{name} must be in [0, 1]; got {value!r}")
    for i, screen in enumerate(entry["screens"]):
        where = f"{key}.screens[{i}]"
        if not isinstance(screen, dict):
            problems.append(f"{where} must be a table")
            continue
        if screen.get("stage") not in ("departure", "arrival"):
            problems.append(f"{where}.stage must be 'departure' or 'arrival'; "
                            f"got {screen.get('stage')!r}")
        if not isinstance(screen.get("test"), str):
            problems.append(f"{where}.test must be a test name (e.g. {SYMPTOMS!r}, 'cxr')")
        for name in ("sensitivity", "specificity"):
            value = screen.get(name, 1.0)
            if not isinstance(value, (int, float)) or isinstance(value, bool) \
                    or not 0 <= value <= 1:
                problems.append(f"{where}.{name} must be in [0, 1]; got {value!r}")
