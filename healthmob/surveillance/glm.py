"""Quasi-Poisson log-linear regression, fitted as R's ``glm.fit`` fits it.

Iteratively reweighted least squares with R's start (``mu = y + 0.1``), convergence rule
(relative change of deviance below ``1e-8``) and returned quantities (working weights and
QR of the last iteration), so that coefficients, dispersion, hat values and standard errors
agree with ``glm(..., family = quasipoisson)`` to rounding: the aberration detector of
:mod:`healthmob.surveillance.noufaily` is checked against R's ``surveillance`` package to
1e-6 (tests/unit/test_noufaily.py). statsmodels' GLM has another start and stopping rule,
and a kernel module here may use numpy and scipy only (the import contracts); following R's
iteration step by step is what makes that comparison exact, hence this small module.

References
----------
McCullagh P, Nelder JA (1989). Generalized Linear Models, 2nd ed. Chapman & Hall, ch. 2, 6.
R Core Team. ``stats::glm.fit``, ``stats::summary.glm``, ``stats::predict.glm``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

EPSILON = 1e-8     # R's glm.control(epsilon)
MAX_ITERATIONS = 25  # R's glm.control(maxit)


@dataclass(frozen=True)
class QuasiPoissonFit:
    """A fitted quasi-Poisson GLM with log link.

    Attributes
    ----------
    coef : ndarray (p,)
        Coefficients on the log scale.
    mu : ndarray (n,)
        Fitted means (counts).
    cov_unscaled : ndarray (p, p)
        ``(X' W X)^-1`` with the working weights ``W`` of the last iteration.
    hat : ndarray (n,)
        Diagonal of the hat matrix.
    dispersion : float
        Pearson chi-squared over residual degrees of freedom (``summary.glm``).
    df_residual : int
    converged : bool
    """

    coef: np.ndarray
    mu: np.ndarray
    cov_unscaled: np.ndarray
    hat: np.ndarray
    dispersion: float
    df_residual: int
    converged: bool

    def standard_errors(self) -> np.ndarray:
        """Standard errors of the coefficients (dispersion estimated)."""
        return np.sqrt(np.diag(self.cov_unscaled) * self.dispersion)

    def p_values(self) -> np.ndarray:
        """Two-sided t-test p-values of the coefficients (``summary.glm`` of a quasi family)."""
        t = self.coef / self.standard_errors()
        return 2 * stats.t.sf(np.abs(t), self.df_residual)

    def predict_link(self, x: np.ndarray, offset: float = 0.0) -> tuple[float, float]:
        """Linear predictor at the covariates ``x`` and its standard error."""
        eta = float(x @ self.coef + offset)
        se = float(np.sqrt(x @ self.cov_unscaled @ x * self.dispersion))
        return eta, se


def _deviance(y: np.ndarray, mu: np.ndarray, weights: np.ndarray) -> float:
    return float(np.sum(2 * weights * (special.xlogy(y, y) - special.xlogy(y, mu) - (y - mu))))


def fit_quasi_poisson(design: np.ndarray, y: np.ndarray, offset: np.ndarray | None = None,
                      weights: np.ndarray | None = None) -> QuasiPoissonFit:
    """Fit ``log E[y] = design @ coef + offset`` with prior ``weights`` (module docstring).

    Parameters
    ----------
    design : ndarray (n, p)
        Full-rank design matrix.
    y : ndarray (n,)
        Counts >= 0.
    offset : ndarray (n,), optional
        Known part of the linear predictor (log of an expected count).
    weights : ndarray (n,), optional
        Prior weights > 0.
    """
    y = np.asarray(y, dtype=float)
    n, p = design.shape
    offset = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
    weights = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    mu = y + 0.1
    eta = np.log(mu)
    deviance_old = _deviance(y, mu, weights)
    converged = False
    for _ in range(MAX_ITERATIONS):
        mu_eta = np.maximum(np.exp(eta), np.finfo(float).eps)
        z = eta - offset + (y - mu) / mu_eta
        root_w = np.sqrt(weights * mu_eta ** 2 / mu)
        q, r = np.linalg.qr(design * root_w[:, None])
        coef = np.linalg.solve(r, q.T @ (z * root_w))
        eta = design @ coef + offset
        mu = np.exp(eta)
        deviance = _deviance(y, mu, weights)
        if abs(deviance - deviance_old) / (abs(deviance) + 0.1) < EPSILON:
            converged = True
            break
        deviance_old = deviance
    working = root_w ** 2
    r_inv = np.linalg.inv(r)
    df_residual = n - p
    residuals = (y - mu) / np.maximum(mu, np.finfo(float).eps)
    dispersion = (float(np.sum(working * residuals ** 2) / df_residual) if df_residual > 0
                  else np.nan)
    return QuasiPoissonFit(coef=coef, mu=mu, cov_unscaled=r_inv @ r_inv.T,
                           hat=np.sum(q ** 2, axis=1), dispersion=dispersion,
                           df_residual=df_residual, converged=converged)
