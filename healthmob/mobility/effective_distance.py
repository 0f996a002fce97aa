"""Effective distance (Brockmann & Helbing 2013) on a flow network.

Numeric core (numpy/scipy only). With ``P[n, m]`` the fraction of the travellers leaving n
that go to m, the effective length of the link n -> m is ``d = 1 - ln P >= 1``; the effective
distance ``D_eff(m | n0)`` is the shortest-path length from n0 to m over these links
(Dijkstra). Arrival times of an epidemic that starts in n0 are, to first order, linear in
``D_eff`` (Brockmann & Helbing 2013 Science 342:1337).

References
----------
Brockmann D, Helbing D (2013). The hidden geometry of complex, network-driven contagion
phenomena. Science 342:1337-1342.
Iannelli F, Koher A, Brockmann D, Hoevel P, Sokolov IM (2017). Effective distances for
epidemics spreading on complex networks. Phys Rev E 95:012313 (multi-path generalisation;
not implemented here).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra


def transition_fractions(flow) -> sp.csr_array:
    """Row-normalised flows: ``P[n, m] = F[n, m] / sum_m F[n, m]`` (diagonal ignored).

    Parameters
    ----------
    flow : array_like or sparse, shape (N, N)
        Travellers per unit time from row to column (persons/day); >= 0.

    Returns
    -------
    scipy.sparse.csr_array
        Fractions in (0, 1] on the nonzero off-diagonal flows; rows without outflow are empty.
    """
    flow = sp.csr_array(flow, dtype=float)
    flow.setdiag(0.0)
    flow.eliminate_zeros()
    out = np.asarray(flow.sum(axis=1)).ravel()
    inv = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
    return sp.csr_array(sp.diags_array(inv) @ flow)


def effective_lengths(flow) -> sp.csr_array:
    """Effective length ``d[n, m] = 1 - ln P[n, m]`` of every link with a positive flow.

    Returns
    -------
    scipy.sparse.csr_array, shape (N, N)
        Dimensionless lengths, each >= 1 (exactly 1 when all of n's travellers go to m);
        absent where there is no flow.

    References
    ----------
    Brockmann & Helbing 2013, Science 342:1337, eq. 1.
    """
    fractions = transition_fractions(flow)
    lengths = fractions.copy()
    lengths.data = 1.0 - np.log(fractions.data)
    return lengths


def effective_distance(flow, origins=None) -> np.ndarray:
    """Effective distance ``D_eff(m | n0)`` from each origin n0 to every place m.

    Parameters
    ----------
    flow : array_like or sparse, shape (N, N)
        Travellers per day from row to column (all layers combined, or one layer).
    origins : int or sequence of int, optional
        Origin indices; all places when omitted.

    Returns
    -------
    ndarray, shape (len(origins), N) (or (N,) for a single int origin)
        Dimensionless shortest effective path length; 0 at the origin, ``inf`` where no
        path exists. Every finite off-origin entry is >= 1.

    References
    ----------
    Brockmann & Helbing 2013, Science 342:1337 (shortest-path effective distance).
    """
    lengths = effective_lengths(flow)
    if origins is None:
        origins = np.arange(lengths.shape[0])
    return dijkstra(lengths, directed=True, indices=origins)
