"""Plausibility: a history run (``configs/world-history.toml``) against what it followed.

Usage: ``python benchmarks/plausibility_history.py RUN_DIR`` (a finished run of a config
with ``[initial] method = "history"``). Reads the run's ``results.nc`` and the embedded
``geo/history.csv`` and prints, for the places with data: 2023 TB incidence within 5% of
WHO; annual change 2015-2023 within 1.5 points of WHO's; HIV prevalence within 10% and ART
coverage within 5 points of UNAIDS (their last years in the shared data, 2021 and 2022); the
TB-HIV share within 10% of WHO's (2023); TB
notifications and TB deaths (HIV-negative, HIV-positive) against WHO 2023 as median
model/observed ratios; population against the World Bank 2000-2023; and the ten largest
2023-2043 changes of TB incidence.
Model values are annual means of the monthly outputs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

REPO = Path(__file__).resolve().parents[1]


def annual(results: xr.Dataset, name: str) -> pd.DataFrame:
    """Annual means (year x place) of a monthly output (the last time stamp left out)."""
    values = results[name].isel(time=slice(0, -1))
    return values.groupby("time.year").mean().to_pandas()


def share(mask: pd.Series) -> str:
    return f"{int(mask.sum())} of {int(mask.count())} ({100 * mask.mean():.0f}%)"


def main(run_dir: Path) -> None:
    results = xr.open_dataset(run_dir / "results.nc")
    observed = pd.read_csv(REPO / "geo" / "history.csv", keep_default_na=False, na_values=[""])
    wide = {c: observed.pivot(index="year", columns="id", values=c) for c in observed.columns
            if c not in ("id", "year")}
    incidence = annual(results, "tb_incidence")
    who = wide["tb_incidence_per_100k"].reindex(columns=incidence.columns)
    print(f"run {run_dir.name}: {results.sizes['place']} places, years "
          f"{incidence.index[0]}-{incidence.index[-1]}")

    ratio = (incidence.loc[2023] / who.loc[2023]).dropna()
    print(f"2023 TB incidence within 5% of WHO: {share((ratio - 1).abs() <= 0.05)}; within 10%: "
          f"{share((ratio - 1).abs() <= 0.10)}; median model/WHO {ratio.median():.2f}")
    change_model = 100 * ((incidence.loc[2023] / incidence.loc[2015]) ** (1 / 8) - 1)
    change_who = 100 * ((who.loc[2023] / who.loc[2015]) ** (1 / 8) - 1)
    gap = (change_model - change_who).dropna()
    print(f"annual change 2015-2023 within 1.5 points of WHO's: {share(gap.abs() <= 1.5)}; "
          f"WHO median {change_who.median():+.1f}%/yr, model median {change_model.median():+.1f}"
          "%/yr")

    for name, column, tolerance, kind, year in (
            ("hiv_prevalence", "hiv_prevalence_percent", 0.10, "relative", 2021),
            ("art_coverage", "art_coverage_percent", 5.0, "points", 2022)):
        model = annual(results, name).loc[year]
        data = wide[column].reindex(columns=model.index).loc[year]
        both = pd.concat([model, data], axis=1, keys=["model", "data"]).dropna()
        off = both["model"] - both["data"]
        if kind == "relative":
            off = off / both["data"].where(both["data"] > 0)
        within = f"{tolerance:g} points" if kind == "points" else f"{100 * tolerance:g}%"
        print(f"{year} {name} within {within} of UNAIDS: {share(off.abs() <= tolerance)}")

    if "tb_hiv_share" in results:
        model = annual(results, "tb_hiv_share").loc[2023]
        data = wide["tb_hiv_percent"].reindex(columns=model.index).loc[2023]
        both = pd.concat([model, data], axis=1, keys=["model", "data"]).dropna()
        off = (both["model"] - both["data"]) / both["data"].where(both["data"] > 0)
        print(f"2023 tb_hiv_share within 10% of WHO: {share(off.abs() <= 0.10)}; below: "
              f"{int((off < -0.10).sum())}, above: {int((off > 0.10).sum())}")

    population = results["total_population"].isel(time=slice(0, -1)).groupby(
        "time.year").mean().to_pandas()
    observed_pop = wide["population"].reindex(columns=population.columns)
    pop_ratio = (population.loc[2023] / observed_pop.loc[2023]).dropna()
    print(f"2023 population within 5% of the World Bank: {share((pop_ratio - 1).abs() <= 0.05)}; "
          f"world {population.loc[2023].sum() / 1e9:.2f} bn against "
          f"{observed_pop.loc[2023].sum() / 1e9:.2f} bn")

    for name, column in (("tb_notifications", "tb_notified_per_100k"),
                         ("tb_deaths", None)):
        model = annual(results, name).loc[2023]
        if column is None:
            data = (wide["tb_deaths_hiv_negative_per_100k"] + wide[
                "tb_deaths_hiv_positive_per_100k"]).loc[2023]
        else:
            data = wide[column].loc[2023]
        r = (model / data.reindex(model.index)).replace([np.inf, 0], np.nan).dropna()
        print(f"2023 {name}: median model/WHO {r.median():.2f} over {len(r)} places "
              f"(within 20%: {share((r - 1).abs() <= 0.2)})")
    if "tb_deaths_hiv_positive" in results:
        positive = annual(results, "tb_deaths_hiv_positive").loc[2023]
        negative = annual(results, "tb_deaths").loc[2023] - positive
        for label, model, column in (("HIV-negative", negative, "tb_deaths_hiv_negative_per_100k"),
                                     ("HIV-positive", positive, "tb_deaths_hiv_positive_per_100k")):
            r = (model / wide[column].loc[2023].reindex(model.index)).replace(
                [np.inf, 0], np.nan).dropna()
            print(f"2023 TB deaths {label}: median model/WHO {r.median():.2f} over {len(r)}")

    last = incidence.index[-1]
    change = (incidence.loc[last] / incidence.loc[2023]).dropna().sort_values()
    beyond = change[(change > 1.5) | (change < 1 / 1.5)]
    projected_rate = 100 * (beyond ** (1 / (last - 2023)) - 1)
    trend = change_who.reindex(beyond.index)
    own = (np.sign(projected_rate) == np.sign(trend)) & (
        projected_rate.abs() <= trend.abs() + 1.5)
    print(f"TB incidence {last} / 2023: median {change.median():.2f}; beyond a factor 1.5: "
          f"{len(beyond)} places, {int(own.sum())} of them continuing their own WHO 2015-2023 "
          "trend (same direction, at most 1.5 points a year faster); the others:")
    for place in beyond.index[~own.to_numpy()]:
        print(f"  {place}: {incidence.loc[2023, place]:.1f} -> {incidence.loc[last, place]:.1f} "
              f"per 100,000 ({change[place]:.2f}x; {projected_rate[place]:+.1f}%/yr against "
              f"WHO's {change_who.get(place, np.nan):+.1f}%/yr in 2015-2023)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
