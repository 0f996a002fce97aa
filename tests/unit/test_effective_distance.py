"""Effective distance (the science brief #14): d = 1 - ln P >= 1; D_eff by Dijkstra."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from healthmob.mobility.effective_distance import (
    effective_distance,
    effective_lengths,
    transition_fractions,
)


def _brute_force(flow: np.ndarray) -> np.ndarray:
    """Shortest effective path by enumerating every simple path (n <= 6)."""
    n = len(flow)
    out_total = np.where(np.eye(n, dtype=bool), 0.0, flow).sum(axis=1)
    length = np.full((n, n), np.inf)
    for a, b in itertools.permutations(range(n), 2):
        if flow[a, b] > 0:
            length[a, b] = 1 - np.log(flow[a, b] / out_total[a])
    best = np.full((n, n), np.inf)
    np.fill_diagonal(best, 0.0)
    for source in range(n):
        for target in range(n):
            others = [k for k in range(n) if k not in (source, target)]
            for r in range(len(others) + 1):
                for middle in itertools.permutations(others, r):
                    path = (source, *middle, target)
                    total = sum(length[p, q] for p, q in zip(path, path[1:]))
                    best[source, target] = min(best[source, target], total)
    return best


def test_single_destination_has_length_one_and_fractions_are_row_shares():
    flow = np.array([[0, 10, 0], [2, 0, 6], [0, 0, 0]], dtype=float)
    fractions = transition_fractions(flow).toarray()
    np.testing.assert_allclose(fractions, [[0, 1, 0], [0.25, 0, 0.75], [0, 0, 0]])
    lengths = effective_lengths(flow).toarray()
    assert lengths[0, 1] == pytest.approx(1.0)
    assert lengths[1, 0] == pytest.approx(1 - np.log(0.25))
    assert lengths[1, 2] == pytest.approx(1 - np.log(0.75))


def test_effective_distance_equals_brute_force_on_a_small_graph():
    flow = np.array([
        [0, 50, 5, 0, 0],
        [30, 0, 10, 10, 0],
        [1, 1, 0, 0, 20],
        [0, 0, 0, 0, 4],
        [3, 0, 8, 1, 0],
    ], dtype=float)
    np.testing.assert_allclose(effective_distance(flow), _brute_force(flow), rtol=1e-12)
    # 0 -> 2 directly: 1 - ln(5/55) = 3.398; via 1: (1 - ln(50/55)) + (1 - ln(10/50)) = 3.705
    assert effective_distance(flow, 0)[2] == pytest.approx(1 - np.log(5 / 55))


@settings(max_examples=30, deadline=None)
@given(flow=arrays(np.float64, (5, 5),
                   elements=st.one_of(st.just(0.0), st.floats(1e-3, 1e6))))
def test_lengths_at_least_one_and_dijkstra_matches_enumeration(flow):
    lengths = effective_lengths(flow)
    assert np.all(lengths.data >= 1.0 - 1e-12)
    d_eff = effective_distance(sp.csr_array(flow))
    assert np.all(np.diag(d_eff) == 0)
    off = ~np.eye(5, dtype=bool) & np.isfinite(d_eff)
    assert np.all(d_eff[off] >= 1.0 - 1e-12)
    np.testing.assert_allclose(d_eff, _brute_force(flow), rtol=1e-9)
