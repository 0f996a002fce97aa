"""Outbreak detection by the quasi-Poisson method of Farrington et al. (1996) as improved by
Noufaily et al. (2013): R's ``surveillance::farringtonFlexible``.

For each time point ``k`` of a series, a log-linear quasi-Poisson model is fitted to the
counts of the same part of the year in the ``b`` previous years (``w`` periods either side;
with ``no_periods > 1``, every past period, grouped in ``no_periods`` seasonal levels as
Noufaily et al. recommend), with a linear trend kept only when it is significant, at least
three years back and not extrapolating beyond the largest count. Past outbreaks are
down-weighted (Anscombe residuals above 2.58). The threshold is the ``1 - alpha`` quantile of
a negative binomial with the fitted mean and dispersion ("nbPlugin"), or with the mean's
``1 - alpha`` upper confidence limit ("muan"). An alarm needs a count above the threshold
and at least 5 cases in the last 4 periods.

An ``offset`` (the model's expected count of the same series, e.g. the foreign-born cases
that migration brings) enters the regression as ``log(offset)``
(``populationOffset = TRUE``): the baseline is then the model's expectation scaled by the
ratio observed/expected of the reference periods, and an alarm means "more than the model
(and migration) explains", not "more than last years".

References
----------
Farrington CP, Andrews NJ, Beale AD, Catchpole MA (1996). A statistical algorithm for the
early detection of outbreaks of infectious disease. J R Stat Soc A 159:547-563.
Noufaily A, Enki DG, Farrington P, Garthwaite P, Andrews N, Charlett A (2013). An improved
algorithm for outbreak detection in multiple surveillance systems. Stat Med 32:1206-1222.
Salmon M, Schumacher D, Höhle M (2016). Monitoring count time series in R: aberration
detection in public health surveillance. J Stat Softw 70(10).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from .glm import QuasiPoissonFit, fit_quasi_poisson


@dataclass(frozen=True)
class NoufailyControl:
    """Settings, named and defaulted as ``farringtonFlexible``'s ``control`` list
    (``b = 5, w = 3, reweight, weightsThreshold = 2.58, alpha = 0.05, trend,
    pThresholdTrend = 0.05, limit54 = c(5, 4), noPeriods = 1``); ``freq`` is the number of
    periods in a year (1, 4, 12 or 52)."""

    freq: int = 1
    b: int = 5
    w: int = 0
    no_periods: int = 1
    alpha: float = 0.05
    trend: bool = True
    p_threshold_trend: float = 0.05
    reweight: bool = True
    weights_threshold: float = 2.58
    limit54: tuple[int, int] = (5, 4)
    threshold_method: str = "nbPlugin"

    @property
    def first(self) -> int:
        """Index (0-based) of the first time point with enough past."""
        return self.freq * self.b + self.w


@dataclass(frozen=True)
class Detection:
    """Results per time point of one series (NaN before ``control.first``).

    Attributes
    ----------
    expected : baseline count (``exp`` of the predicted linear predictor)
    upper : threshold (count); an alarm is a count above it
    score : ``(y - eta) / (upper - eta)`` as ``farringtonFlexible`` computes it
    p_value : P(Y >= y) under the baseline's negative binomial
    dispersion : ``phi`` (>= 1)
    log_sd : standard error of ``log(expected)`` with dispersion ``phi`` (for intervals)
    dispersion_df : residual degrees of freedom ``phi`` was estimated with
    trend : 1 where the trend was kept
    alarm : bool
    """

    expected: np.ndarray
    upper: np.ndarray
    score: np.ndarray
    p_value: np.ndarray
    dispersion: np.ndarray
    log_sd: np.ndarray
    dispersion_df: np.ndarray
    trend: np.ndarray
    alarm: np.ndarray


def reference_blocks(k: int, n: int, control: NoufailyControl) -> np.ndarray:
    """Seasonal level (1..no_periods) of each time point used as reference for ``k``
    (0 where unused), as ``surveillance:::blocks`` with ``pastWeeksNotIncluded = w``.

    Between two reference windows the ``f - 2w - 1`` periods are cut into ``no_periods - 1``
    blocks; where a block is empty, R's ``a:(a - 1)`` writes its level on ``a`` and
    ``a - 1``, and this is followed so that the levels are the reference's.
    """
    f, b, w, p = control.freq, control.b, control.w, control.no_periods
    levels = np.zeros(n, dtype=int)
    for i in range(1, b + 1):
        ref = k - i * f
        levels[ref - w:ref + w + 1] = p
        if p != 1:
            gap = f - 2 * w - 1
            if gap < p - (2 * w + 1):
                raise ValueError("no_periods too large for the window")
            lengths = np.full(p - 1, gap // (p - 1))
            lengths[:gap % (p - 1)] += 1
            edges = ref + w + 1 + np.concatenate([[0], np.cumsum(lengths)])
            for j in range(1, p):
                start, end = edges[j - 1], edges[j] - 1
                if end >= start:
                    levels[start:end + 1] = j
                else:
                    levels[[start, end]] = j
    levels[k - w:k + 1] = 0
    return levels


def _design(times: np.ndarray, levels: np.ndarray, trend: bool, no_periods: int
            ) -> np.ndarray:
    columns = [np.ones(len(times))]
    if trend:
        columns.append(times.astype(float))
    if no_periods != 1:
        present = np.unique(levels)
        columns += [(levels == level).astype(float) for level in present[1:]]
    return np.column_stack(columns)


def _fit(times, levels, y, log_offset, trend, control
         ) -> tuple[QuasiPoissonFit | None, float, bool]:
    """``algo.farrington.fitGLM.flexible``: fit, drop the trend if it does not converge,
    reweight. Returns the fit (None if none converges), ``phi`` and whether the trend is in.

    As in ``surveillance`` 1.20.3, the reweighted model's working weights are replaced by
    the reweighting weights ``omega`` before ``summary.glm`` is called on it, so the trend
    test and the standard error of the prediction use the dispersion
    ``sum(omega * ((y - mu) / mu)**2) / df``, while ``phi`` (the negative binomial's) is the
    model's own Pearson dispersion; this is followed here so that the thresholds agree.
    """
    design = _design(times, levels, trend, control.no_periods)
    fit = fit_quasi_poisson(design, y, log_offset)
    if not fit.converged and trend:
        trend = False
        design = _design(times, levels, trend, control.no_periods)
        fit = fit_quasi_poisson(design, y, log_offset)
    if not fit.converged:
        return None, np.nan, trend
    phi = max(fit.dispersion, 1.0)
    if control.reweight:
        mu = fit.mu
        with np.errstate(divide="ignore", invalid="ignore"):  # mu -> 0 or hat -> 1
            anscombe = (1.5 * (y ** (2 / 3) * mu ** (-1 / 6) - mu ** 0.5)
                        / np.sqrt(phi * (1 - fit.hat)))
        high = anscombe > control.weights_threshold
        with np.errstate(divide="ignore"):  # anscombe == 0 only where not high
            inverse_square = np.where(high, anscombe ** -2.0, 1.0)
        gamma = len(anscombe) / np.sum(inverse_square)
        omega = gamma * inverse_square
        fit = fit_quasi_poisson(design, y, log_offset, omega)
        phi = max(fit.dispersion, 1.0)
        residuals = (y - fit.mu) / fit.mu
        fit = replace(fit, dispersion=float(np.sum(omega * residuals ** 2) / fit.df_residual))
    return fit, phi, trend


def _new_point(k: int, levels: np.ndarray, trend: bool, no_periods: int) -> np.ndarray:
    x = [1.0]
    if trend:
        x.append(float(k + 1))
    if no_periods != 1:
        present = np.unique(levels)
        x += [float(level == no_periods) for level in present[1:]]
    return np.array(x)


def detect(observed: np.ndarray, control: NoufailyControl = NoufailyControl(),
           offset: np.ndarray | None = None) -> Detection:
    """Run the detector over one series (module docstring).

    Parameters
    ----------
    observed : ndarray (n,)
        Counts per period, oldest first; NaN where not reported.
    control : NoufailyControl
    offset : ndarray (n,), optional
        Expected counts that scale the baseline, e.g. the model's expected cases; a time
        point whose own or reference offsets are not > 0 gets no result.

    Returns
    -------
    Detection
    """
    y_all = np.asarray(observed, dtype=float)
    n = len(y_all)
    if offset is None:
        log_offset_all = np.zeros(n)
    else:
        offset = np.asarray(offset, dtype=float)
        log_offset_all = np.where(offset > 0, np.log(np.where(offset > 0, offset, 1.0)),
                                  np.nan)
    out = {name: np.full(n, np.nan) for name in ("expected", "upper", "score", "p_value",
                                                 "dispersion", "log_sd", "dispersion_df",
                                                 "trend")}
    alarm = np.zeros(n, dtype=bool)
    times = np.arange(1, n + 1)
    for k in range(control.first, n):
        levels = reference_blocks(k, n, control)
        use = (levels > 0) & np.isfinite(y_all)
        y, lo = y_all[use], log_offset_all[use]
        if (len(y) <= 1 + control.trend + (control.no_periods - 1)
                or not np.all(np.isfinite(lo)) or not np.isfinite(log_offset_all[k])):
            continue  # too few reference counts, or an offset that is not > 0
        fit, phi, trend = _fit(times[use], levels[use], y, lo, control.trend, control)
        if trend and fit is not None:
            eta, _ = fit.predict_link(_new_point(k, levels[use], True, control.no_periods),
                                      log_offset_all[k])
            keep = (control.b >= 3 and fit.p_values()[1] < control.p_threshold_trend
                    and np.exp(eta) <= y.max())
            if not keep:
                fit, phi, trend = _fit(times[use], levels[use], y, lo, False, control)
        if fit is None:
            continue
        x = _new_point(k, levels[use], trend, control.no_periods)
        eta, se = fit.predict_link(x, log_offset_all[k])
        mu0 = np.exp(eta if control.threshold_method == "nbPlugin"
                     else stats.norm.ppf(1 - control.alpha, eta, se))
        y_k = y_all[k]
        if phi > 1:
            size = mu0 / (phi - 1)
            upper = stats.nbinom.ppf(1 - control.alpha, size, 1 / phi)
            p_value = stats.nbinom.sf(y_k - 1, size, 1 / phi)
        else:
            upper = stats.poisson.ppf(1 - control.alpha, mu0)
            p_value = stats.poisson.sf(y_k - 1, mu0)
        score = (y_k - eta) / (upper - eta)
        recent = y_all[k - control.limit54[1] + 1:k + 1]
        if np.nansum(recent) >= control.limit54[0]:
            out["upper"][k], out["expected"][k] = upper, np.exp(eta)
            alarm[k] = bool(score > 1 and y_k != 0)
        out["score"][k], out["p_value"][k] = score, p_value
        out["dispersion"][k], out["trend"][k] = phi, float(trend)
        out["log_sd"][k] = float(np.sqrt(x @ fit.cov_unscaled @ x * phi))
        out["dispersion_df"][k] = fit.df_residual
    return Detection(alarm=alarm, **out)
