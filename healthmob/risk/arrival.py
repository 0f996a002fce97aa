"""Arrival times of a new strain seeded in one place: effective distance vs simulation.

Brockmann & Helbing (2013) predict the order of arrival from the effective distance
``D_eff`` on the mobility network alone; the stochastic engine gives arrival times from an
ensemble of simulated introductions (first day with at least ``threshold`` infected people,
median over members). Their Spearman rank correlation says how far the shortcut can be
trusted for this network.

References
----------
Brockmann D, Helbing D (2013). The hidden geometry of complex, network-driven contagion
phenomena. Science 342:1337-1342.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from scipy.stats import spearmanr

from ..disease.compile import compile_model
from ..disease.parse import load_model
from ..disease.spec import select
from ..engine.binomial import simulate_stochastic
from ..engine.coupling import Coupling
from ..engine.seeds import generator
from ..mobility.effective_distance import effective_distance
from ..mobility.matrix import Mobility
from ..units import parse_duration
from .config import ArrivalConfig

log = logging.getLogger(__name__)

def arrival_times(mobility: Mobility, population: np.ndarray, cfg: ArrivalConfig,
                  seed: int) -> dict:
    """Effective distance and simulated arrival time of every place from ``seed_place``.

    Returns
    -------
    dict
        ``effective_distance`` (P,), ``arrival_time`` (P,) median days to the first
        ``threshold`` infected people (NaN where fewer than half the members arrive),
        ``reached`` (P,) share of members that arrived, ``rho`` and ``p_value`` of the
        Spearman correlation over the places reached (the seed excluded).
    """
    origin = mobility.index(cfg.seed_place)
    distance = effective_distance(mobility.combined_flow(), origins=origin)
    spec = load_model(cfg.model)
    n = mobility.n_places
    compiled = compile_model(spec, n)
    infected = np.isin(spec.compartment_ids, select(spec.infected, spec.compartment_ids))
    first = int(np.flatnonzero(infected)[0])
    x0 = np.zeros((n, len(spec.compartments)), dtype=np.int64)
    x0[:, 0] = np.round(population).astype(np.int64)
    x0[origin, 0] -= cfg.seed_count
    x0[origin, first] += cfg.seed_count
    coupling = Coupling.from_mobility(mobility, population)
    times = np.arange(0.0, parse_duration(cfg.duration) + 1.0)
    arrivals = np.full((cfg.members, n), np.nan)
    for m in range(cfg.members):
        trajectory = simulate_stochastic(compiled, x0, times, coupling, generator(seed, m))
        count = trajectory.state[:, :, infected].sum(axis=2)               # (n_t, P)
        hit = count >= cfg.threshold
        arrivals[m] = np.where(hit.any(axis=0), times[np.argmax(hit, axis=0)], np.nan)
    reached = np.isfinite(arrivals).mean(axis=0)
    median = np.where(reached >= 0.5, np.nanmedian(np.where(np.isfinite(arrivals), arrivals,
                                                            np.inf), axis=0), np.nan)
    median[~np.isfinite(median)] = np.nan
    use = np.isfinite(median) & np.isfinite(distance) & (np.arange(n) != origin)
    rho, p_value = (spearmanr(distance[use], median[use]) if use.sum() > 2
                    else (np.nan, np.nan))
    log.info("arrival times from %s: %d places reached; Spearman rho %.3f (effective distance "
             "vs simulated arrival)", cfg.seed_place, int(use.sum()), rho)
    return {"effective_distance": distance, "arrival_time": median, "reached": reached,
            "rho": float(rho), "p_value": float(p_value)}


def add_arrival_times(risk, mobility: Mobility, populations: np.ndarray,
                      arrival: ArrivalConfig, seed: int) -> None:
    """Add the arrival times of a new strain from ``arrival.seed_place`` to the risk dataset
    (Brockmann and Helbing 2013 against stochastic introductions: :func:`arrival_times`)."""
    t0 = time.perf_counter()
    found = arrival_times(mobility, populations, arrival, seed)
    risk["effective_distance_from_seed"] = ("place", found["effective_distance"], {
        "units": "1", "long_name": f"effective distance from {arrival.seed_place} "
                                   "(Brockmann and Helbing 2013)"})
    risk["arrival_time_simulated"] = ("place", found["arrival_time"], {
        "units": "day", "long_name": f"median days until {arrival.threshold} infected "
                                     f"people of a new strain seeded in {arrival.seed_place} "
                                     f"({arrival.model} model, {arrival.members} stochastic "
                                     "members)"})
    risk["arrival_share_of_members"] = ("place", found["reached"], {
        "units": "1", "long_name": "share of members in which the strain arrived"})
    risk.attrs.update(arrival_seed_place=arrival.seed_place,
                      arrival_spearman_rho=found["rho"],
                      arrival_spearman_p_value=found["p_value"])
    log.info("arrival times: %d members (%.2f s)", arrival.members, time.perf_counter() - t0)
