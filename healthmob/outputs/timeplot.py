"""The report's time plot: TB notified among the foreign-born of the focus, year by year.

The model's foreign-born TB notifications (``tb_notifications_foreign_born`` of the run's
``results.nc``, its birthplace account) stacked by years since entry, over the run's years
(the history, then the projection), beside WHO's observed ``notif_foreign`` for the same
places (``geo/notifications_who.csv``) where every focus place reports it. Matplotlib's
object API; the PNG is returned as bytes for the report to inline.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import xarray as xr

from ..store.resources import data_dir
from .tables import RunFiles

VARIABLE = "tb_notifications_foreign_born"
BAND_COLOURS = ("#08519c", "#3182bd", "#9ecae1", "#deebf7")


def imported_cases_png(run: RunFiles) -> bytes | None:
    """The plot as PNG bytes, or None when the run has no birthplace account."""
    path = run.directory / "results.nc" if run.directory else None
    if path is None or not path.is_file():
        return None
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        if VARIABLE not in ds or "period" not in ds[VARIABLE].dims:
            return None
        places = list(run.focus) or [str(p) for p in ds["place"].values]
        model = ds[VARIABLE].sel(place=places).sum("place").load()
    from matplotlib.figure import Figure  # only for a run with a birthplace account

    years = pd.DatetimeIndex(model["period"].values).year.to_numpy()
    fig = Figure(figsize=(9, 3.6), dpi=100)
    ax = fig.add_axes([0.08, 0.14, 0.62, 0.76])
    bands = [str(b) for b in model["entry_band"].values]
    values = model.transpose("entry_band", "period").values
    ax.stackplot(years, values, labels=[f"model, {b} years since entry" for b in bands],
                 colors=BAND_COLOURS[:len(bands)], alpha=0.9)
    observed = _observed(places, int(years.min()), int(years.max()))
    if len(observed):
        ax.plot(observed.index, observed.values, "o-", color="#d95f02", ms=4,
                label="observed (WHO notif_foreign)")
    ax.set_ylabel("TB notifications a year")
    ax.set_xlim(years.min(), years.max())
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.set_title("TB notified among the foreign-born, "
                 f"{run.focus_names or 'every place'}", fontsize=10, loc="left")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", facecolor="white")
    return buffer.getvalue()


def _observed(places: list[str], first: int, last: int) -> pd.Series:
    """WHO's foreign-born notifications summed over ``places``, years where all report."""
    table = pd.read_csv(data_dir("geo") / "notifications_who.csv", keep_default_na=False,
                        dtype={"reporting_place": str, "period": str})
    rows = table[(table["country_of_birth"] == "foreign")
                 & table["reporting_place"].isin(places)]
    rows = rows.assign(year=pd.to_numeric(rows["period"], errors="coerce"))
    rows = rows[(rows["year"] >= first) & (rows["year"] <= last)]
    counts = rows.groupby("year")["count"].agg(["sum", "size"])
    complete = counts[counts["size"] == len(set(places))]["sum"]
    return complete.astype(float).sort_index() if len(complete) else pd.Series(dtype=float,
                                                                              index=np.array([]))
