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

from ..disease.chains import expected_events_by_horizon, propagate
from ..disease.compile import CompiledModel
from ..disease.selection import travellers
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


@dataclass
class CorridorRisk:
    """The kernel's arrays, persons per year (cost: currency per year)."""

    flow: np.ndarray               # (origin, destination, layer)
    travel_time: np.ndarray        # (origin, destination, layer)
    arrivals: np.ndarray           # (measure, origin, destination, layer)
    future: np.ndarray             # (horizon, origin, destination)
    screened: np.ndarray           # (policy, origin, destination)
    found: np.ndarray              # (policy, measure, origin, destination)
    false_positives: np.ndarray    # (policy, origin, destination)
    treated: np.ndarray            # (policy, origin, destination)
    prevented: np.ndarray          # (policy, horizon, origin, destination)
    cost: np.ndarray               # (policy, origin, destination)
    _events: dict = field(default_factory=dict, repr=False)

    @classmethod
    def zeros(cls, n: int, n_layers: int, n_measures: int, n_horizons: int,
              n_policies: int) -> CorridorRisk:
        pair = (n, n)
        return cls(np.zeros((*pair, n_layers)), np.full((*pair, n_layers), np.nan),
                   np.zeros((n_measures, *pair, n_layers)), np.zeros((n_horizons, *pair)),
                   np.zeros((n_policies, *pair)), np.zeros((n_policies, n_measures, *pair)),
                   np.zeros((n_policies, *pair)), np.zeros((n_policies, *pair)),
                   np.zeros((n_policies, n_horizons, *pair)), np.zeros((n_policies, *pair)))


def corridor_bytes(n: int, n_layers: int, n_measures: int, n_horizons: int,
                   n_policies: int) -> float:
    """Bytes of the arrays :meth:`CorridorRisk.zeros` allocates for these sizes."""
    per_pair = (2 * n_layers + n_measures * n_layers + n_horizons
                + n_policies * (4 + n_measures + n_horizons))
    return 8.0 * float(n) ** 2 * per_pair


def corridor_risk(compiled: CompiledModel, state: np.ndarray, mobility: Mobility,
                  masks: Masks, policies: list[Policy], who: Corridors,
                  future: Future | None, costs: CostsConfig,
                  destinations: np.ndarray | None = None) -> CorridorRisk:
    """Every corridor's arrivals and programme results (persons per year) from ``state``
    (P, C), origin by origin; only the corridors into ``destinations`` (a (P,) mask) when
    given. Layers with the same category and the same weights array are one batch per
    origin."""
    layers = list(mobility.layers.items())
    horizons = future.horizons_days if future else ()
    out = CorridorRisk.zeros(mobility.n_places, len(layers), len(masks.names), len(horizons),
                             len(policies))
    stack = masks.stack()
    batches: dict[tuple, list[int]] = {}
    for k, (name, _) in enumerate(layers):
        batches.setdefault((who.categories.get(name), id(who.weights.get(name))), []).append(k)
    generators: dict[int, np.ndarray] = {}
    for (category, _), members in batches.items():
        departures = travellers(state, who.weights.get(layers[members[0]][0]))
        for i in range(mobility.n_places):
            rows = [(k, _row(layers[k][1], i, destinations)) for k in members]
            dest = np.concatenate([row.col for _, row in rows]).astype(int)
            if dest.size == 0:
                continue
            lay = np.concatenate([np.full(row.nnz, k) for k, row in rows])
            batch = _Batch(i, dest, lay,
                           np.concatenate([row.data for _, row in rows]) * DAYS_PER_YEAR,
                           np.concatenate([_travel_times(layers[k][1], i, row.col)
                                           for k, row in rows]),
                           np.array([layers[k][1].coupling == "relocation" for k in lay]),
                           np.array([who.stays.get(layers[k][0], 0.0) for k in lay]),
                           generators.setdefault(i, compiled.generator(i)), departures[i])
            _arrivals(out, batch, stack, compiled, future)
            for j, policy in enumerate(policies):
                eligible = (policy.screens_category(category)
                            & (batch.stay >= policy.min_stay_days)
                            & (who.origin_incidence[i] >= policy.min_origin_incidence))
                if policy.screens and eligible.any():
                    _programme(out, j, batch.subset(eligible), policy, masks, stack,
                               compiled, future, costs)
    return out


@dataclass(frozen=True)
class _Batch:
    """The corridors of one batch of layers out of origin ``i``."""

    i: int
    dest: np.ndarray
    lay: np.ndarray
    per_year: np.ndarray
    tau: np.ndarray
    relocating: np.ndarray
    stay: np.ndarray
    q: np.ndarray
    p: np.ndarray

    def subset(self, keep: np.ndarray) -> _Batch:
        return _Batch(self.i, self.dest[keep], self.lay[keep], self.per_year[keep],
                      self.tau[keep], self.relocating[keep], self.stay[keep], self.q, self.p)


