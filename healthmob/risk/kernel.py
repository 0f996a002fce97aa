"""The risk kernel: per corridor, who arrives in which state, and what each programme finds.

Numeric core (numpy and scipy only). For every corridor (origin, destination, layer) with a
flow, travellers are drawn from the origin's state with the weights of the layer's traveller
category (:mod:`healthmob.disease.selection`: long-stay migrants are not a random sample of
their origin; visitors are). During the journey (travel time tau) and after it, each
traveller's state evolves by the origin's own chain (:mod:`healthmob.disease.chains`), so
everything below is exact for the chain:

* arrivals by measure: travellers arriving in the states of each ``[arrivals]`` measure of
  the model (active TB, latent TB by recency, HIV not on ART, inside the test window...);
* future events: expected events of a tally (new active TB) within each horizon among one
  year's relocating arrivals who arrive in the ``future_from`` states (latent TB);
* programmes (:mod:`healthmob.risk.screening`): for the travellers a policy screens
  (categories, stay, origin incidence), the people its screens flag at departure, on
  arrival or after arrival, by measure; false positives (flagged people without the
  policy's disease); people starting preventive treatment; cases prevented within each
  horizon (cases kept out by a departure screen plus activations avoided by treatment,
  counted within the horizon from the screen);
  and the programme's cost. Person classes for symptom and questionnaire screens follow
  Gostic et al. 2015.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..disease.chains import expected_events_by_horizon, propagate
from ..disease.compile import CompiledModel
from ..disease.selection import CorridorWeights, travellers
from ..mobility.matrix import Mobility, MobilityLayer
from ..units import DAYS_PER_YEAR
from .costs import CostsConfig
from .measures import Masks
from .screening import STAGES, Policy


@dataclass(frozen=True)
class Future:
    """What future events to count: the tally's column and the start states' mask."""

    tally: int
    start: np.ndarray
    horizons_days: tuple[float, ...]
    disease: str
    """The disease of the start states: programmes for another disease prevent none of
    these events (NaN)."""


@dataclass(frozen=True)
class Corridors:
    """Who travels: each layer's category, selection weights and stay (days; inf for a
    relocation), and each origin's TB incidence (per 100,000 per year) for eligibility."""

    categories: dict
    weights: dict
    stays: dict
    origin_incidence: np.ndarray


BATCH_CELLS = 1_000_000
"""Most corridors x compartments propagated together (8 MB per state array of the batch;
the uniformization holds one per term)."""


@dataclass
class CorridorRisk:
    """The kernel's arrays at the place pairs with a flow (``origin[p]`` to
    ``destination[p]``, place indices, sorted by origin then destination), persons per year
    (cost: currency per year). Every array is per pair, never per place pair: a run of
    30,000 places and 300,000 corridors holds 300,000 pairs."""

    origin: np.ndarray             # (pair,)
    destination: np.ndarray        # (pair,)
    flow: np.ndarray               # (pair, layer)
    travel_time: np.ndarray        # (pair, layer)
    arrivals: np.ndarray           # (measure, pair, layer)
    future: np.ndarray             # (horizon, pair)
    screened: np.ndarray           # (policy, pair)
    found: np.ndarray              # (policy, measure, pair)
    false_positives: np.ndarray    # (policy, pair)
    treated: np.ndarray            # (policy, pair)
    prevented: np.ndarray          # (policy, horizon, pair)
    cost: np.ndarray               # (policy, pair)
    _events: dict = field(default_factory=dict, repr=False)

    @classmethod
    def zeros(cls, origin: np.ndarray, destination: np.ndarray, n_layers: int,
              n_measures: int, n_horizons: int, n_policies: int) -> CorridorRisk:
        n = len(origin)
        return cls(origin, destination, np.zeros((n, n_layers)),
                   np.full((n, n_layers), np.nan), np.zeros((n_measures, n, n_layers)),
                   np.zeros((n_horizons, n)), np.zeros((n_policies, n)),
                   np.zeros((n_policies, n_measures, n)), np.zeros((n_policies, n)),
                   np.zeros((n_policies, n)), np.zeros((n_policies, n_horizons, n)),
                   np.zeros((n_policies, n)))

    def into(self, destinations: np.ndarray) -> np.ndarray:
        """Which pairs arrive in ``destinations`` (a (P,) boolean mask)."""
        return destinations[self.destination]


