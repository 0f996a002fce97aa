"""The risk stage's uncertainty ensemble: intervals for every headline number.

``[risk.uncertainty] members = N`` draws N members by Latin hypercube sampling
(:class:`scipy.stats.qmc.LatinHypercube`) over

* every model parameter with a declared ``range`` that the traveller's chain or the
  traveller selection uses (transition rates, selection ratios), except those the run's
  calibration fitted per place: triangular between the range's ends with its mode at the
  declared value, so the point estimate stays the most likely value;
* each origin's TB incidence within WHO's uncertainty bounds (``tb_incidence_per_100k_lo``
  and ``_hi``, triangular with the mode at the best estimate): the origin's people with
  active TB or a recent infection (:data:`INCIDENCE_STATES`) are scaled by the drawn
  incidence over the best one, everyone else to keep the population;
* the preventive-treatment efficacy of each policy that declares a
  ``treatment_efficacy_range``.

The simulated state is held fixed (each member re-runs the risk kernel, not the
simulation). Each member is summarised over the focus destinations (every destination
without a focus) by origin, in total and per policy; the 2.5%, 50% and 97.5% quantiles
over the members become ``interval_origins``, ``interval_total`` and
``interval_programme`` of ``risk.nc``. Members depend only on their row of the sample, so
the result is the same on any executor and any number of workers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from .. import units as _units
from ..disease.compile import CompiledModel, compile_model
from ..disease.selection import selection_weights
from ..disease.spec import ModelSpec
from ..mobility.matrix import Mobility
from ..outputs.programmes import programme_row
from ..units import DAYS_PER_YEAR
from .costs import CostsConfig
from .kernel import CorridorRisk, Corridors, Future, corridor_risk
from .measures import Masks
from .screening import Policy

QUANTILES = (0.025, 0.5, 0.975)


@dataclass(frozen=True)
class Draws:
    """The sampled inputs of every member."""

    names: tuple[str, ...]
    values: np.ndarray          # (members, parameters), base units
    incidence_factor: np.ndarray  # (members, places)
    efficacy: np.ndarray        # (members, policies); NaN: the policy's own value


@dataclass(frozen=True)
class MemberInputs:
    """Everything a member needs (picklable, shipped once to each worker)."""

    spec: ModelSpec
    compiled: CompiledModel
    state: np.ndarray
    mobility: Mobility
    who: Corridors
    policies: tuple[Policy, ...]
    future: Future | None
    costs: CostsConfig
    focus: np.ndarray           # (places,) bool: the destinations summarised
    draws: Draws


def sampled_parameters(spec: ModelSpec, fitted) -> list[str]:
    """Ranged parameters of the chain's transitions and of the selection ratios, minus the
    fitted or fixed ones (``fitted``)."""
    used = {name for tr in spec.transitions for name in tr.rate.names()}
    used |= {f.ratio for factors in spec.selection.values() for f in factors}
    return [name for name, p in spec.parameters.items()
            if p.range and name in used and name not in fitted]


def draw(spec: ModelSpec, places, policies: list[Policy], fitted, members: int,
         seed: int) -> Draws:
    """The Latin hypercube sample of :mod:`this module <healthmob.risk.uncertainty>`."""
    names = sampled_parameters(spec, fitted)
    best = places["tb_incidence_per_100k"].to_numpy(float) \
        if "tb_incidence_per_100k" in places else np.full(len(places), np.nan)
    lo = places.get("tb_incidence_per_100k_lo", best)
    hi = places.get("tb_incidence_per_100k_hi", best)
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    ranged = np.isfinite(best) & np.isfinite(lo) & np.isfinite(hi) & (hi > lo) & (best > 0)
    with_efficacy = [j for j, p in enumerate(policies) if p.treatment_efficacy_range]
    d = len(names) + int(ranged.sum()) + len(with_efficacy)
    from scipy.stats import qmc  # slow to import: only when intervals are asked for

    u = qmc.LatinHypercube(d=max(d, 1), seed=np.random.default_rng(seed)).random(members)
    values = np.empty((members, len(names)))
    for k, name in enumerate(names):
        p = spec.parameters[name]
        low, high = (_units.convert(v, p.units)[0] for v in p.range)
        values[:, k] = _triangular(u[:, k], low, p.base_value, high)
    factor = np.ones((members, len(places)))
    cols = len(names) + np.arange(int(ranged.sum()))
    factor[:, ranged] = _triangular(u[:, cols], lo[ranged], best[ranged], hi[ranged]) / \
        best[ranged]
    efficacy = np.full((members, len(policies)), np.nan)
    for n, j in enumerate(with_efficacy):
        low, high = policies[j].treatment_efficacy_range
        efficacy[:, j] = _triangular(u[:, len(names) + int(ranged.sum()) + n], low,
                                     policies[j].treatment_efficacy, high)
    return Draws(tuple(names), values, factor, efficacy)


def _triangular(u, low, mode, high):
    from scipy.stats import triang  # with qmc, above

    low, mode, high = (np.asarray(v, dtype=float) for v in (low, mode, high))
    mode = np.clip(mode, low, high)
    width = high - low
    c = np.divide(mode - low, width, out=np.zeros_like(width), where=width > 0)
    return triang.ppf(u, c, loc=low, scale=width)


def run_member(k: int, shared: MemberInputs) -> dict:
    """Member ``k``: the kernel with its draws, summarised (:func:`summarise`), on one BLAS
    thread, so that a member's bits do not depend on where it runs (the caller's process
    may use several BLAS threads, a dask worker uses one)."""
    with threadpool_limits(limits=1, user_api="blas"):
        return _member(k, shared)


def _member(k: int, m: MemberInputs) -> dict:
    values = {**m.compiled.values}
    for j, name in enumerate(m.draws.names):
        values[name] = np.full(m.compiled.n_places, m.draws.values[k, j])
    compiled = compile_model(m.spec, m.compiled.n_places, values)
    state = scale_tb(m.spec, m.state, m.draws.incidence_factor[k])
    weights = {name: (selection_weights(m.spec, compiled.values, state, category)
                      if category in m.spec.selection else m.who.weights[name])
               for name, category in m.who.categories.items() if name in m.who.weights}
    who = dataclasses.replace(m.who, weights=weights)
    policies = [p if np.isnan(e) else dataclasses.replace(p, treatment_efficacy=float(e))
                for p, e in zip(m.policies, m.draws.efficacy[k])]
    masks = Masks.of(m.spec)
    a = corridor_risk(compiled, state, m.mobility, masks, policies, who, m.future, m.costs,
                      destinations=m.focus)
    return summarise(a, masks, m)


INCIDENCE_STATES = ("tb_active", "tb_latent_recent", "tb_latent_early")
"""The measures whose states scale with the origin's TB incidence: active TB and the recent
infections that feed it (remote latent infection reflects past transmission, not the
current incidence, and is left alone)."""


def scale_tb(spec: ModelSpec, state: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """``state`` with each place's people in :data:`INCIDENCE_STATES` scaled by ``factor``
    (P,) and everyone else scaled to keep the place's population (the factor is capped
    where nobody else would be left)."""
    states = [c for name in INCIDENCE_STATES if name in spec.arrivals
              for c in spec.arrivals[name].states]
    if not states or np.all(factor == 1):
        return state
    state = np.clip(state, 0.0, None)   # the solver's last bits can be a hair below zero
    scaled = np.isin(spec.compartment_ids, states)
    total = state.sum(axis=1)
    tb, rest = state[:, scaled].sum(axis=1), state[:, ~scaled].sum(axis=1)
    factor = np.minimum(factor, np.divide(total, tb, out=np.ones_like(tb), where=tb > 0))
    out = state.copy()
    out[:, scaled] *= factor[:, None]
    out[:, ~scaled] *= np.clip(np.divide(total - factor * tb, rest, out=np.ones_like(rest),
                                         where=rest > 0), 0.0, None)[:, None]
    return out


def summarise(a: CorridorRisk, masks: Masks, m: MemberInputs) -> dict:
    """One member over the focus: per origin and in total, arrivals by measure among new
    residents and visitors and future events by horizon; per policy, the programme row."""
    relocation = np.array([layer.coupling == "relocation"
                           for layer in m.mobility.layers.values()])
    into = a.into(m.focus)

    def per_origin(values: np.ndarray) -> np.ndarray:
        """(pair, ...) values into the focus summed by origin: (origin, ...)."""
        out = np.zeros((m.mobility.n_places, *values.shape[1:]))
        np.add.at(out, a.origin[into], values[into])
        return out

    arrivals = per_origin(np.moveaxis(a.arrivals, 1, 0))                 # (origin, M, L)
    origin_stats = {}
    for n, name in enumerate(masks.names):
        origin_stats[f"{name}_new_residents"] = arrivals[:, n, relocation].sum(axis=1)
        origin_stats[f"{name}_visitors"] = arrivals[:, n, ~relocation].sum(axis=1)
    horizons = m.future.horizons_days if m.future else ()
    for h, days in enumerate(horizons):
        origin_stats[f"future_tb_incidence_{days / DAYS_PER_YEAR:g}y"] = \
            per_origin(a.future[h])
    keep = ~m.focus
    total = {name: float(v[keep].sum()) for name, v in origin_stats.items()}
    total["new_residents"] = float(per_origin(a.flow)[keep][:, relocation].sum())
    programme = []
    for j, policy in enumerate(m.policies):
        found = (a.found[j, masks.names.index(policy.finds)][into].sum()
                 if policy.finds else np.nan)
        prevented = {f"{days / DAYS_PER_YEAR:g}": a.prevented[j, h][into].sum()
                     for h, days in enumerate(horizons)}
        programme.append(programme_row(
            float(a.screened[j][into].sum()), float(found),
            float(a.false_positives[j][into].sum()),
            float(a.treated[j][into].sum()), float(a.cost[j][into].sum()), prevented))
    return {"origins": origin_stats, "total": total, "programme": programme}