def _arrivals(out: CorridorRisk, b: _Batch, stack: np.ndarray, compiled: CompiledModel,
              future: Future | None) -> None:
    out.flow[b.i, b.dest, b.lay], out.travel_time[b.i, b.dest, b.lay] = b.per_year, b.tau
    arriving = propagate(b.q, b.p[None], b.tau)[:, 0]                 # (n_corr, C)
    out.arrivals[:, b.i, b.dest, b.lay] = (arriving @ stack.T).T * b.per_year
    if future is None or not b.relocating.any():
        return
    rel = b.relocating
    events = _events(out, compiled, future, b)
    for h in range(len(future.horizons_days)):
        np.add.at(out.future[h, b.i], b.dest[rel],
                  b.per_year[rel] * (arriving[rel][:, future.start] @ events[h, future.start]))


def _events(out: CorridorRisk, compiled: CompiledModel, future: Future, b: _Batch
            ) -> np.ndarray:
    """Expected tally events within each horizon from each state, the chain of the batch's
    origin (H, C), computed once per origin."""
    if b.i not in out._events:
        rates = np.zeros(b.q.shape[0])
        np.add.at(rates, compiled.tr_source,
                  compiled.tr_rate[b.i] * compiled.tally_tr[:, future.tally])
        out._events[b.i] = expected_events_by_horizon(b.q, rates, future.horizons_days)
    return out._events[b.i]


def _programme(out: CorridorRisk, j: int, b: _Batch, policy: Policy, masks: Masks,
               stack: np.ndarray, compiled: CompiledModel, future: Future | None,
               costs: CostsConfig) -> None:
    """One policy on the corridors it screens: shares per screened traveller, scaled by the
    screened persons per year."""
    per_screened = _screen(policy, b, masks, costs)
    screened = b.per_year * policy.coverage
    caught = per_screened["caught"]                                      # (n, C)
    np.add.at(out.screened[j, b.i], b.dest, screened)
    for m in range(stack.shape[0]):
        np.add.at(out.found[j, m, b.i], b.dest, screened * (caught @ stack[m]))
    np.add.at(out.false_positives[j, b.i], b.dest, screened * per_screened["false"])
    treats = masks.measures[policy.treats] if policy.treats else np.zeros(caught.shape[1], bool)
    starting = policy.treatment_uptake * (caught[:, treats].sum(axis=1)
                                          + (per_screened["false"] if policy.treats else 0))
    np.add.at(out.treated[j, b.i], b.dest, screened * starting)
    cost = per_screened["tested_cost"] + starting * costs.preventive_treatment
    np.add.at(out.cost[j, b.i], b.dest, screened * cost)
    if future is None:
        return
    if policy.disease != future.disease:
        out.prevented[j, :, b.i, b.dest] = np.nan
        return
    kept_out = per_screened["departure"][:, masks.measures[policy.finds]].sum(axis=1)
    protected = policy.treatment_uptake * policy.treatment_completion * \
        policy.treatment_efficacy
    events = _events(out, compiled, future, b)
    caught_treats = caught[:, treats]
    for h in range(len(future.horizons_days)):
        avoided = caught_treats @ events[h, treats]
        np.add.at(out.prevented[j, h, b.i], b.dest, screened * (kept_out + protected * avoided))


def _screen(policy: Policy, b: _Batch, masks: Masks, costs: CostsConfig) -> dict:
    """Per screened traveller of each corridor: the people truly flagged at each stage by
    state (``departure``, ``arrival``, ``post_entry``: (n, C)) and at every stage
    (``caught``), the false positives (``false``: (n,)) and the cost of the tests done
    (``tested_cost``: (n,))."""
    d = policy.disease
    n, c = len(b.tau), len(b.p)
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
        present = np.broadcast_to(b.p, (n, c))
        for stage in STAGES[:last + 1]:
            if stage == "arrival":
                present = propagate(b.q, present[:1], b.tau)[:, 0]
            elif stage == "post_entry":
                if not post:
                    break
                present = propagate(b.q, present, np.array([delay]))[0]
            true, flagged = flags[stage]
            reached[stage] += weight * present.sum(axis=1)
            stages[stage] += weight * present * true
            false += weight * (present * (flagged - true)).sum(axis=1)
            present = present * (1 - flagged)
    tested_cost = np.zeros(n)
    for screen in policy.screens:
        tested_cost = tested_cost + reached[screen.stage] * costs.test_cost(screen.test)
    return {**stages, "caught": sum(stages.values()), "false": false,
            "tested_cost": tested_cost}


def _row(layer: MobilityLayer, i: int, destinations: np.ndarray | None):
    """Origin ``i``'s corridors of ``layer`` (COO), those into ``destinations`` only."""
    row = layer.flow[[i], :].tocoo()
    if destinations is None:
        return row
    keep = destinations[row.col]
    return type(row)((row.data[keep], (row.row[keep], row.col[keep])), shape=row.shape)


def _travel_times(layer: MobilityLayer, i: int, dest: np.ndarray) -> np.ndarray:
    """Days from ``i`` to each of ``dest`` on ``layer`` (0 where unknown)."""
    if layer.travel_time is None:
        return np.zeros(len(dest))
    row = layer.travel_time[[i], :].toarray()[0][dest]
    return np.where(np.isfinite(row), row, 0.0)
