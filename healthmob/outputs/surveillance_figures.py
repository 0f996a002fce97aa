"""Figures of the surveillance stage, drawn from its dataset (``surveillance.nc``): a funnel
plot, time plots of the alarmed series and a map of observed / expected."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from scipy import stats  # noqa: E402

from ..store.atomic import atomic_path  # noqa: E402
from .shapes import country_shapes  # noqa: E402
from .style import EDGE_COLOUR, MAP_CRS, NODATA_COLOUR  # noqa: E402

PANELS = 12


def _save(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def draw_funnel(ds: xr.Dataset, path: Path) -> Path:
    """Observed/expected against expected in each series' last observed year, with the
    Poisson 95% and 99.8% limits around 1 (Spiegelhalter 2005, Stat Med 24:1185)."""
    observed = ds["observed"].to_numpy()
    expected = ds["expected"].to_numpy()
    last = np.array([np.flatnonzero(np.isfinite(o))[-1] if np.isfinite(o).any() else -1
                     for o in observed])
    keep = last >= 0
    rows = np.flatnonzero(keep)
    obs, exp = observed[rows, last[keep]], expected[rows, last[keep]]
    fine = (exp > 0) & (obs > 0)  # a ratio of 0 has no place on the log axis
    fig, ax = plt.subplots(figsize=(8, 5.5))
    ax.scatter(exp[fine], obs[fine] / exp[fine], s=14, color="#3465a4", alpha=0.8)
    if fine.any():
        grid = np.geomspace(max(exp[fine].min(), 0.5), exp[fine].max() * 1.2, 200)
        for p, style in ((0.025, "--"), (0.001, ":")):
            for q in (p, 1 - p):
                ax.plot(grid, stats.poisson.ppf(q, grid) / grid, style, color="#555555",
                        lw=0.9)
        ratio = obs[fine] / exp[fine]
        labels = ds["label"].to_numpy()[rows][fine]
        for k in np.argsort(-np.abs(np.log(ratio)))[:8]:
            ax.annotate(labels[k], (exp[fine][k], ratio[k]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")
    zeros = int(((exp > 0) & (obs == 0)).sum())
    if zeros:
        ax.text(0.01, 0.01, f"{zeros} series with 0 observed not shown", fontsize=7,
                transform=ax.transAxes)
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("model's expected notifications (last observed year)")
    ax.set_ylabel("observed / expected")
    ax.set_title("Notified against the model: Poisson 95% (dashed) and 99.8% (dotted) limits",
                 fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def draw_series(ds: xr.Dataset, path: Path) -> Path:
    """Up to 12 series with the most alarms: observed, the model's expected count and the
    baseline with their 95% intervals, alarms marked."""
    alarms = ds["alarm"].sum("year").to_numpy() + ds["cusum_alarm"].sum("year").to_numpy()
    size = np.nan_to_num(ds["observed"].max("year").to_numpy())
    order = np.lexsort((-size, -alarms))[:PANELS]
    columns = 3
    rows = max(1, int(np.ceil(len(order) / columns)))
    fig, axes = plt.subplots(rows, columns, figsize=(12, 2.8 * rows), squeeze=False)
    years = ds["year"].to_numpy()
    for ax, i in zip(axes.flat, order):
        s = ds.isel(series=int(i))
        ax.fill_between(years, s["expected_lower"], s["expected_upper"], color="#fcaf3e",
                        alpha=0.35, lw=0)
        ax.plot(years, s["expected"], color="#f57900", lw=1.2, label="model")
        ax.fill_between(years, s["baseline_lower"], s["baseline_upper"], color="#729fcf",
                        alpha=0.35, lw=0)
        ax.plot(years, s["threshold"], color="#204a87", lw=0.8, ls="--", label="threshold")
        ax.plot(years, s["observed"], "o", color="black", ms=3, label="observed")
        flagged = s["alarm"].to_numpy() == 1
        ax.plot(years[flagged], s["observed"].to_numpy()[flagged], "o", color="#cc0000",
                ms=6, mfc="none", mew=1.5, label="alarm")
        ax.set_title(str(s["label"].item()), fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(order):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, loc="best")
    fig.suptitle("Observed notifications, the model (orange, 95% interval) and the baseline "
                 "(blue, 95% prediction interval)", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


RATIO_BREAKS = (0.5, 0.8, 1.25, 2.0)
RATIO_COLOURS = ("#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b")
RATIO_LABELS = ("below 0.5", "0.5-0.8", "0.8-1.25", "1.25-2", "2 and above")


def draw_ratio_map(ds: xr.Dataset, path: Path) -> Path:
    """A choropleth of observed / the model's expected notifications of the foreign-born
    (of everyone where a place has no foreign-born series), in each place's last observed
    year; fixed classes around 1 so that two runs compare."""
    ratio: dict[str, float] = {}
    for stratum in ("", "foreign"):  # the foreign-born series win where both exist
        for i in np.flatnonzero((ds["country_of_birth"].to_numpy() == stratum)
                                & (ds["years_since_entry"].to_numpy() == "")):
            observed, expected = ds["observed"].to_numpy()[i], ds["expected"].to_numpy()[i]
            seen = np.flatnonzero(np.isfinite(observed) & (expected > 0))
            if len(seen):
                t = seen[-1]
                ratio[str(ds["reporting_place"].values[i])] = observed[t] / expected[t]
    ids = sorted(set(map(str, ds["reporting_place"].values)))
    shapes = country_shapes(ids).to_crs(MAP_CRS)
    fills = np.array([RATIO_COLOURS[int(np.searchsorted(RATIO_BREAKS, ratio[p], "right"))]
                      if p in ratio else NODATA_COLOUR for p in ids], dtype=object)
    fig, ax = plt.subplots(figsize=(11, 6))
    polygonal = shapes.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if polygonal.any():
        shapes[polygonal].plot(ax=ax, color=list(fills[polygonal]), edgecolor=EDGE_COLOUR,
                               linewidth=0.3)
    points = ~polygonal & ~shapes.is_empty.to_numpy()
    if points.any():
        ax.scatter(shapes[points].x, shapes[points].y, s=30, c=list(fills[points]),
                   edgecolors=EDGE_COLOUR, linewidths=0.5, zorder=3)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_facecolor("#dbe9f4")
    handles = [Patch(facecolor=c, edgecolor=EDGE_COLOUR, label=label)
               for c, label in zip((*RATIO_COLOURS, NODATA_COLOUR), (*RATIO_LABELS, "no data"))]
    ax.legend(handles=handles, loc="lower left", fontsize=8, title="observed / model",
              title_fontsize=8)
    ax.set_title("TB notifications of the foreign-born (everyone where not reported): "
                 "observed / the model's expected, last observed year", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)
