"""The birthplace variables of ``results.nc``: native- and foreign-born, by period.

Dimensions ``period`` (the account's periods: whole years from the start, the last one
possibly shorter; coordinate ``period`` = its start, ``period_end`` = its end),
``entry_band`` (years since entry) and ``origin_group`` (coordinate ``origin_group_name
(place, origin_group)``: a country of birth, ``region:<name>``, or empty). Counts are
persons, or tallied events in the period (docs/outputs.md lists every variable).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .account import Account
from .config import BirthplaceConfig


def birthplace_variables(account: Account, cfg: BirthplaceConfig, tallies: dict,
                         start: pd.Timestamp) -> tuple[dict, dict]:
    """Data variables and coordinates of the birthplace outputs.

    Parameters
    ----------
    account : Account
    cfg : BirthplaceConfig
    tallies : dict
        The model's tallies, name -> description (``ModelSpec.tallies``).
    start : Timestamp
        The run's start.

    Returns
    -------
    data, coords : dict
        ``name -> (dims, values, attrs)`` for ``xarray.Dataset``.
    """
    slot_band = np.array(cfg.band_of_slot())
    bands = len(cfg.bands)

    def by_band(values: np.ndarray) -> np.ndarray:   # (..., S, k) -> (..., bands, k)
        out = np.zeros((*values.shape[:-2], bands, values.shape[-1]))
        for s, b in enumerate(slot_band):
            out[..., b, :] += values[..., s, :]
        return out

    days = pd.to_timedelta(account.edges, unit="D")
    coords = {
        "period": ("period", (start + days[:-1]).to_numpy(),
                   {"long_name": "start of the period of the birthplace account"}),
        "period_end": ("period", (start + days[1:]).to_numpy(),
                       {"long_name": "end of the period (a year after its start, the last "
                                     "period possibly shorter)"}),
        "entry_band": ("entry_band", np.array(cfg.band_labels(), dtype=str),
                       {"long_name": "completed years since entry into the country"}),
        "origin_group": ("origin_group", np.arange(account.groups.n_groups),
                         {"long_name": "group of countries of birth"}),
        "origin_group_name": (("place", "origin_group"), account.groups.labels, {
            "long_name": "country of birth (ISO3) or region:<region of birth> of the group"}),
    }
    population = by_band(account.population[..., None])[..., 0]
    dims_band, dims_origin = ("period", "place", "entry_band"), ("period", "place",
                                                                 "origin_group")
    data = {
        "native_population": (("period", "place"), account.native_population, {
            "units": "1", "long_name": "native-born people at the start of the period"}),
        "foreign_born_population": (dims_band, population.sum(axis=2), {
            "units": "1", "long_name": "foreign-born people at the start of the period, by "
                                       "years since entry"}),
        "foreign_born_population_by_origin": (dims_origin, account.population.sum(axis=3), {
            "units": "1", "long_name": "foreign-born people at the start of the period, by "
                                       "country or region of birth"}),
        "foreign_born_arrivals": (dims_origin, account.arrivals, {
            "units": "1", "long_name": "migrants arriving in the period, by country or "
                                       "region of birth", "cell_methods": "period: sum"}),
    }
    counted = by_band(account.tallies.sum(axis=2))     # (Y, P, bands, k)
    for k, (name, text) in enumerate(tallies.items()):
        foreign = counted[..., k]
        native = account.native_tallies[..., k]
        total = native + foreign.sum(axis=2)
        sums = {"cell_methods": "period: sum"}
        data[f"{name}_native"] = (("period", "place"), native, {
            "units": "1", "long_name": f"{text} among the native-born in the period", **sums})
        data[f"{name}_foreign_born"] = (dims_band, foreign, {
            "units": "1", "long_name": f"{text} among the foreign-born in the period, by "
                                       "years since entry", **sums})
        data[f"{name}_foreign_born_by_origin"] = (dims_origin,
                                                  account.tallies[..., k].sum(axis=3), {
            "units": "1", "long_name": f"{text} among the foreign-born in the period, by "
                                       "country or region of birth", **sums})
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total > 0, foreign.sum(axis=2) / total, np.nan)
        data[f"{name}_foreign_born_share"] = (("period", "place"), share, {
            "units": "1", "long_name": f"share of the foreign-born in {text}"})
    return data, coords
