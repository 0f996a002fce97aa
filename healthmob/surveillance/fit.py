"""Fitting importation to what was observed: an explicit step, never a default.

``healthmob surveil RUN --observed FILE --fit`` estimates, from the observed foreign-born
notifications, how much TB the migrants of each WHO region of birth bring relative to what
the run assumed: the foreign-born count of destination ``d`` in year ``t`` is negative
binomial (NB2, variance ``mu + mu^2 / k``) with mean ``sum_r theta_r E_dtr``, where
``E_dtr`` is the run's foreign-born notifications of origins in region ``r``
(``tb_notifications_foreign_born_by_origin``). ``theta_r = 1`` is the run as it was;
``theta_r = 2`` means twice the cases the model gives migrants from ``r``. Maximum
likelihood over ``log theta`` and ``log k`` (scipy L-BFGS-B), 95% profile-likelihood
intervals (the others re-maximised at every point; likelihood-ratio 3.84).

The model's foreign-born cases come mostly from the latent and active TB migrants carry at
entry, which the selection ratios ``migrant_ltbi_ratio`` and ``migrant_active_tb_ratio``
scale; treating the counts as proportional to them is an approximation (infections after
arrival do not scale), so a run with the fitted values is the check. One common
``theta`` (all regions) is fitted too and written as ``fitted_parameters.toml``: the two
ratios times ``theta``, kept inside their declared range (``models/tb.toml``: outside it
the travellers are no longer those the screening cohorts describe; the file says when the
data asked for more). A config loads it with ``parameters_file``; the shipped configs never
do, so their foreign-born counts stay an out-of-sample check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from scipy import optimize, special

from .expected import ModelCounts

CHI2_95 = 3.841458820694124   # scipy.stats.chi2.ppf(0.95, 1)
RATIOS = ("migrant_ltbi_ratio", "migrant_active_tb_ratio")
NO_REGION = "unknown"
"""The group of origins without a WHO region (no value of its own in the parameter file)."""


@dataclass(frozen=True)
class SelectionFit:
    """Fitted multipliers: ``table`` (one row per region and one for all regions together:
    theta, 95% interval, observations, cases) and the data's size ``k``."""

    table: pd.DataFrame
    dispersion_k: float
    observations: int


def _log_likelihood(y: np.ndarray, mu: np.ndarray, k: float) -> float:
    mu = np.maximum(mu, 1e-12)
    return float(np.sum(special.gammaln(y + k) - special.gammaln(k) - special.gammaln(y + 1)
                        + k * np.log(k / (k + mu)) + y * np.log(mu / (k + mu))))


def _maximise(y, design, fixed: dict[int, float]):
    """Max over log theta (columns of ``design``) and log k, with ``fixed`` log thetas."""
    free = [j for j in range(design.shape[1]) if j not in fixed]

    def negative(x):
        log_theta = np.empty(design.shape[1])
        log_theta[free] = x[:-1]
        for j, value in fixed.items():
            log_theta[j] = value
        return -_log_likelihood(y, design @ np.exp(log_theta), float(np.exp(x[-1])))

    start = np.zeros(len(free) + 1)
    found = optimize.minimize(negative, start, method="L-BFGS-B",
                              bounds=[(-8.0, 8.0)] * len(free) + [(-8.0, 12.0)])
    return -found.fun, found.x


def _profile_interval(y, design, j, best_value, best_log_theta) -> tuple[float, float]:
    def gap(value):
        return 2 * (best_value - _maximise(y, design, {j: value})[0]) - CHI2_95

    bounds = []
    for edge in (best_log_theta - 6.0, best_log_theta + 6.0):
        if gap(edge) < 0:
            bounds.append(np.nan)  # the likelihood does not fall enough on this side
        else:
            bounds.append(float(np.exp(optimize.brentq(gap, *sorted((best_log_theta, edge)),
                                                       xtol=1e-4))))
    return bounds[0], bounds[1]


def _fit(y, design, names) -> tuple[list[dict], float]:
    best_value, x = _maximise(y, design, {})
    rows = []
    for j, name in enumerate(names):
        lo, hi = _profile_interval(y, design, j, best_value, x[j])
        rows.append({"origin_region": name, "theta": float(np.exp(x[j])), "lower_95": lo,
                     "upper_95": hi, "model_cases": float(design[:, j].sum())})
    return rows, float(np.exp(x[-1]))