def corridor_risk(compiled: CompiledModel, state: np.ndarray, mobility: Mobility,
                  masks: Masks, policies: list[Policy], who: Corridors,
                  future: Future | None, costs: CostsConfig,
                  destinations: np.ndarray | None = None) -> CorridorRisk:
    """Every corridor's arrivals and programme results (persons per year) from ``state``
    (P, C); only the corridors into ``destinations`` (a (P,) mask) when given.

    Layers with the same category and the same weights array are one batch, and so are the
    origins whose chains are the same (equal transition rates): one uniformization serves
    up to :data:`BATCH_CELLS` / C corridors (a place's own rates make its origin a batch
    of its own).
    """
    names, n = list(mobility.layers), mobility.n_places
    corridors = [_corridors(k, mobility.layers[name], who.stays.get(name, 0.0), destinations)
                 for k, name in enumerate(names)]
    origin, destination = _pairs(corridors, n)
    keys = origin.astype(np.int64) * n + destination
    out = CorridorRisk.zeros(origin, destination, len(names), len(masks.names),
                             len(future.horizons_days) if future else 0, len(policies))
    stack = masks.stack()
    chain, first = _chains(compiled)
    batches: dict[tuple, list[int]] = {}
    for k, name in enumerate(names):
        batches.setdefault((who.categories.get(name), id(who.weights.get(name))), []).append(k)
    for (category, _), members in batches.items():
        weights = who.weights.get(names[members[0]])
        per_corridor = isinstance(weights, CorridorWeights)
        departures = None if per_corridor else travellers(state, weights)
        cols = {f: np.concatenate([corridors[k][f] for k in members]) for f in corridors[0]}
        cols["pair"] = np.searchsorted(keys, cols["i"].astype(np.int64) * n
                                       + cols.pop("destination"))
        order = np.argsort(chain[cols["i"]], kind="stable")
        size = max(1, BATCH_CELLS // compiled.n_compartments)
        for group in _groups(chain[cols["i"]][order], size):
            at = order[group]
            place = int(first[chain[cols["i"][at[0]]]])
            if per_corridor:   # each corridor its own travellers
                i = cols["i"][at]
                p = travellers(state[i], weights.at(i, destination[cols["pair"][at]]))
                which = np.arange(len(at))
            else:
                origins, which = np.unique(cols["i"][at], return_inverse=True)
                p = departures[origins]
            batch = _Batch(place, compiled.generator(place), p, which.ravel(),
                           **{f: v[at] for f, v in cols.items()})
            _arrivals(out, batch, stack, compiled, future)
            for j, policy in enumerate(policies):
                eligible = (policy.screens_category(category)
                            & (batch.stay >= policy.min_stay_days)
                            & (who.origin_incidence[batch.i] >= policy.min_origin_incidence))
                if policy.screens and eligible.any():
                    _programme(out, j, batch.subset(eligible), policy, masks, stack,
                               compiled, future, costs)
    return out


def _corridors(k: int, layer: MobilityLayer, stay: float, destinations: np.ndarray | None
               ) -> dict:
    """Layer ``k``'s corridors (those into ``destinations`` only): origin (``i``) and
    destination indices, persons per year, travel time (days; 0 where unknown), whether
    they relocate, and the stay (days)."""
    flow = sp.coo_array(layer.flow)
    flow.sum_duplicates()
    keep = flow.data > 0
    if destinations is not None:
        keep &= destinations[flow.col]
    i, j = flow.row[keep].astype(np.intp), flow.col[keep].astype(np.intp)
    tau = np.zeros(len(i))
    if layer.travel_time is not None and len(i):
        tau = np.asarray(layer.travel_time[i, j]).ravel()   # 0: no route found
        tau = np.where(np.isfinite(tau), tau, 0.0)
    return {"i": i, "destination": j, "lay": np.full(len(i), k),
            "per_year": flow.data[keep] * DAYS_PER_YEAR, "tau": tau,
            "relocating": np.full(len(i), layer.coupling == "relocation"),
            "stay": np.full(len(i), stay)}


def _pairs(corridors: list[dict], n: int) -> tuple[np.ndarray, np.ndarray]:
    """The place pairs with a corridor on any layer, sorted by origin then destination."""
    keys = np.unique(np.concatenate([c["i"].astype(np.int64) * n + c["destination"]
                                     for c in corridors] or [np.zeros(0, np.int64)]))
    return (keys // n).astype(np.intp), (keys % n).astype(np.intp)


def _chains(compiled: CompiledModel) -> tuple[np.ndarray, np.ndarray]:
    """Each place's chain (places with equal transition rates share one) and the first
    place of each chain."""
    _, first, chain = np.unique(compiled.tr_rate, axis=0, return_index=True,
                                return_inverse=True)
    return chain.ravel(), first


def _groups(sorted_chains: np.ndarray, size: int):
    """Slices of runs of one chain, each at most ``size`` long."""
    bounds = np.flatnonzero(np.diff(sorted_chains)) + 1
    for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(sorted_chains)]):
        for start in range(a, b, size):
            yield slice(start, min(start + size, b))


@dataclass(frozen=True)
class _Batch:
    """Corridors that share one chain (generator ``q``, the chain of place ``place``), with
    the state distributions of their origins' travellers at departure (``p``: (k, C)) and
    the row of ``p`` of each corridor (``which``): their origins ``i``, layers, persons per
    year, travel times (days), whether they relocate, stays (days) and pairs."""

    place: int
    q: np.ndarray
    p: np.ndarray
    which: np.ndarray
    i: np.ndarray
    lay: np.ndarray
    per_year: np.ndarray
    tau: np.ndarray
    relocating: np.ndarray
    stay: np.ndarray
    pair: np.ndarray

    def subset(self, keep: np.ndarray) -> _Batch:
        return _Batch(self.place, self.q, self.p, self.which[keep], self.i[keep],
                      self.lay[keep],
                      self.per_year[keep], self.tau[keep], self.relocating[keep],
                      self.stay[keep], self.pair[keep])


