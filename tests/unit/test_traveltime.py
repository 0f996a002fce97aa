"""Travel times over the corridor graph: speeds, overheads, shortest routes and their length."""

import itertools

import numpy as np
import pytest

from healthmob.mobility.edges import geodesic_km
from healthmob.mobility.travel_time import (
    DEFAULT_MODES,
    build_graph,
    edge_time_days,
    routes_at_pairs,
    shortest_routes,
)

LHR = (-0.4543, 51.4700)  # lon, lat
JFK = (-73.7781, 40.6413)
JNB = (28.2460, -26.1392)


def test_heathrow_jfk_geodesic_within_half_a_percent_of_5540_km():
    km = geodesic_km(*LHR, *JFK)
    assert km == pytest.approx(5540.0, rel=0.005)


def test_johannesburg_london_by_air_between_04_and_1_day():
    air = DEFAULT_MODES["air"]
    days = edge_time_days(geodesic_km(*JNB, *LHR), air["speed_kmh"], air["overhead_hours"])
    assert 0.4 <= days <= 1.0


def _floyd(n, edges):
    """All-pairs fastest time and the length of one fastest route, by enumeration."""
    best_t = np.full((n, n), np.inf)
    best_d = np.full((n, n), np.nan)
    weight = {}
    for o, d, t, km in edges:
        for a, b in ((o, d), (d, o)):
            if (a, b) not in weight or t < weight[(a, b)][0]:
                weight[(a, b)] = (t, km)
    for s in range(n):
        best_t[s, s], best_d[s, s] = 0.0, 0.0
        for target in range(n):
            others = [k for k in range(n) if k not in (s, target)]
            for r in range(len(others) + 1):
                for middle in itertools.permutations(others, r):
                    path = (s, *middle, target)
                    if all(p in weight for p in zip(path, path[1:])):
                        t = sum(weight[p][0] for p in zip(path, path[1:]))
                        if t < best_t[s, target] - 1e-12:
                            best_t[s, target] = t
                            best_d[s, target] = sum(weight[p][1] for p in zip(path, path[1:]))
    return best_t, best_d


def test_shortest_routes_and_route_lengths_equal_enumeration():
    rng = np.random.default_rng(7)
    n = 6
    pairs = [(a, b) for a, b in itertools.combinations(range(n), 2) if rng.random() < 0.6]
    edges = [(a, b, rng.uniform(0.1, 2.0), rng.uniform(10, 1000)) for a, b in pairs]
    edges.append((pairs[0][0], pairs[0][1], 5.0, 1.0))  # a slower duplicate corridor
    o, d, t, km = (np.array(col) for col in zip(*edges))
    graph = build_graph(n, o, d, t, km)
    time, distance = shortest_routes(graph, chunk=4)
    expect_t, expect_d = _floyd(n, edges)
    np.testing.assert_allclose(time, expect_t, rtol=1e-12)
    np.testing.assert_allclose(distance, expect_d, rtol=1e-12)
    i, j = np.nonzero(np.isfinite(expect_t) & ~np.eye(n, dtype=bool))
    tp, dp = routes_at_pairs(graph, i, j, chunk=2)
    np.testing.assert_allclose(tp, expect_t[i, j])
    np.testing.assert_allclose(dp, expect_d[i, j])


def test_unreachable_places_have_infinite_time_and_no_length():
    graph = build_graph(4, [0, 2], [1, 3], [0.5, 0.5], [100.0, 100.0])
    time, distance = shortest_routes(graph, [0])
    assert np.isinf(time[0, 2]) and np.isnan(distance[0, 2])
    assert time[0, 1] == 0.5 and distance[0, 1] == 100.0
    directed = build_graph(2, [0], [1], [0.5], [100.0], directed=True)
    time, _ = shortest_routes(directed, [1])
    assert np.isinf(time[0, 0]) and time[0, 1] == 0.0


def test_corridors_settled_without_a_search_are_the_fastest_routes():
    """A pair's own corridor no slower than the origin's fastest way out plus the
    destination's fastest way in is kept without Dijkstra; on random graphs (directed and
    not, one speed or many, pairs with and without a corridor) every time is Dijkstra's."""
    rng = np.random.default_rng(11)
    for trial in range(24):
        n = int(rng.integers(5, 120))
        e = int(rng.integers(n, 4 * n))
        o, d = rng.integers(0, n, e), rng.integers(0, n, e)
        t = np.full(e, 0.05) if trial % 3 == 0 else rng.exponential(1.0, e)
        graph = build_graph(n, o, d, t, rng.uniform(10, 1000, e), directed=bool(trial % 2))
        qo = np.r_[o, rng.integers(0, n, 30)]
        qd = np.r_[d, rng.integers(0, n, 30)]
        qo, qd = qo[qo != qd], qd[qo != qd]
        time, _ = routes_at_pairs(graph, qo, qd)
        full, _ = shortest_routes(graph)
        np.testing.assert_array_equal(time, full[qo, qd])