def fit_selection(surveillance: xr.Dataset, model: ModelCounts, regions: dict[str, str]
                  ) -> SelectionFit:
    """Fit the multipliers (module docstring) from the foreign-born series of
    ``surveillance`` (observed counts) and the run's counts by origin in ``model``;
    ``regions`` maps a place id to its WHO region."""
    pick = np.flatnonzero((surveillance["country_of_birth"].to_numpy() == "foreign")
                          & (surveillance["years_since_entry"].to_numpy() == ""))
    years = surveillance["year"].to_numpy()
    k = np.searchsorted(model.years, years)
    labels = model.origin_labels

    def region_of(name: str) -> str:
        found = regions.get(name) or (name[7:] if name.startswith("region:") else "")
        return found if found and found != NO_REGION else NO_REGION

    groups = sorted({region_of(n) for n in np.unique(labels) if n})
    column = {g: j for j, g in enumerate(groups)}
    ys, rows = [], []
    for i in pick:
        place = model.places.index(str(surveillance["reporting_place"].values[i]))
        observed = surveillance["observed"].to_numpy()[i]
        by_region = np.zeros((len(years), len(groups)))
        for g, name in enumerate(labels[place]):
            if name:
                by_region[:, column[region_of(name)]] += model.origin_counts(place, g)[k]
        use = np.isfinite(observed) & (by_region.sum(axis=1) > 0)
        ys.append(observed[use])
        rows.append(by_region[use])
    y, design = np.concatenate(ys), np.vstack(rows)
    present = design.sum(axis=0) > 0
    design, names = design[:, present], [g for g, p in zip(groups, present) if p]
    by_region, k_value = _fit(y, design, names)
    together, _ = _fit(y, design.sum(axis=1, keepdims=True), ["all regions"])
    table = pd.DataFrame(together + by_region)
    table["observed_cases"] = [float(y.sum())] + [np.nan] * len(by_region)
    return SelectionFit(table=table, dispersion_k=k_value, observations=len(y))


def parameters_toml(fit: SelectionFit, declared: dict[str, tuple[dict, float, float]],
                    source: str) -> str:
    """``fitted_parameters.toml``: each ratio times the common theta, and ``by_who_region``
    the ratio of each region times that region's theta, all kept inside the declared range,
    with the provenance and every value the range stopped as comments. ``declared`` gives
    each ratio's run values (``""``: the run's value; a region: its own, if it had one), low
    and high; a region with its own value but no fitted theta keeps it times the common
    theta."""
    theta = fit.table.iloc[0]
    lines = [f"# healthmob surveil --fit against {source}: the migrants' TB relative to the",
             f"# run's, all regions together: theta = {theta['theta']:.3f} (95% profile "
             f"interval {theta['lower_95']:.3f}-{theta['upper_95']:.3f}),",
             f"# {fit.observations} foreign-born notification counts; by_who_region: each",
             "# region's own theta (fitted_selection.csv). Load with parameters_file =",
             "# \"fitted_parameters.toml\" in a config (docs/surveillance.md).",
             "[parameters]"]
    regional = fit.table.iloc[1:]
    regional = regional[(regional["origin_region"] != NO_REGION)
                        & np.isfinite(regional["lower_95"]) & np.isfinite(regional["upper_95"])]
    for name in RATIOS:
        values, low, high = declared[name]
        notes, kept = [], {}
        fitted = dict(zip(regional["origin_region"], regional["theta"]))
        unfitted = {r: theta["theta"] for r in values if r and r not in fitted}
        for region, multiplier in {"": theta["theta"], **fitted, **unfitted}.items():
            wanted = values.get(region, values[""]) * multiplier
            kept[region] = min(max(wanted, low), high)
            if kept[region] != wanted:
                notes.append(f"{region or 'all regions'} {wanted:.3f}")
        by_region = ", ".join(f"{r} = {v:.6g}" for r, v in kept.items() if r)
        if notes:
            lines.append(f"# {name}: the data ask for {', '.join(notes)}, outside the "
                         f"declared range [{low}, {high}]")
        lines.append(f"{name} = {{ value = {kept['']:.6g}, "
                     f"by_who_region = {{ {by_region} }} }}")
    return "\n".join(lines) + "\n"
