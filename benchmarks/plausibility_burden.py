"""Outputs that are not calibration targets, against WHO and UNAIDS (issue 13, point 4).

Usage::

    python benchmarks/plausibility_burden.py RUN_DIR ../shared/data [--year 2022]

The model's rates at the run's first output time (its start; the world run starts on
2022-01-01) as counts per year, beside the observed ones for ``--year``:

* TB deaths against WHO ``e_mort_num`` (HIV-negative plus HIV-positive; burden file), and
  each part: HIV-negative against ``e_mort_exc_tbhiv_num``, HIV-positive against
  ``e_mort_tbhiv_num``;
* TB notifications against WHO ``c_newinc`` (new and relapse; notifications file);
* new HIV infections among adults against UNAIDS ``SH.HIV.INCD`` (adults 15-49; the model
  has no age, so its all-ages incidence is an upper bound of the 15-49 count);
* ART coverage against UNAIDS ``SH.HIV.ARTC.ZS`` (percent of people living with HIV).

Prints, per measure, the world totals, the median ratio (model / observed) over countries
with data and its 90 % range, and the five largest countries' ratios.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr


def model_counts(run_dir: Path) -> pd.DataFrame:
    """Counts per year (and ART coverage, percent) per place at the first output time."""
    start = xr.open_dataset(run_dir / "results.nc").isel(time=0)
    population = start["total_population"].to_series()
    per_year = {name: start[name].to_series() * population / 1e5
                for name in ("tb_deaths", "tb_deaths_hiv_positive", "tb_notifications",
                             "hiv_incidence")}
    per_year["tb_deaths_hiv_negative"] = (per_year["tb_deaths"]
                                          - per_year["tb_deaths_hiv_positive"])
    return pd.DataFrame({**per_year, "art_coverage": start["art_coverage"].to_series()})


def _world_bank(path: Path, year: int) -> pd.Series:
    table = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, na_values=[""])
    return pd.to_numeric(table.set_index("Country Code")[str(year)], errors="coerce")


def observed(data: Path, year: int) -> pd.DataFrame:
    """WHO and UNAIDS values for ``year`` by ISO3."""
    burden = pd.read_csv(data / "who_tb_2025" / "TB_burden_countries_2025-10-29.csv",
                         keep_default_na=False, na_values=[""])
    burden = burden[burden.year == year].set_index("iso3")
    notified = pd.read_csv(data / "who_tb_2025" / "TB_notifications_2025-05-21.csv",
                           usecols=["iso3", "year", "c_newinc"], keep_default_na=False,
                           na_values=[""])
    notified = notified[notified.year == year].set_index("iso3")
    hiv = data / "hiv_wdi"
    return pd.DataFrame({
        "tb_deaths": burden["e_mort_num"],
        "tb_deaths_hiv_positive": burden["e_mort_tbhiv_num"],
        "tb_deaths_hiv_negative": burden["e_mort_exc_tbhiv_num"],
        "tb_notifications": notified["c_newinc"],
        "hiv_incidence": _world_bank(hiv / "adults-newly-infected-with-hiv.csv", year),
        "art_coverage": _world_bank(hiv / "antiretroviral-therapy-coverage.csv", year),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("data", type=Path, help="the shared data folder")
    parser.add_argument("--year", type=int, default=2022)
    args = parser.parse_args()
    model, seen = model_counts(args.run_dir), observed(args.data, args.year)
    biggest = seen["tb_notifications"].reindex(model.index).nlargest(5).index
    print(f"| measure | countries | model world | observed world | median ratio | 90 % range |"
          f" {' | '.join(biggest)} |")
    print("|---|---|---|---|---|---|" + "---|" * len(biggest))
    for name in ("tb_deaths", "tb_deaths_hiv_negative", "tb_deaths_hiv_positive",
                 "tb_notifications", "hiv_incidence", "art_coverage"):
        both = pd.DataFrame({"model": model[name], "seen": seen[name]}).dropna()
        both = both[both.seen > 0]
        ratio = both.model / both.seen
        lo, mid, hi = np.percentile(ratio, [5, 50, 95])
        totals = ("—", "—") if name == "art_coverage" else (
            f"{both.model.sum():,.0f}", f"{both.seen.sum():,.0f}")
        named = " | ".join(f"{ratio.get(c, np.nan):.2f}" for c in biggest)
        print(f"| {name} | {len(both)} | {totals[0]} | {totals[1]} | {mid:.2f} | "
              f"{lo:.2f}-{hi:.2f} | {named} |")


if __name__ == "__main__":
    main()