def _arrivals(out: CorridorRisk, b: _Batch, stack: np.ndarray, compiled: CompiledModel,
              future: Future | None) -> None:
    out.flow[b.pair, b.lay], out.travel_time[b.pair, b.lay] = b.per_year, b.tau
    arriving = propagate(b.q, b.p, b.tau, b.which)                       # (n_corr, C)
    out.arrivals[:, b.pair, b.lay] = (arriving @ stack.T).T * b.per_year
    if future is None or not b.relocating.any():
        return
    rel = b.relocating
    events = _events(out, compiled, future, b)
    for h in range(len(future.horizons_days)):
        np.add.at(out.future[h], b.pair[rel],
                  b.per_year[rel] * (arriving[rel][:, future.start] @ events[h, future.start]))


def _events(out: CorridorRisk, compiled: CompiledModel, future: Future, b: _Batch
            ) -> np.ndarray:
    """Expected tally events within each horizon from each state, on the batch's chain
    (H, C), computed once per chain."""
    if b.place not in out._events:
        rates = np.zeros(b.q.shape[0])
        np.add.at(rates, compiled.tr_source,
                  compiled.tr_rate[b.place] * compiled.tally_tr[:, future.tally])
        out._events[b.place] = expected_events_by_horizon(b.q, rates, future.horizons_days)
    return out._events[b.place]


def _programme(out: CorridorRisk, j: int, b: _Batch, policy: Policy, masks: Masks,
               stack: np.ndarray, compiled: CompiledModel, future: Future | None,
               costs: CostsConfig) -> None:
    """One policy on the corridors it screens: shares per screened traveller, scaled by the
    screened persons per year."""
    per_screened = _screen(policy, b, masks, costs)
    screened = b.per_year * policy.coverage
    caught = per_screened["caught"]                                      # (n, C)
    np.add.at(out.screened[j], b.pair, screened)
    for m in range(stack.shape[0]):
        np.add.at(out.found[j, m], b.pair, screened * (caught @ stack[m]))
    np.add.at(out.false_positives[j], b.pair, screened * per_screened["false"])
    treats = masks.measures[policy.treats] if policy.treats else np.zeros(caught.shape[1], bool)
    starting = policy.treatment_uptake * (caught[:, treats].sum(axis=1)
                                          + (per_screened["false"] if policy.treats else 0))
    np.add.at(out.treated[j], b.pair, screened * starting)
    cost = per_screened["tested_cost"] + starting * costs.preventive_treatment
    np.add.at(out.cost[j], b.pair, screened * cost)
    if future is None:
        return
    if policy.disease != future.disease:
        out.prevented[j][:, b.pair] = np.nan
        return
    kept_out = per_screened["departure"][:, masks.measures[policy.finds]].sum(axis=1)
    protected = policy.treatment_uptake * policy.treatment_completion * \
        policy.treatment_efficacy
    events = _events(out, compiled, future, b)
    caught_treats = caught[:, treats]
    for h in range(len(future.horizons_days)):
        avoided = caught_treats @ events[h, treats]
        np.add.at(out.prevented[j, h], b.pair, screened * (kept_out + protected * avoided))


def _screen(policy: Policy, b: _Batch, masks: Masks, costs: CostsConfig) -> dict:
    """Per screened traveller of each corridor: the people truly flagged at each stage by
    state (``departure``, ``arrival``, ``post_entry``: (n, C)) and at every stage
    (``caught``), the false positives (``false``: (n,)) and the cost of the tests done
    (``tested_cost``: (n,))."""
    d = policy.disease
    n, c = len(b.which), b.p.shape[1]
    post = [s for s in policy.screens if s.stage == "post_entry"]
    delay = post[0].delay_days if post else 0.0
    stages = {stage: np.zeros((n, c)) for stage in STAGES}
    last = max(STAGES.index(s.stage) for s in policy.screens)
    reached = {stage: np.zeros(n) for stage in stages}
    false = np.zeros(n)
    for weight, shows, aware in policy.classes():
        if weight == 0:
            continue
        flags = {stage: policy.flag_vectors(stage, masks.detectable[d], masks.infected[d],
                                            masks.symptomatic, shows, aware)
                 for stage in stages}
        present, rows = b.p, b.which        # at departure, one row per origin
        for stage in STAGES[:last + 1]:
            if stage == "arrival":
                present, rows = propagate(b.q, present, b.tau, rows), slice(None)
            elif stage == "post_entry":
                if not post:
                    break
                present = propagate(b.q, present, np.full(n, delay))
            true, flagged = flags[stage]
            reached[stage] += weight * present.sum(axis=1)[rows]
            stages[stage] += weight * (present * true)[rows]
            false += weight * (present * (flagged - true)).sum(axis=1)[rows]
            present = present * (1 - flagged)
    tested_cost = np.zeros(n)
    for screen in policy.screens:
        tested_cost = tested_cost + reached[screen.stage] * costs.test_cost(screen.test)
    return {**stages, "caught": sum(stages.values()), "false": false,
            "tested_cost": tested_cost}
