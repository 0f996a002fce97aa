"""Who travels: the composition of a category's travellers, from the model's selection factors.

Numeric core (numpy only). A category (``settlement``, ``refugee``, ``visitor``...) declares
factors ``(states, ratio)``: among its travellers, the share of people in ``states`` is
``ratio`` times the share in the population they leave. The weights that give these shares
are found by raking (iterative proportional fitting on each factor's yes/no margin, Deming
& Stephan 1940), so that overlapping factors (latent TB among people with HIV) hold together
and the other states keep their relative shares.

References
----------
Deming WE, Stephan FF (1940). Ann Math Stat 11:427-444.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import ModelSpec, select

SWEEPS = 50
CAP = 0.999
"""Largest share a factor may give its states among travellers."""


def selection_weights(spec: ModelSpec, values: dict, state: np.ndarray,
                      category: str) -> np.ndarray:
    """Weights ``w`` (P, C) such that travellers of ``category`` are ``w * x / sum(w * x)``.

    Parameters
    ----------
    spec : ModelSpec
    values : dict of str to ndarray
        Parameter values per place (``CompiledModel.values``), for the ratios.
    state : ndarray, shape (P, C)
        The population each place's travellers leave.
    category : str
        A key of ``spec.selection``; a category without factors (or unknown) gives ones.

    Returns
    -------
    ndarray, shape (P, C)
        Normalised so that ``sum(w * x) = sum(x)`` in every place: a layer's flow of people
        is unchanged, only who travels.
    """
    state = np.asarray(state, dtype=float)
    weights = np.ones_like(state)
    factors = spec.selection.get(category, ())
    if not factors:
        return weights
    ids = spec.compartment_ids
    masks = [np.isin(ids, select(f.states, ids)) for f in factors]
    total = np.maximum(state.sum(axis=1), 1e-300)
    targets = [np.clip(values[f.ratio] * state[:, m].sum(axis=1) / total, 0.0, CAP)
               for f, m in zip(factors, masks)]
    for _ in range(SWEEPS):
        for mask, target in zip(masks, targets):
            weighted = weights * state
            share = weighted[:, mask].sum(axis=1) / np.maximum(weighted.sum(axis=1), 1e-300)
            inside = np.divide(target, share, out=np.ones_like(share), where=share > 0)
            outside = np.divide(1 - target, 1 - share, out=np.ones_like(share),
                                where=share < 1)
            weights[:, mask] *= inside[:, None]
            weights[:, ~mask] *= outside[:, None]
    scale = total / np.maximum((weights * state).sum(axis=1), 1e-300)
    return weights * scale[:, None]


def travellers(state: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """The state distribution (P, C) of each place's travellers: its population weighted by
    a category's :func:`selection_weights` (None: a random sample), rows summing to 1."""
    weighted = state if weights is None else state * weights
    return weighted / np.maximum(weighted.sum(axis=1, keepdims=True), 1e-300)


@dataclass(frozen=True)
class CorridorWeights:
    """Selection weights that differ by corridor, not only by origin.

    The return layer moves each origin's own emigrants home: the people on the corridor
    from host ``j`` to country of birth ``i`` are the cohort born in ``i`` living in ``j``,
    not the host's foreign-born at large.

    Attributes
    ----------
    origin, destination : ndarray of int, shape (R,)
        Place indices of the corridors with their own weights (sorted, no duplicates).
    weights : ndarray, shape (R, C)
        Weights of the travellers on each corridor, relative to the origin's state (as
        :func:`selection_weights`: ``sum(w * x) = sum(x)`` in the origin).
    fallback : ndarray, shape (P, C)
        Weights of every other corridor out of each place.
    """

    origin: np.ndarray
    destination: np.ndarray
    weights: np.ndarray
    fallback: np.ndarray

    def at(self, origin: np.ndarray, destination: np.ndarray) -> np.ndarray:
        """Weights (n, C) of the travellers on the corridors ``origin -> destination``."""
        n = len(self.fallback)
        keys = self.origin.astype(np.int64) * n + self.destination
        asked = np.asarray(origin, dtype=np.int64) * n + np.asarray(destination)
        found = np.minimum(np.searchsorted(keys, asked), max(len(keys) - 1, 0))
        hit = (keys[found] == asked) if len(keys) else np.zeros(len(asked), bool)
        out = self.fallback[np.asarray(origin, dtype=np.intp)].copy()
        out[hit] = self.weights[found[hit]]
        return out

