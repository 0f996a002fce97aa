"""What a ministry reads about its own country: origins ranked and programmes compared.

Both tables are about the run's focus destinations (every destination without a focus),
read from ``risk.nc``; where ``risk.nc`` holds an uncertainty ensemble (``interval_*``
variables, :mod:`healthmob.risk.uncertainty`) each number gets ``<column>_lo`` and
``<column>_hi``: the 2.5% and 97.5% quantiles over the members.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from .tables import RunFiles, is_future, place_names, summed_by

STATISTICS = ("screened", "found", "yield_per_100k", "number_needed_to_screen",
              "false_positives", "treated", "cost", "cost_per_case_found")
"""Per policy (and ``prevented_<h>y``, ``cost_per_case_prevented_<h>y`` per horizon)."""


def programme_row(screened: float, found: float, false_positives: float, treated: float,
                  cost: float, prevented: dict) -> dict:
    """One policy's :data:`STATISTICS` from its totals; ``prevented``: horizon in years (as
    text) -> cases prevented within it (NaN when the policy prevents none of them)."""
    row = {"screened": screened, "found": found, "false_positives": false_positives,
           "treated": treated, "cost": cost, "yield_per_100k": _per(found * 1e5, screened),
           "number_needed_to_screen": _per(screened, found),
           "cost_per_case_found": _per(cost, found)}
    for years, value in prevented.items():
        row[f"prevented_{years}y"] = value
        row[f"cost_per_case_prevented_{years}y"] = _per(cost, value)
    return row


def _per(a: float, b: float) -> float:
    return a / b if np.isfinite(b) and b > 0 and np.isfinite(a) else np.nan


def programme_statistics(ds: xr.Dataset, focus: tuple) -> pd.DataFrame:
    """One row per policy (:func:`programme_row`), summed over the origins and the
    ``focus`` destinations of ``ds`` (every destination when ``focus`` is empty)."""
    finds = ds["policy_finds"].values.astype(str)
    rows = []
    for k, policy in enumerate(ds["policy"].values.astype(str)):
        sel = ds.isel(policy=k)

        def total(var):
            return float(summed_by(ds, var, "origin", focus).sum("origin", skipna=False))

        prevented = ({f"{years:g}": total(sel["prevented"].isel(horizon=h))
                      for h, years in enumerate(ds["horizon"].values)}
                     if "prevented" in ds else {})
        found = total(sel["found"].sel(measure=finds[k])) if finds[k] else np.nan
        rows.append({"policy": policy, **programme_row(
            total(sel["screened"]), found, total(sel["false_positives"]),
            total(sel["treated"]), total(sel["programme_cost"]), prevented)})
    return pd.DataFrame(rows)


def policy_table(run: RunFiles) -> pd.DataFrame:
    """The policies side by side (:func:`programme_statistics`), with their description,
    disease and measure, and 95% intervals where the run has an uncertainty ensemble."""
    ds = run.risk
    if "policy" not in ds.dims or "screened" not in ds:
        return pd.DataFrame()
    table = programme_statistics(ds, run.focus)
    for coord, column in (("policy_description", "description"),
                          ("policy_disease", "disease"), ("policy_finds", "finds")):
        if coord in ds.coords:
            table[column] = ds[coord].values.astype(str)
    if "interval_programme" in ds:
        table = table.assign(**_bounds(ds["interval_programme"], "statistic_programme"))
    return table[table["policy"] != "none"].reset_index(drop=True)


def _imputed(run: RunFiles) -> np.ndarray:
    """Per origin: whether a corridor of it into the focus rests on an imputed volume."""
    ds = run.risk
    if "volume_source" not in ds:
        return np.zeros(ds.sizes["origin"], dtype=bool)
    meanings = str(ds["volume_source"].attrs.get("flag_meanings", "")).split()
    if "imputed" not in meanings:
        return np.zeros(ds.sizes["origin"], dtype=bool)
    imputed = (ds["volume_source"] == meanings.index("imputed")) & (ds["flow"] > 0)
    return (summed_by(ds, imputed.astype(int), "origin", run.focus).sum("layer") > 0).values


def _bounds(var: xr.DataArray, dim: str) -> dict:
    """``<statistic>_lo``, ``_median`` and ``_hi`` (2.5%, 50% and 97.5% quantiles) of an
    ``interval_*`` variable, each an array over its remaining dimension (or a scalar)."""
    out = {}
    for statistic in var[dim].values.astype(str):
        for q, suffix in ((0.025, "lo"), (0.5, "median"), (0.975, "hi")):
            out[f"{statistic}_{suffix}"] = var.sel({dim: statistic, "quantile": q}).values
    return out


def origin_table(run: RunFiles, n: int | None = None) -> pd.DataFrame:
    """Origins ranked by the headline measure among new residents into the focus: one row
    per origin with ``<measure>_new_residents``, ``<measure>_visitors`` and
    ``<measure>_<category>`` for each traveller category of the layers (``none``: a layer
    without one, e.g. returns), persons per year; ``future_<tally>_<h>y``; ``travellers``;
    ``imputed_volume``."""
    ds = run.risk
    if "arrivals" not in ds:
        return pd.DataFrame()
    relocation = ds["layer_coupling"].values.astype(str) == "relocation"
    arrivals = summed_by(ds, ds["arrivals"], "origin", run.focus)   # (origin, measure, layer)
    names = place_names(ds)
    ids = ds["origin"].values.astype(str)
    columns = {"origin": ids, "origin_name": [names.get(p, p) for p in ids]}
    categories = ds["layer_category"].values.astype(str) if "layer_category" in ds.coords \
        else np.full(ds.sizes["layer"], "none")
    for measure in ds["measure"].values.astype(str):
        values = arrivals.sel(measure=measure).transpose("origin", "layer").values
        columns[f"{measure}_new_residents"] = values[:, relocation].sum(axis=1)
        columns[f"{measure}_visitors"] = values[:, ~relocation].sum(axis=1)
        for category in sorted(set(categories)):
            columns[f"{measure}_{category}"] = values[:, categories == category].sum(axis=1)
    for name, var in ds.data_vars.items():
        if is_future(var):
            into = summed_by(ds, var, "origin", run.focus)
            for h, years in enumerate(ds["horizon"].values):
                columns[f"{name}_{years:g}y"] = into.isel(horizon=h).values
    columns["travellers"] = summed_by(ds, ds["flow"], "origin", run.focus).sum("layer").values
    columns["imputed_volume"] = _imputed(run)
    if "interval_origins" in ds:
        columns.update(_bounds(ds["interval_origins"], "statistic_origin"))
    table = pd.DataFrame(columns)
    if run.focus:
        table = table[~table["origin"].isin(run.focus)]
    key = f"{run.headline}_new_residents"
    table = table[table["travellers"] > 0].sort_values(
        [key, "travellers", "origin"], ascending=[False, False, True], kind="mergesort")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True).head(n) if n else table.reset_index(drop=True)


def focus_totals(run: RunFiles, origins: pd.DataFrame) -> dict:
    """Totals over the origins of :func:`origin_table` (``travellers``, ``new_residents``,
    ``visitors`` and every measure column), with ``<column>_lo``/``_hi`` from the
    uncertainty ensemble's ``interval_total`` where the run has one."""
    totals = {c: float(origins[c].sum()) for c in origins.columns
              if c not in ("rank", "origin", "origin_name")
              and not c.endswith(("_lo", "_median", "_hi"))}
    ds = run.risk
    relocation = ds["layer_coupling"].values.astype(str) == "relocation"
    flows = summed_by(ds, ds["flow"], "origin", run.focus).transpose("origin", "layer").values
    keep = ~np.isin(ds["origin"].values.astype(str), run.focus)
    totals["new_residents"] = float(flows[keep][:, relocation].sum())
    totals["visitors"] = float(flows[keep][:, ~relocation].sum())
    if "interval_total" in ds:
        totals.update({k: float(v) for k, v in _bounds(ds["interval_total"],
                                                       "statistic_total").items()})
    return totals
