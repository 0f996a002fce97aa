"""The model's TB notifications among the foreign-born beside WHO ``notif_foreign`` (2019).

``notif_foreign`` is the yardstick of the birthplace account, never a target: nothing in
healthmob is fitted to it. Usage::

    python benchmarks/plausibility_foreign_born.py RUN_DIR \
        ../shared/data/who_tb_2025/TB_notifications_2025-05-21.csv [--year 2019]

Prints, per country that reports it (and has foreign-born in the model), the observed and
modelled foreign-born notifications and shares, the ratio, and the median ratio with its
90 % range (5th to 95th percentile) over countries with at least 20 observed cases. The
model's first year (its start) is compared with the observed year: the world run has no
history before its start (issue 13).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

MIN_CASES = 20
"""Countries with fewer observed foreign-born cases are listed but not in the summary."""


def comparison(run_dir: Path, notifications: Path, year: int) -> pd.DataFrame:
    results = xr.open_dataset(run_dir / "results.nc")
    first = results.isel(period=0)
    model = pd.DataFrame({
        "model_foreign": first["tb_notifications_foreign_born"].sum("entry_band").to_series(),
        "model_native": first["tb_notifications_native"].to_series()})
    model["model_share"] = model.model_foreign / (model.model_foreign + model.model_native)
    who = pd.read_csv(notifications, usecols=["iso3", "year", "c_newinc", "notif_foreign"],
                      keep_default_na=False, na_values=[""])
    who = who[(who.year == year) & who.notif_foreign.notna() & (who.c_newinc > 0)]
    who = who.set_index("iso3")[["notif_foreign", "c_newinc"]]
    who["observed_share"] = who.notif_foreign / who.c_newinc
    table = who.join(model, how="inner")
    table = table[table.model_foreign + table.model_native > 0]
    table["ratio"] = table.model_foreign / table.notif_foreign.where(table.notif_foreign > 0)
    return table.sort_values("notif_foreign", ascending=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("notifications", type=Path)
    parser.add_argument("--year", type=int, default=2019)
    args = parser.parse_args()
    table = comparison(args.run_dir, args.notifications, args.year)
    print(f"| country | observed {args.year} | share | model | share | ratio |")
    print("|---|---|---|---|---|---|")
    for iso3, r in table.iterrows():
        ratio = "" if np.isnan(r.ratio) else f"{r.ratio:.2f}"
        print(f"| {iso3} | {r.notif_foreign:,.0f} | {r.observed_share:.0%} | "
              f"{r.model_foreign:,.0f} | {r.model_share:.0%} | {ratio} |")
    kept = table[table.notif_foreign >= MIN_CASES]
    lo, mid, hi = np.percentile(kept.ratio, [5, 50, 95])
    share = (kept.model_share / kept.observed_share).median()
    print(f"\n{len(table)} countries; {len(kept)} with >= {MIN_CASES} observed cases: median "
          f"ratio {mid:.2f} (90 % range {lo:.2f}-{hi:.2f}); median share ratio {share:.2f}; "
          f"within 2x: {((kept.ratio >= 0.5) & (kept.ratio <= 2)).mean():.0%}")


if __name__ == "__main__":
    main()
