"""Contact-network generators as edge arrays (numpy only).

Every generator takes a :class:`numpy.random.Generator` and returns an ``(E, 2)`` integer
array of undirected edges ``i < j`` over nodes ``0 .. n_nodes - 1``: no self-loops, no
repeated edges. :mod:`healthmob.network` turns the array into a networkx graph for epydemic.
Three families (docs/networks.md):

* ``erdos_renyi``: G(n, p) with ``p = mean_degree / (n - 1)``;
* ``configuration``: a degree sequence drawn from a discrete power law with an exponential
  cut-off, ``p_k ~ k^-exponent exp(-k / cutoff)`` for ``k_min <= k <= k_max``, wired by
  random stub matching, with self-loops and repeated edges erased;
* ``household``: households whose sizes are ``1 + Poisson(household_size - 1)``, each a
  clique, plus G(n, p) community contacts of mean degree ``community_degree``.

References
----------
Newman MEJ, Strogatz SH, Watts DJ (2001). Random graphs with arbitrary degree distributions
and their applications. Phys Rev E 64:026118.
Ball F, Sirl D, Trapman P (2009). Threshold behaviour and final outcome of an epidemic on a
random network with household structure. Adv Appl Probab 41:765-796.
"""

from __future__ import annotations

import numpy as np

NETWORK_TYPES: dict[str, dict] = {
    "erdos_renyi": {"mean_degree": 10.0},
    "configuration": {"exponent": 2.5, "cutoff": 100.0, "k_min": 3, "k_max": 0},
    "household": {"household_size": 4.0, "community_degree": 4.0},
}
"""Network type -> its parameters and their defaults (``k_max = 0``: ``n_nodes - 1``)."""


