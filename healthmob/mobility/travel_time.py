"""Travel times over a corridor graph: mode speeds, per-journey overheads, shortest routes.

Numeric core (numpy/scipy only). A corridor is an edge between two places with a geodesic
length (km) and a travel time (days): given by data, or ``overhead_hours / 24 + length /
(24 speed_kmh)`` from its mode. Shortest travel times between places come from Dijkstra
(:func:`scipy.sparse.csgraph.dijkstra`); the length of the fastest route is accumulated
along the shortest-path tree (pointer jumping on the predecessor matrix, vectorised).

Default mode speeds and overheads (one table, :data:`DEFAULT_MODES`; each overridable in the
``[mobility.modes.<mode>]`` config table):

========= ========= ============== ==================================================
mode      speed     overhead       justification
========= ========= ============== ==================================================
air       800 km/h  3.5 h / flight jet cruise 850-900 km/h (Mach 0.78-0.85), block speed
                                   with taxi, climb and descent ~ 750-850 km/h on long
                                   hauls; 2-3 h check-in and security before an
                                   international departure plus ~ 1 h taxi-in,
                                   immigration and baggage after it
land      60 km/h   2 h / crossing mean intercity road speed with stops; queueing and
                                   formalities at a land border
sea       30 km/h   4 h / voyage   ~ 16 knots: ferry and ro-ro service speeds 15-25 kn;
                                   boarding, port and border formalities
migration 60 km/h   2 h            as land (conservative: the longer journey); the
                                   world migration layer routes over air and land
========= ========= ============== ==================================================

Check: London Heathrow - Johannesburg (9,000 km) by air is 0.61 day (14.8 h) door to
gate, against 11 h scheduled block time plus airport time.

References
----------
Dijkstra EW (1959). A note on two problems in connexion with graphs. Numer Math 1:269-271.
ICAO Doc 9626 (Manual on the Regulation of International Air Transport) and airline
check-in guidance for the airport time; typical jet cruise Mach numbers from aircraft type
data (e.g. Boeing 787 / Airbus A350 cruise Mach 0.85).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

HOURS_PER_DAY = 24.0

#: mode -> default speed (km/h) and overhead per journey on the mode (hours).
DEFAULT_MODES: dict[str, dict[str, float]] = {
    "air": {"speed_kmh": 800.0, "overhead_hours": 3.5},
    "land": {"speed_kmh": 60.0, "overhead_hours": 2.0},
    "sea": {"speed_kmh": 30.0, "overhead_hours": 4.0},
    "migration": {"speed_kmh": 60.0, "overhead_hours": 2.0},
}


def edge_time_days(distance_km, speed_kmh, overhead_hours) -> np.ndarray:
    """Travel time of corridors from length, speed and overhead.

    Parameters
    ----------
    distance_km : array_like
        Geodesic length (km).
    speed_kmh : array_like
        Mode speed (km/h, > 0).
    overhead_hours : array_like
        Fixed time per journey on the corridor (hours, >= 0): airport, border or port.

    Returns
    -------
    ndarray
        Travel time (days).
    """
    distance_km = np.asarray(distance_km, dtype=float)
    return (np.asarray(overhead_hours, dtype=float)
            + distance_km / np.asarray(speed_kmh, dtype=float)) / HOURS_PER_DAY


@dataclass(frozen=True)
class CorridorGraph:
    """Directed graph of places joined by corridors (at most one edge per ordered pair).

    Attributes
    ----------
    n_places : int
        Number of nodes.
    time : scipy.sparse.csr_array
        Edge travel time (days); the fastest corridor where several join a pair.
    length : scipy.sparse.csr_matrix
        Geodesic length (km) of the same edges.
    """

    n_places: int
    time: sp.csr_array
    length: sp.csr_matrix


def build_graph(n_places: int, origin, destination, time_days, distance_km, *,
                directed: bool = False) -> CorridorGraph:
    """Corridor graph from edge lists; undirected corridors are usable both ways.

    Parameters
    ----------
    n_places : int
        Number of places.
    origin, destination : array_like of int
        Place indices of each corridor's ends.
    time_days : array_like
        Travel time of each corridor (days, > 0).
    distance_km : array_like
        Length of each corridor (km).
    directed : bool
        Only origin -> destination when True.
    """
    o = np.asarray(origin, dtype=np.int64)
    d = np.asarray(destination, dtype=np.int64)
    t = np.maximum(np.asarray(time_days, dtype=float), 1e-12)  # csgraph: 0 = no edge
    km = np.asarray(distance_km, dtype=float)
    if not directed:
        o, d, t, km = (np.concatenate(pair) for pair in ((o, d), (d, o), (t, t), (km, km)))
    keep = o != d
    o, d, t, km = o[keep], d[keep], t[keep], km[keep]
    keys = o * n_places + d
    order = np.lexsort((t, keys))  # fastest corridor first within each pair
    keys, t, km = keys[order], t[order], km[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    keys, t, km = keys[first], t[first], km[first]
    rows, cols = keys // n_places, keys % n_places
    time = sp.csr_array((t, (rows, cols)), shape=(n_places, n_places))
    length = sp.csr_matrix((km, (rows, cols)), shape=(n_places, n_places))
    length.sort_indices()
    return CorridorGraph(n_places, time, length)


def shortest_routes(graph: CorridorGraph, sources=None, *, chunk: int = 256,
                    limit: float = np.inf):
    """Fastest travel time and its route length from each source to every place.

    Parameters
    ----------
    graph : CorridorGraph
    sources : sequence of int, optional
        Source indices (all places when omitted).
    chunk : int
        Largest number of sources per Dijkstra call (fewer when ``n_places`` is large, to
        keep each temporary ``chunk x n_places`` array near 32 MB).
    limit : float
        Stop searching beyond this travel time (days): places farther are ``inf``; every
        time up to it is exact.

    Returns
    -------
    time : ndarray, shape (len(sources), n_places)
        Shortest travel time (days); 0 at the source, ``inf`` where unreachable.
    distance : ndarray, shape (len(sources), n_places)
        Length of that fastest route (km); ``nan`` where unreachable.
    """
    n = graph.n_places
    sources = np.arange(n) if sources is None else np.asarray(sources, dtype=np.intp)
    chunk = _chunk(chunk, n)
    time = np.empty((len(sources), n))
    distance = np.empty((len(sources), n))
    for start in range(0, len(sources), chunk):
        block = sources[start:start + chunk]
        t, pred = dijkstra(graph.time, directed=True, indices=block, return_predecessors=True,
                           limit=limit)
        time[start:start + len(block)] = t
        distance[start:start + len(block)] = _route_lengths(graph, pred, np.isfinite(t))
    return time, distance


def routes_at_pairs(graph: CorridorGraph, origin, destination, *, chunk: int = 256):
    """Shortest travel time and route length for given (origin, destination) pairs only.

    A pair joined by a corridor of its own that is no slower than the fastest way out of
    its origin plus the fastest way into its destination keeps that corridor: any other
    route takes at least two edges, one out of the origin and one into the destination
    (exact; on an edge table of 300,000 corridors every pair is settled so, in O(corridors)).
    For the other pairs, Dijkstra runs from their distinct origins in chunks and keeps the
    requested entries, so memory stays ``O(chunk * n_places + n_pairs)`` whatever the
    number of places. Where every requested pair of a chunk is joined by a corridor of its
    own, the fastest route is no slower than it, so the search stops at the slowest such
    corridor (exact).

    Returns
    -------
    time, distance : ndarray, shape (n_pairs,)
        Days and km; ``inf`` / ``nan`` where the destination cannot be reached.
    """
    origin = np.asarray(origin, dtype=np.intp)
    destination = np.asarray(destination, dtype=np.intp)
    direct = np.asarray(graph.time[origin, destination]).ravel() if len(origin) else \
        np.zeros(0)
    direct = np.where(direct > 0, direct, np.inf)      # inf: no corridor of its own
    settled = np.isfinite(direct) & (direct <= _fastest_edge(graph.time)[origin]
                                     + _fastest_edge(graph.time.T.tocsr())[destination])
    time = np.where(settled, direct, np.inf)
    distance = np.full(len(origin), np.nan)
    if settled.any():
        distance[settled] = np.asarray(
            graph.length[origin[settled], destination[settled]]).ravel()
    pending = np.flatnonzero(~settled)
    sources = np.unique(origin[pending])
    chunk = _chunk(chunk, graph.n_places)
    for start in range(0, len(sources), chunk):
        block = sources[start:start + chunk]
        rows = np.searchsorted(block, origin[pending])
        hit = (rows < len(block)) & (block[np.minimum(rows, len(block) - 1)]
                                     == origin[pending])
        limit = float(direct[pending[hit]].max()) if hit.any() else np.inf
        t, km = shortest_routes(graph, block, chunk=chunk, limit=limit)
        at = pending[hit]
        time[at] = t[rows[hit], destination[at]]
        distance[at] = km[rows[hit], destination[at]]
    return time, distance


def _fastest_edge(time: sp.csr_array) -> np.ndarray:
    """Per row of a CSR matrix of edge times: its fastest edge (days; inf for no edge)."""
    out = np.full(time.shape[0], np.inf)
    filled = np.diff(time.indptr) > 0
    if filled.any():
        out[filled] = np.minimum.reduceat(time.data, time.indptr[:-1][filled])
    return out


def _chunk(chunk: int, n_places: int) -> int:
    """Sources per Dijkstra call: at most ``chunk``, and about 4 M cells (32 MB) per array."""
    return max(1, min(int(chunk), 4_000_000 // max(n_places, 1)))


def _route_lengths(graph: CorridorGraph, pred: np.ndarray, reached: np.ndarray) -> np.ndarray:
    """Sum edge lengths along the shortest-path tree by pointer jumping.

    ``parent`` points each node to its predecessor (roots and unreached nodes to
    themselves, with length 0); each step adds the parent's accumulated length and jumps
    to the grandparent, so ``ceil(log2(depth))`` vectorised steps suffice.
    """
    n = graph.n_places
    cols = np.broadcast_to(np.arange(n), pred.shape)
    parent = np.where(pred >= 0, pred, cols).astype(np.intp)
    # C lookup of the edge parent -> node (0 where parent == node: no self edges)
    length = np.asarray(graph.length[parent.ravel(), cols.ravel()]).reshape(pred.shape)
    while True:
        up = np.take_along_axis(parent, parent, axis=1)
        length += np.take_along_axis(length, parent, axis=1)
        if np.array_equal(up, parent):
            break
        parent = up
    return np.where(reached, length, np.nan)
