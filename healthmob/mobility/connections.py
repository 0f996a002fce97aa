"""Air itineraries with one connection: who can fly from i to j through a hub.

Numeric core (numpy only). From the directed route counts ``R`` between places (airline
routes of OpenFlights), the connectivity of a pair is

    c_ij = R_ij + phi * sum_h R_ih * R_hj / S_h,        S_h = sum_k R_hk,

the direct routes plus the one-stop itineraries: a traveller reaching hub h continues to j
in proportion to h's routes that go there (a random walk of two steps on the route network,
the gravity-weighted itinerary choice). ``phi`` (``connection_weight``) is the weight of a
connecting itinerary against a direct route. The itinerary's travel time is the fastest
over hubs of leg time + leg time (each leg with its airport overhead, so the second leg's
overhead is the connection time), its length the sum of the legs' lengths.

References
----------
Grosche T, Rothlauf F, Heinzl A (2007). Gravity models for airline passenger volume
estimation. J Air Transport Management 13:175-183.
Balcan D, Colizza V, Goncalves B, Hu H, Ramasco JJ, Vespignani A (2009). Multiscale mobility
networks and the spatial spreading of infectious diseases. PNAS 106:21484-21489 (flows on
the airline network, travellers routed over connections).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Itineraries:
    """Directed place pairs reachable with at most one connection.

    Attributes
    ----------
    origin, destination : ndarray of int
    direct : ndarray
        Direct routes ``R_ij`` (0 where the pair needs a connection).
    connecting : ndarray
        ``sum_h R_ih R_hj / S_h``: one-stop connectivity.
    time_days, distance_km : ndarray
        Fastest itinerary (direct, or through the fastest hub) and its length.
    hub : ndarray of int
        Hub of the fastest itinerary; -1 where the direct flight is the fastest.
    """

    origin: np.ndarray
    destination: np.ndarray
    direct: np.ndarray
    connecting: np.ndarray
    time_days: np.ndarray
    distance_km: np.ndarray
    hub: np.ndarray

    def connectivity(self, connection_weight: float) -> np.ndarray:
        """``c_ij = R_ij + phi * connecting_ij`` for ``phi = connection_weight``."""
        return self.direct + connection_weight * self.connecting


def one_stop_itineraries(n: int, origin, destination, routes, time_days,
                         distance_km) -> Itineraries:
    """Itineraries with at most one connection over a directed route network.

    Parameters
    ----------
    n : int
        Number of places.
    origin, destination : array_like of int
        Place indices of each direct pair (no self pairs, no duplicates).
    routes : array_like
        Route count of each pair (> 0).
    time_days, distance_km : array_like
        Travel time (days, including the airport overhead) and length (km) of each pair.

    Returns
    -------
    Itineraries
        Every pair with a direct route or a one-stop connection, in row-major order.
    """
    o = np.asarray(origin, dtype=np.intp)
    d = np.asarray(destination, dtype=np.intp)
    r = np.zeros((n, n))
    t = np.full((n, n), np.inf)
    km = np.zeros((n, n))
    r[o, d] = np.asarray(routes, dtype=float)
    t[o, d] = np.asarray(time_days, dtype=float)
    km[o, d] = np.asarray(distance_km, dtype=float)
    out_routes = r.sum(axis=1)
    share = np.divide(r, out_routes[:, None], out=np.zeros_like(r),
                      where=out_routes[:, None] > 0)
    connecting = r @ share
    np.fill_diagonal(connecting, 0.0)
    best_time, best_km, hub = t.copy(), km.copy(), np.full((n, n), -1, dtype=np.intp)
    for h in np.flatnonzero(out_routes > 0):
        via = t[:, h, None] + t[None, h, :]
        faster = via < best_time
        if faster.any():
            best_time[faster] = via[faster]
            best_km[faster] = (km[:, h, None] + km[None, h, :])[faster]
            hub[faster] = h
    np.fill_diagonal(best_time, np.inf)
    i, j = np.nonzero((r > 0) | (connecting > 0))
    return Itineraries(i, j, r[i, j], connecting[i, j], best_time[i, j], best_km[i, j],
                       hub[i, j])
