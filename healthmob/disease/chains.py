"""One individual's continuous-time Markov chain: transient and stationary distributions.

``propagate`` gives ``v exp(Q t)`` for many row vectors, each at its own time, at once by
uniformization (Jensen's method): with ``q >= max_i |Q_ii|`` and ``P = I + Q/q``,
``v exp(Q t) = sum_n Poisson(n; q t) v P^n``. The powers ``v P^n`` are computed once for
every vector; the series is cut where the Poisson tail is below ``tol``. It is exact
up to ``tol`` for generators and sub-generators (rows summing to <= 0) alike.

References
----------
Jensen A (1953). Markoff chains as an aid in the study of Markoff processes. Skand
Aktuarietidskr 36:87-91. Reibman A, Trivedi K (1988). Numerical transient analysis of
Markov models. Comput Oper Res 15:19-36.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import expm
from scipy.special import gammaln


def propagate(generator: np.ndarray, vectors: np.ndarray, times: np.ndarray,
              which: np.ndarray | None = None, tol: float = 1e-12) -> np.ndarray:
    """Row vectors ``vectors[which[m]] @ expm(generator * times[m])`` for every ``m``.

    Parameters
    ----------
    generator : ndarray, shape (C, C)
        Generator or sub-generator (1/day).
    vectors : ndarray, shape (k, C)
        Initial (sub-)distributions.
    times : ndarray, shape (n,)
        Times (days), >= 0.
    which : ndarray of int, shape (n,), optional
        The vector each time applies to (default: vector ``m`` at time ``m``, n = k).

    Returns
    -------
    ndarray, shape (n, C)

    Notes
    -----
    The powers ``v P^n`` of the k vectors are made once (the longest time sets their
    number) and weighed for each time: one uniformization serves every vector and time,
    e.g. all the corridors out of the places that share a chain, each origin's vector
    multiplied once per term. Memory: terms x n x C values.
    """
    times = np.asarray(times, dtype=float)
    vectors = np.atleast_2d(np.asarray(vectors, dtype=float))
    if times.size == 0:
        return np.zeros((0, vectors.shape[1]))
    q = max(float(np.max(-np.diag(generator))), 1e-300)
    n_terms = _poisson_terms(q * float(times.max()), tol)
    step = np.eye(generator.shape[0]) + generator / q
    weights = _poisson_pmf(np.arange(n_terms), q * times)               # (n, terms)
    powers = np.empty((n_terms, *vectors.shape))
    powers[0] = vectors
    for n in range(1, n_terms):
        powers[n] = powers[n - 1] @ step
    if len(vectors) == 1:                               # one vector: one matrix product
        return weights @ powers[:, 0]
    if which is not None:
        powers = powers[:, which]                       # (terms, n, C)
    out = weights[:, :1] * powers[0]
    for n in range(1, n_terms):
        out += weights[:, n:n + 1] * powers[n]
    return out


def _poisson_terms(mean: float, tol: float) -> int:
    """Terms of the Poisson series whose tail beyond them is below ``tol``: the first
    ``n`` with P(N >= n) < tol, found on the log-pmf (no scipy.stats overhead)."""
    if mean <= 0:
        return 1
    n = np.arange(int(mean + 12 * np.sqrt(mean) + 40))
    tail = np.cumsum(_poisson_pmf(n, np.array([mean]))[0][::-1])[::-1]   # P(N >= n)
    below = np.flatnonzero(tail < tol)
    return int(below[0]) + 1 if below.size else len(n)


def _poisson_pmf(n: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Poisson probabilities (len(means), len(n)) from logs; mean 0 puts all on n = 0."""
    means = np.asarray(means, dtype=float)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        log = n[None, :] * np.log(means) - means - gammaln(n + 1)[None, :]
    out = np.exp(log)
    out[means[:, 0] == 0] = (n == 0).astype(float)
    return out


def expected_events(generator: np.ndarray, event_rates: np.ndarray, horizon: float) -> np.ndarray:
    """Expected number of events within ``horizon`` days, from each starting state.

    ``event_rates[c]`` is the rate (1/day) of the counted events out of state ``c``; the
    result is ``integral_0^T expm(Q s) ds @ event_rates``, from one matrix exponential of
    the augmented generator ``[[Q, r], [0, 0]]``.
    """
    n = generator.shape[0]
    augmented = np.zeros((n + 1, n + 1))
    augmented[:n, :n] = generator
    augmented[:n, n] = event_rates
    return expm(augmented * horizon)[:n, n]


def expected_events_by_horizon(generator: np.ndarray, event_rates: np.ndarray,
                               horizons) -> np.ndarray:
    """:func:`expected_events` for several horizons (days), shape (H, C).

    ``exp(A 2T) = exp(A T)^2`` for the augmented generator A, so when every horizon is a
    whole multiple of the shortest one, one matrix exponential and matrix powers give
    them all exactly; otherwise each horizon has its own exponential.
    """
    horizons = np.asarray(horizons, dtype=float)
    n = generator.shape[0]
    augmented = np.zeros((n + 1, n + 1))
    augmented[:n, :n] = generator
    augmented[:n, n] = event_rates
    base = horizons.min() if horizons.size else 0.0
    multiples = horizons / base if base > 0 else horizons
    if base <= 0 or not np.allclose(multiples, np.round(multiples), rtol=0, atol=1e-9):
        return np.array([expm(augmented * h)[:n, n] for h in horizons])
    step = expm(augmented * base)
    return np.array([np.linalg.matrix_power(step, int(round(k)))[:n, n] for k in multiples])


def stationary(generator: np.ndarray) -> np.ndarray:
    """Stationary distribution ``x`` (sums to 1) of a closed chain: ``x @ generator = 0``."""
    n = generator.shape[0]
    system = generator.T.copy()
    system[-1, :] = 1.0
    rhs = np.zeros(n)
    rhs[-1] = 1.0
    x = np.linalg.solve(system, rhs)
    x = np.clip(x, 0.0, None)
    return x / x.sum()
