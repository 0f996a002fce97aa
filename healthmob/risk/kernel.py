"""The risk kernel: per corridor, who arrives infected, undetectable or missed by a policy.

Numeric core (numpy and scipy only). For every corridor (origin, destination, layer) with a
flow, travellers are drawn from the origin's state with the weights of the layer's traveller
category (:mod:`healthmob.disease.selection`: long-stay migrants are not a random sample of
their origin; visitors are). Departure screens remove some infected travellers; during the
journey each traveller's state evolves by the model's own chain for the corridor's travel
time tau; arrival screens catch some of the rest. A policy screens only the categories it
applies to (pre-entry X-ray is for long-stay migrants, not visitors). Everything is exact
for the chain (:mod:`healthmob.disease.chains`):

* undetectable arrivals: infected arrivals who were, throughout the journey, in states that
  none of the reference tests can detect, ``alpha exp(Q_U tau) 1`` with ``Q_U`` the
  generator restricted to those states (DESIGN.md section 2);
* missed arrivals (per policy): infected arrivals the policy's screens do not catch, with
  the person-level classes of Gostic et al. 2015 (:mod:`healthmob.risk.screening`);
* expected events of a tally (active TB) within a horizon among people who relocate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..disease.chains import expected_events, propagate
from ..disease.compile import CompiledModel
from ..disease.selection import travellers
from ..disease.spec import ModelSpec, select
from ..mobility.matrix import Mobility, MobilityLayer
from ..units import DAYS_PER_YEAR
from .screening import Policy


def masks(spec: ModelSpec, compiled: CompiledModel, reference_tests) -> dict:
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
        "infectious": compiled.inf_weight.max(axis=0) > 0,
        "symptomatic": np.array([c.symptomatic for c in spec.compartments]),
        "undetectable": infected & ~any_reference,
        "detectable": detectable,
    }


@dataclass
class CorridorRisk:
    """The kernel's arrays, persons per year: corridors ``(origin, destination, layer)``,
    policies first where they differ."""

    flow: np.ndarray
    travel_time: np.ndarray
    infected: np.ndarray
    undetectable: np.ndarray
    undetectable_infectious: np.ndarray
    missed: np.ndarray            # (policy, origin, destination, layer)
    detected_departure: np.ndarray  # (policy, destination)
    detected_arrival: np.ndarray    # (policy, destination)
    false_positives: np.ndarray     # (policy, destination)
    arrivals_by_state: np.ndarray   # (destination, compartment)
    relocating_by_state: np.ndarray  # (origin, destination, compartment)

    @classmethod
    def zeros(cls, n: int, n_layers: int, n_policies: int, n_comp: int) -> CorridorRisk:
        shape = (n, n, n_layers)
        return cls(np.zeros(shape), np.full(shape, np.nan), np.zeros(shape), np.zeros(shape),
                   np.zeros(shape), np.zeros((n_policies, *shape)),
                   *(np.zeros((n_policies, n)) for _ in range(3)), np.zeros((n, n_comp)),
                   np.zeros((n, n, n_comp)))


def corridor_risk(compiled: CompiledModel, state: np.ndarray, mobility: Mobility, m: dict,
                  policies: list[Policy], categories: dict, weights: dict) -> CorridorRisk:
    """Every corridor's arrivals (persons per year) from ``state`` (P, C), origin by origin.

    ``categories``: layer name -> traveller category (None: not a category); ``weights``:
    layer name -> (P, C) selection weights of its travellers (absent: a random sample).
    Layers with the same category and the same weights array are one batch per origin.
    """
    layers = list(mobility.layers.items())
    out = CorridorRisk.zeros(mobility.n_places, len(layers), len(policies), state.shape[1])
    batches: dict[tuple, list[int]] = {}
    for k, (name, _) in enumerate(layers):
        batches.setdefault((categories.get(name), id(weights.get(name))), []).append(k)
    for (category, _), members in batches.items():
        departures = travellers(state, weights.get(layers[members[0]][0]))
        screened = [policy.screens_category(category) for policy in policies]
        for i in range(mobility.n_places):
            rows = [(k, layers[k][1].flow[[i], :].tocoo()) for k in members]
            dest = np.concatenate([row.col for _, row in rows]).astype(int)
            if dest.size == 0:
                continue
            lay = np.concatenate([np.full(row.nnz, k) for k, row in rows])
            per_year = np.concatenate([row.data for _, row in rows]) * DAYS_PER_YEAR
            tau = np.array([_travel_time(layers[k][1], i, j) for k, j in zip(lay, dest)])
            relocating = np.array([layers[k][1].coupling == "relocation" for k in lay])
            _batch_risk(out, i, dest, lay, per_year, tau, relocating, compiled.generator(i),
                        departures[i], m, policies, screened)
    return out


def _batch_risk(out, i, dest, lay, per_year, tau, relocating, q, p, m, policies,
                screened) -> None:
    """The corridors of one batch of layers out of origin ``i``: destinations, layers,
    flows, travel times; ``screened``: per policy, whether its screens apply to them."""
    u = m["undetectable"]
    out.flow[i, dest, lay], out.travel_time[i, dest, lay] = per_year, tau
    # policy-independent: the arriving distribution without screening, and first passage
    # through the undetectable states
    arriving = propagate(q, p[None], tau)[:, 0]                     # (n_corr, C)
    staying = (propagate(q[np.ix_(u, u)], p[u][None], tau)[:, 0] if u.any()
               else np.zeros((len(tau), 0)))                         # (n_corr, |U|)
    infected = arriving[:, m["infected"]].sum(axis=1)
    out.infected[i, dest, lay] = per_year * infected
    out.undetectable[i, dest, lay] = per_year * staying.sum(axis=1)
    out.undetectable_infectious[i, dest, lay] = per_year * staying[
        :, m["infectious"][u]].sum(axis=1)
    np.add.at(out.arrivals_by_state, dest, per_year[:, None] * arriving)
    np.add.at(out.relocating_by_state[i], dest[relocating],
              per_year[relocating, None] * arriving[relocating])
    uninfected = 1.0 - p[m["infected"]].sum()
    for j, policy in enumerate(policies):
        if not screened[j]:
            out.missed[j, i, dest, lay] = per_year * infected
            continue
        caught_dep, caught_arr, lost = screen_corridors(policy, q, p, tau, m)
        out.missed[j, i, dest, lay] = per_year * lost
        np.add.at(out.detected_departure[j], dest, per_year * caught_dep)
        np.add.at(out.detected_arrival[j], dest, per_year * caught_arr)
        np.add.at(out.false_positives[j], dest,
                  per_year * uninfected * policy.false_positive_rate())


def _travel_time(layer: MobilityLayer, i: int, j: int) -> float:
    if layer.travel_time is None:
        return 0.0
    value = layer.travel_time[i, j]
    return float(value) if np.isfinite(value) else 0.0


def screen_corridors(policy: Policy, q: np.ndarray, p: np.ndarray, tau: np.ndarray, m: dict):
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


def future_events(spec: ModelSpec, compiled: CompiledModel, relocating: np.ndarray,
                  tally: str, start_output: str, years: float) -> np.ndarray:
    """Expected ``tally`` events per destination within ``years`` among one year's
    relocating arrivals (``relocating``: origin, destination, compartment) who arrive in the
    states of output ``start_output`` (e.g. latent TB)."""
    ids = spec.compartment_ids
    start = np.isin(ids, select(spec.outputs[start_output].numerator, ids))
    k = compiled.tally_names.index(tally)
    expected = np.zeros(compiled.n_places)
    for i in np.flatnonzero(relocating.sum(axis=(1, 2)) > 0):
        rates = np.zeros(len(ids))
        np.add.at(rates, compiled.tr_source, compiled.tr_rate[i] * compiled.tally_tr[:, k])
        events = expected_events(compiled.generator(i), rates, years * DAYS_PER_YEAR)
        expected += relocating[i][:, start] @ events[start]
    return expected
