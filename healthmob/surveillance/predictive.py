"""Predictive distributions of a count: negative binomial around an uncertain mean.

The count is negative binomial with mean ``mu`` and variance ``phi * mu`` (quasi-Poisson
dispersion ``phi >= 1``; Poisson at ``phi = 1``), and ``log(mu)`` is itself normal with sd
``log_sd`` (uncertainty of the mean: of the regression's prediction, or of the model's
parameters). Quantiles integrate the normal by Gauss-Hermite quadrature; scores use draws.

References
----------
Gneiting T, Raftery AE (2007). Strictly proper scoring rules, prediction, and estimation.
J Am Stat Assoc 102:359-378 (the continuous ranked probability score).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(21)
WEIGHTS = WEIGHTS / WEIGHTS.sum()


def _cdf(x: np.ndarray, means: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Negative binomial (Poisson where ``phi == 1``) CDF at ``x`` (n, 1) for means (n, m)."""
    poisson = phi <= 1 + 1e-12
    size = means / np.where(poisson, 1.0, phi - 1)
    return np.where(poisson, stats.poisson.cdf(x, means),
                    stats.nbinom.cdf(x, size, 1 / np.where(poisson, 2.0, phi)))


def _ppf(p: float, means: np.ndarray, phi: np.ndarray) -> np.ndarray:
    poisson = phi <= 1 + 1e-12
    size = means / np.where(poisson, 1.0, phi - 1)
    return np.where(poisson, stats.poisson.ppf(p, means),
                    stats.nbinom.ppf(p, size, 1 / np.where(poisson, 2.0, phi)))


def quantiles(mu, log_sd, phi, probabilities) -> np.ndarray:
    """Quantiles (smallest counts with CDF >= p) of the mixture (module docstring).

    ``mu``, ``log_sd`` and ``phi`` are arrays of one shape (or scalars); the result has that
    shape plus one axis for ``probabilities``. NaN where the mean is not a finite number
    > 0 or its uncertainty spans more than a factor ``e**10`` (a baseline fitted to zeros).
    """
    mu, log_sd, phi = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                            for v in (mu, log_sd, phi)))
    shape = mu.shape
    mu, log_sd, phi = mu.ravel(), log_sd.ravel(), phi.ravel()
    probabilities = np.atleast_1d(probabilities)
    out = np.full((len(mu), len(probabilities)), np.nan)
    ok = (np.isfinite(mu) & (mu > 0) & np.isfinite(log_sd) & (log_sd * NODES.max() < 10)
          & np.isfinite(phi))
    means = mu[ok, None] * np.exp(log_sd[ok, None] * NODES[None, :])
    dispersion = np.maximum(phi[ok], 1.0)[:, None]
    for j, p in enumerate(probabilities):
        ends = _ppf(p, means, dispersion)  # the mixture's quantile lies between these
        lo, hi = ends.min(axis=1), ends.max(axis=1)
        while np.any(lo < hi):  # bisection on whole counts, every point at once
            mid = np.floor((lo + hi) / 2)
            above = (_cdf(mid[:, None], means, dispersion) @ WEIGHTS) >= p
            hi = np.where(above, mid, hi)
            lo = np.where(above, lo, np.minimum(mid + 1, hi))
        out[ok, j] = lo
    return out.reshape(*shape, len(probabilities))


def crps(mu: float, log_sd: float, phi: float, observed: float,
         rng: np.random.Generator, draws: int = 2000) -> float:
    """Continuous ranked probability score of ``observed`` (``E|X - y| - E|X - X'| / 2``),
    estimated from ``draws`` pairs."""
    means = mu * np.exp(log_sd * rng.standard_normal((2, draws)))
    if phi > 1 + 1e-12:
        x = rng.negative_binomial(means / (phi - 1), 1 / phi)
    else:
        x = rng.poisson(means)
    return float(np.mean(np.abs(x[0] - observed)) - 0.5 * np.mean(np.abs(x[0] - x[1])))