def erdos_renyi_edges(n_nodes: int, mean_degree: float, rng: np.random.Generator):
    """Edges of an Erdős–Rényi G(n, p) graph with ``p = mean_degree / (n_nodes - 1)``.

    The edge count is drawn from its binomial distribution, then that many distinct pairs
    are drawn uniformly (rejecting repeats), which is exactly G(n, p). Cost O(E).
    """
    n_pairs = n_nodes * (n_nodes - 1) // 2
    if n_pairs == 0 or mean_degree <= 0:
        return np.empty((0, 2), dtype=np.int64)
    p = min(1.0, mean_degree / (n_nodes - 1))
    n_edges = int(rng.binomial(n_pairs, p))
    if n_edges > n_pairs // 2:  # dense: choose the pairs directly
        keys = np.sort(rng.choice(n_pairs, n_edges, replace=False))
        return _pairs_from_index(keys, n_nodes)
    keys = np.empty(0, dtype=np.int64)
    while keys.size < n_edges:
        need = n_edges - keys.size
        i = rng.integers(0, n_nodes, size=int(need * 1.05) + 16)
        j = rng.integers(0, n_nodes, size=i.size)
        keep = i != j
        lo, hi = np.minimum(i[keep], j[keep]), np.maximum(i[keep], j[keep])
        fresh = np.unique(lo.astype(np.int64) * n_nodes + hi)
        fresh = fresh[~np.isin(fresh, keys)]
        keys = np.concatenate([keys, rng.permutation(fresh)[:need]])
    keys = np.sort(keys)
    return np.stack([keys // n_nodes, keys % n_nodes], axis=1)


def _pairs_from_index(index: np.ndarray, n_nodes: int) -> np.ndarray:
    """Map linear indices of the strict upper triangle (row-major) to pairs (i, j)."""
    n = n_nodes
    i = (n - 2 - np.floor(np.sqrt(-8.0 * index + 4.0 * n * (n - 1) - 7) / 2.0 - 0.5)).astype(
        np.int64)
    j = index + i + 1 - n * (n - 1) // 2 + (n - i) * ((n - i) - 1) // 2
    return np.stack([i, j], axis=1).astype(np.int64)


def power_law_degrees(n_nodes: int, exponent: float, cutoff: float, k_min: int, k_max: int,
                      rng: np.random.Generator) -> np.ndarray:
    """Degrees drawn from ``p_k ~ k^-exponent exp(-k / cutoff)``, ``k_min <= k <= k_max``.

    ``cutoff <= 0`` means no exponential cut-off; ``k_max <= 0`` means ``n_nodes - 1``. The
    total is made even by adding one to a random node's degree (if below ``k_max``).
    """
    k_max = n_nodes - 1 if k_max <= 0 else min(k_max, n_nodes - 1)
    ks = np.arange(k_min, k_max + 1, dtype=float)
    weights = ks ** -exponent * (np.exp(-ks / cutoff) if cutoff > 0 else 1.0)
    cdf = np.cumsum(weights)
    degrees = k_min + np.searchsorted(cdf, rng.random(n_nodes) * cdf[-1], side="right")
    degrees = np.minimum(degrees, k_max).astype(np.int64)
    if degrees.sum() % 2:
        candidates = np.flatnonzero(degrees < k_max)
        node = candidates[rng.integers(candidates.size)] if candidates.size else 0
        degrees[node] += 1 if candidates.size else -1
    return degrees


def configuration_edges(degrees: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random stub matching of ``degrees`` (even total); self-loops and repeats erased.

    The erased configuration model: degrees of hubs fall slightly below their target when
    ``k_max**2`` approaches the number of stubs (see :func:`degree_statistics`).
    """
    degrees = np.asarray(degrees, dtype=np.int64)
    stubs = np.repeat(np.arange(degrees.size, dtype=np.int64), degrees)
    if stubs.size % 2:
        raise ValueError(f"degrees must sum to an even number; got {stubs.size}")
    stubs = rng.permutation(stubs).reshape(-1, 2)
    lo, hi = stubs.min(axis=1), stubs.max(axis=1)
    keep = lo != hi
    keys = np.unique(lo[keep] * degrees.size + hi[keep])
    return np.stack([keys // degrees.size, keys % degrees.size], axis=1)


def household_edges(n_nodes: int, household_size: float, community_degree: float,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Households (cliques) plus Erdős–Rényi community contacts.

    Household sizes are ``1 + Poisson(household_size - 1)``, drawn until every node has a
    household (the last one is truncated). Returns ``(edges, household)`` with
    ``household[i]`` the household index of node ``i``.
    """
    sizes = []
    total = 0
    while total < n_nodes:
        batch = 1 + rng.poisson(max(household_size - 1.0, 0.0), size=max(16, n_nodes // 2))
        sizes.append(batch)
        total += int(batch.sum())
    sizes = np.concatenate(sizes)
    ends = np.cumsum(sizes)
    last = int(np.searchsorted(ends, n_nodes))
    sizes = sizes[: last + 1].copy()
    sizes[-1] -= int(ends[last] - n_nodes)
    household = np.repeat(np.arange(sizes.size), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    parts = []
    for size in np.unique(sizes[sizes > 1]):
        first = starts[sizes == size]
        a, b = np.triu_indices(int(size), k=1)
        parts.append(np.stack([(first[:, None] + a).ravel(), (first[:, None] + b).ravel()],
                              axis=1))
    community = erdos_renyi_edges(n_nodes, community_degree, rng)
    edges = np.concatenate(parts + [community]) if parts else community
    keys = np.unique(edges[:, 0].astype(np.int64) * n_nodes + edges[:, 1])
    return np.stack([keys // n_nodes, keys % n_nodes], axis=1), household


def generate_edges(kind: str, n_nodes: int, params: dict,
                   rng: np.random.Generator) -> np.ndarray:
    """Edges of a network of type ``kind`` (a key of :data:`NETWORK_TYPES`)."""
    if kind == "erdos_renyi":
        return erdos_renyi_edges(n_nodes, params["mean_degree"], rng)
    if kind == "configuration":
        degrees = power_law_degrees(n_nodes, params["exponent"], params["cutoff"],
                                    params["k_min"], params["k_max"], rng)
        return configuration_edges(degrees, rng)
    if kind == "household":
        return household_edges(n_nodes, params["household_size"], params["community_degree"],
                               rng)[0]
    raise ValueError(f"network type must be one of {sorted(NETWORK_TYPES)}; got {kind!r}")


def degrees_of(edges: np.ndarray, n_nodes: int) -> np.ndarray:
    """Degree of every node."""
    return np.bincount(np.asarray(edges).ravel(), minlength=n_nodes)


def degree_statistics(edges: np.ndarray, n_nodes: int) -> dict[str, float]:
    """Mean, second moment, maximum and the mean excess degree ``<k^2>/<k> - 1``."""
    k = degrees_of(edges, n_nodes).astype(float)
    mean, second = float(k.mean()), float((k ** 2).mean())
    return {"n_edges": float(len(edges)), "mean_degree": mean, "second_moment": second,
            "max_degree": float(k.max()) if k.size else 0.0,
            "mean_excess_degree": second / mean - 1.0 if mean > 0 else 0.0}
