"""Fit flows to counted totals: a doubly-constrained model by iterative proportional fitting.

Numeric core (numpy only). The flows of several modes (air, land) between places are

    F[m, i, j] = a_i * b_mj * w[m, i, j]

with pair weights ``w`` (route connectivity, gravity x border permeability) and balancing
factors found by iterative proportional fitting (Furness 1965; Deming & Stephan 1940): the
rows of all modes together are scaled to the origins' departures, then the columns of each
mode to the destinations' arrivals by that mode, until both hold. This is the maximum-
likelihood fit of a Poisson model with origin and destination-by-mode fixed effects and the
log weights as offset (Bishop, Fienberg & Holland 1975, ch. 3), so the choice between IPF and
a Poisson GLM is one of speed: IPF needs only sums (``np.bincount``).

A destination's margin that no pair can carry (no corridor of that mode reaches it), and an
origin whose pairs all lead to destinations already full, make the margins inconsistent;
IPF then stops at the iteration limit near the closest compromise and :class:`FitReport`
says by how much each margin is missed. The last step of each sweep scales columns, so
destination arrivals, the counted side, hold exactly wherever a corridor reaches them.

References
----------
Deming WE, Stephan FF (1940). On a least squares adjustment of a sampled frequency table when
the expected marginal totals are known. Ann Math Stat 11:427-444.
Furness KP (1965). Time function iteration. Traffic Engineering and Control 7:458-460.
Bishop YMM, Fienberg SE, Holland PW (1975). Discrete Multivariate Analysis. MIT Press.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FitReport:
    """How well a fit meets its margins.

    Attributes
    ----------
    iterations : int
        Sweeps (column then row scaling) until convergence or the limit.
    converged : bool
        Whether the largest relative change of a margin fell below the tolerance.
    destination_ratio : ndarray, shape (modes, places)
        Fitted / target arrivals by mode (NaN where the target is 0 or missing).
    origin_ratio : ndarray, shape (places,)
        Fitted / target departures (NaN where the target is 0 or missing).
    """

    iterations: int
    converged: bool
    destination_ratio: np.ndarray
    origin_ratio: np.ndarray


def fit_to_margins(mode, origin, destination, weight, arrivals, departures, *,
                   tolerance: float = 1e-6, max_iterations: int = 1000
                   ) -> tuple[np.ndarray, FitReport]:
    """Flows on the given pairs that meet destination-by-mode and origin margins.

    Parameters
    ----------
    mode, origin, destination : array_like of int, shape (K,)
        Mode index and place indices of each weighted pair.
    weight : array_like, shape (K,)
        Pair weights (>= 0; a zero weight carries no flow).
    arrivals : array_like, shape (modes, places)
        Target arrivals at each destination by each mode (persons per unit time); NaN leaves
        that destination-mode free.
    departures : array_like, shape (places,)
        Target departures of each origin over all modes (same units); NaN leaves the origin
        free.

    Returns
    -------
    flow : ndarray, shape (K,)
        Fitted flow ``a_i b_mj w`` of each pair.
    report : FitReport

    Notes
    -----
    A free margin has no count to meet, so its factor is the median factor of the margins
    of the same kind that are constrained (origins; destinations of the same mode): a free
    origin sends travellers with the propensity of a typical counted origin, given its
    weights.
    """
    mode = np.asarray(mode, dtype=np.intp)
    origin = np.asarray(origin, dtype=np.intp)
    destination = np.asarray(destination, dtype=np.intp)
    weight = np.asarray(weight, dtype=float)
    arrivals = np.asarray(arrivals, dtype=float)
    departures = np.asarray(departures, dtype=float)
    n_modes, n = arrivals.shape
    column = mode * n + destination
    col_target = arrivals.ravel()
    col_group = np.repeat(np.arange(n_modes), n)
    row_factor, col_factor = np.ones(n), np.ones(n_modes * n)
    converged, sweep = False, 0
    for sweep in range(1, max_iterations + 1):
        new_rows = _factors(np.bincount(origin, weight * col_factor[column], minlength=n),
                            departures, np.zeros(n, dtype=int))
        new_cols = _factors(np.bincount(column, weight * new_rows[origin],
                                        minlength=n_modes * n), col_target, col_group)
        change = max(_change(new_rows, row_factor), _change(new_cols, col_factor))
        row_factor, col_factor = new_rows, new_cols
        if change < tolerance:
            converged = True
            break
    flow = row_factor[origin] * col_factor[column] * weight
    report = FitReport(sweep, converged,
                       _ratio(np.bincount(column, flow, minlength=n_modes * n),
                              col_target).reshape(n_modes, n),
                       _ratio(np.bincount(origin, flow, minlength=n), departures))
    return flow, report


def _factors(reach: np.ndarray, target: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Balancing factors ``target / reach``; a free (NaN) target takes the median factor of
    the constrained ones of its group; 1 where nothing is reached."""
    out = np.ones_like(reach)
    constrained = np.isfinite(target) & (reach > 0)
    out[constrained] = target[constrained] / reach[constrained]
    free = ~np.isfinite(target)
    for g in np.unique(group[free]):
        peers = constrained & (group == g) & (out > 0)
        if peers.any():
            out[free & (group == g)] = np.median(out[peers])
    return out


def _change(new: np.ndarray, old: np.ndarray) -> float:
    """Largest relative change between two factor vectors (0 where both are 0)."""
    scale = np.maximum(np.abs(old), 1e-300)
    return float(np.max(np.abs(new - old) / scale, initial=0.0))


def _ratio(fitted: np.ndarray, target: np.ndarray) -> np.ndarray:
    out = np.full_like(fitted, np.nan)
    ok = np.isfinite(target) & (target > 0)
    out[ok] = fitted[ok] / target[ok]
    return out
