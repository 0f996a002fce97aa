"""Rolling-origin back-test of the surveillance stage's prediction intervals (issue 14).

Usage: ``python benchmarks/surveillance_backtest.py RUN_DIR`` (a run directory on which
``healthmob surveil RUN_DIR --observed who-notifications`` has written ``surveillance.nc``).

Each year's baseline is fitted to the five years before it only (the model's expected count
times the ratio observed/expected of those years), so every baseline is a one-step-ahead
forecast from a rolling origin. Printed, by stratum (everyone, foreign-born), over the
years outside 2020-2021 (the pandemic years, as the issue asks): the share of observed
counts inside the 95% prediction interval of the baseline and inside the model's own 95%
interval (no ratio fitted), the median continuous ranked probability score of the baseline
relative to the observed count, and the same for a naive forecast (last year's count).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import xarray as xr

from healthmob.surveillance.predictive import crps

PANDEMIC = (2020, 2021)


def main(run_dir: Path) -> None:
    ds = xr.open_dataset(run_dir / "surveillance.nc").load()
    rng = np.random.default_rng(0)
    years = ds["year"].to_numpy()
    keep_year = ~np.isin(years, PANDEMIC)
    print(f"{run_dir.name}: {ds.sizes['series']} series, years {years[0]}-{years[-1]} "
          f"(2020-2021 left out)")
    print("| stratum | forecasts | inside the baseline's 95% interval | inside the model's "
          "95% interval | median CRPS / observed: baseline | naive (last year) |")
    print("|---|---|---|---|---|---|")
    for name, mask in (("everyone", ds["country_of_birth"].to_numpy() == ""),
                       ("foreign-born", ds["country_of_birth"].to_numpy() == "foreign")):
        part = ds.isel(series=np.flatnonzero(mask))
        y = part["observed"].to_numpy()[:, keep_year]
        lo, hi = (part["baseline_lower"].to_numpy()[:, keep_year],
                  part["baseline_upper"].to_numpy()[:, keep_year])
        mlo, mhi = (part["expected_lower"].to_numpy()[:, keep_year],
                    part["expected_upper"].to_numpy()[:, keep_year])
        tested = np.isfinite(y) & np.isfinite(lo)
        inside = ((y >= lo) & (y <= hi))[tested]
        model_tested = tested & np.isfinite(mlo)
        inside_model = ((y >= mlo) & (y <= mhi))[model_tested]
        mu = part["baseline"].to_numpy()[:, keep_year]
        sd = part["baseline_log_sd"].to_numpy()[:, keep_year]
        phi = part["dispersion"].to_numpy()[:, keep_year]
        df = part["dispersion_df"].to_numpy()[:, keep_year]
        previous = np.roll(part["observed"].to_numpy(), 1, axis=1)[:, keep_year]
        scores, naive = [], []
        for i, t in zip(*np.nonzero(tested & (y > 0))):
            scores.append(crps(mu[i, t], sd[i, t], phi[i, t], y[i, t], rng, 500, df[i, t])
                          / y[i, t])
            if np.isfinite(previous[i, t]):
                naive.append(abs(previous[i, t] - y[i, t]) / y[i, t])
        print(f"| {name} | {tested.sum()} | {100 * inside.mean():.1f}% | "
              f"{100 * inside_model.mean():.1f}% ({model_tested.sum()}) | "
              f"{np.median(scores):.3f} | {np.median(naive):.3f} |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
