"""Outbreak detection on simulated series with injected rises (issue 14, point 3).

Usage: ``python benchmarks/surveillance_detection.py RUN_DIR [--series 50] [--copies 4]``
(a run directory with ``surveillance.nc``).

In-control series are drawn around the model's expected counts of the run's foreign-born
series (those with at least 20 expected cases every year): ``y_t`` negative binomial with
mean ``r * E_t`` (``r`` drawn per series from 0.5-2: the model is not exact) and
dispersion 1.5 (the median ``phi`` of the WHO foreign-born series around the model is
1.31). The deterministic model is the baseline: the history run has no stochastic members
(a history start runs the deterministic engine only). Into copies of them are injected: a
one-year spike of +50% in 2019, and a sustained rise of +30% from 2016 on. The series go
through the surveillance stage's own evaluation (:func:`healthmob.surveillance.run.evaluate`).
Printed per detector: the false-alarm rate in years without a rise (the nominal level is
5%), the sensitivity in the spike year, and for the sustained rise the share detected by
2019 and the median delay to the first alarm (years); the same for R's plug-in threshold
(``threshold_farrington_flexible``) beside them.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from healthmob.surveillance.expected import Series
from healthmob.surveillance.observed import STRATA
from healthmob.surveillance.run import enough_cases, evaluate

DISPERSION = 1.5
SPIKE_YEAR, SPIKE = 2019, 1.5
RISE_YEAR, RISE = 2016, 1.3


def simulate(expected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    mean = expected * rng.uniform(0.5, 2.0)
    size = mean / (DISPERSION - 1)
    return rng.negative_binomial(size, size / (size + mean)).astype(float)


DETECTORS = {"Noufaily, model offset": "alarm",
             "Noufaily, no model (trend)": "alarm_without_model",
             "NB CUSUM on the model baseline": "cusum_alarm"}


def alarms(observed: np.ndarray, expected: np.ndarray, years: np.ndarray) -> dict:
    """Alarms (series, year) of every detector, by the stage's evaluation."""
    series = [Series(place="X", disease="tb", stratum={k: "" for k in STRATA}, years=years,
                     observed=y, expected=e, relative_sd=np.zeros(len(years)))
              for y, e in zip(observed, expected)]
    ds = evaluate(series)
    found = {name: ds[flag].to_numpy() == 1 for name, flag in DETECTORS.items()}
    y = ds["observed"].to_numpy()
    found["R's plug-in threshold, model offset"] = enough_cases(y) & (
        y > ds["threshold_farrington_flexible"].to_numpy())
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--series", type=int, default=50)
    parser.add_argument("--copies", type=int, default=4)
    args = parser.parse_args()
    ds = xr.open_dataset(args.run_dir / "surveillance.nc").load()
    years = ds["year"].to_numpy()
    foreign = ds.isel(series=np.flatnonzero(ds["country_of_birth"].to_numpy() == "foreign"))
    expected = foreign["expected"].to_numpy()
    chosen = np.flatnonzero((expected >= 20).all(axis=1))[:args.series]
    rng = np.random.default_rng(2026)
    spike_at = int(np.flatnonzero(years == SPIKE_YEAR)[0])
    rise_at = int(np.flatnonzero(years == RISE_YEAR)[0])
    model = np.repeat(expected[chosen], args.copies, axis=0)
    base = np.array([simulate(e, rng) for e in model])
    spike, rise = base.copy(), base.copy()
    spike[:, spike_at] = np.round(spike[:, spike_at] * SPIKE)
    rise[:, rise_at:] = np.round(rise[:, rise_at:] * RISE)
    warnings.simplefilter("ignore", RuntimeWarning)
    quiet, spiked, risen = (alarms(y, model, years) for y in (base, spike, rise))
    print(f"{args.run_dir.name}: {len(chosen)} foreign-born series x {args.copies} copies = "
          f"{len(model)} simulated series, dispersion {DISPERSION}")
    print(f"| detector | false alarms (years without a rise) | sensitivity, +{SPIKE - 1:.0%} "
          f"in {SPIKE_YEAR} | +{RISE - 1:.0%} from {RISE_YEAR}: found by {SPIKE_YEAR} | "
          "median delay (years) |")
    print("|---|---|---|---|---|")
    for name in quiet:
        after = risen[name][:, rise_at:]
        first = np.where(after.any(axis=1), after.argmax(axis=1), -1)
        found = (first >= 0) & (first <= SPIKE_YEAR - RISE_YEAR)
        delay = f"{np.median(first[first >= 0]):.0f}" if (first >= 0).any() else "-"
        print(f"| {name} | {100 * quiet[name][:, 5:].mean():.1f}% | "
              f"{100 * spiked[name][:, spike_at].mean():.0f}% | {100 * found.mean():.0f}% | "
              f"{delay} |")


if __name__ == "__main__":
    main()
