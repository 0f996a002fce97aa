"""Negative-binomial CUSUM for sustained rises above a baseline.

``S_t = max(0, S_{t-1} + log f(y_t; kappa * mu_t) - log f(y_t; mu_t))`` with ``f`` the
negative binomial of mean ``mu_t`` (the baseline) and dispersion ``phi_t`` (size
``mu / (phi - 1)`` held between the two hypotheses); an alarm when ``S_t > h``, after which
``S`` restarts at 0. ``kappa`` is the relative rise the chart is tuned to detect.

References
----------
Hawkins DM, Olwell DH (1998). Cumulative Sum Charts and Charting for Quality Improvement.
Springer, ch. 5 (CUSUMs for counts).
Höhle M, Paul M (2008). Count data regression charts for the monitoring of surveillance
time series. Comput Stat Data Anal 52:4357-4368.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

KAPPA = 1.5
THRESHOLD = 2.5


def _log_pmf(y: float, mean: float, size: float) -> float:
    if np.isfinite(size):
        return float(stats.nbinom.logpmf(y, size, size / (size + mean)))
    return float(stats.poisson.logpmf(y, mean))


def nb_cusum(observed: np.ndarray, baseline: np.ndarray, dispersion: np.ndarray,
             kappa: float = KAPPA, threshold: float = THRESHOLD
             ) -> tuple[np.ndarray, np.ndarray]:
    """The CUSUM statistic and its alarms over a series (NaN baselines are skipped)."""
    statistic = np.full(len(observed), np.nan)
    alarm = np.zeros(len(observed), dtype=bool)
    s = 0.0
    for t, (y, mu, phi) in enumerate(zip(observed, baseline, dispersion)):
        if not (np.isfinite(y) and np.isfinite(mu) and mu > 0 and np.isfinite(phi)):
            continue
        size = mu / (phi - 1) if phi > 1 + 1e-12 else np.inf  # in-control size, both sides
        s = max(0.0, s + _log_pmf(y, kappa * mu, size) - _log_pmf(y, mu, size))
        statistic[t] = s
        if s > threshold:
            alarm[t] = True
            s = 0.0
    return statistic, alarm
