"""What each land border lets through in the reference year: open, counted, restricted, closed.

Each directed land pair of ``geo/land.csv`` gets one status (first rule that applies):

``closed``
    A closure in force in the reference year (``closed_from <= year <= closed_to``) or a pair
    of ``[mobility.land] closed_borders``: no flow.
``open`` with a user factor
    A pair of ``[mobility.land.permeability]``: the gravity volume times that factor (0
    closes the border).
``counted``
    A published crossing count (``counted_per_year``): that count, not a model.
``restricted``
    No crossing point on a border whose controls are not abolished (typology other than 2),
    no admission for the origin's citizens, or a fortified border (typology 5) with a visa
    requirement and no extended crossing infrastructure on both sides: ``residual_per_day``
    persons a day, never a gravity volume. The infrastructure condition keeps the fortified
    but heavily crossed US-Mexico and Spain-Morocco borders open.
``open``
    Everything else: a gravity weight times the visa factor of the origin's citizens
    (:func:`visa_factor`: ``[mobility] visa_required``, ``visa_on_arrival``; 1 when visa
    free or unknown), fitted to the destination's counted land arrivals with the air layer.

References
----------
Guelzau F, Mau S (2021). Historical Social Research 46(3):23-48 (border typology).
Neumayer E (2010). Visa restrictions and bilateral travel. Prof Geogr 62:171-181 (visa
requirements lower travel by 52-63 %).
Cantillo LA (2023). Rotur 17(2):39-56 (visa on arrival: about half the penalty of a visa).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..units import DAYS_PER_YEAR
from .config import LayerConfig


def visa_factor(visa, required: float, on_arrival: float) -> np.ndarray:
    """Factor on a pair's travel weight from what its travellers need: 1 visa free (or
    unknown), ``on_arrival``, ``required``, 0 for no admission."""
    visa = np.asarray(visa, dtype=str)
    return np.select([visa == "required", visa == "on_arrival", visa == "no_admission"],
                     [required, on_arrival, 0.0], 1.0)


def border_status(land: pd.DataFrame, cfg: LayerConfig, year: int,
                  factors: tuple[float, float]) -> pd.DataFrame:
    """Status, permeability and fixed volume of every directed land pair.

    Parameters
    ----------
    land : DataFrame
        ``geo/land.csv``.
    cfg : LayerConfig
        ``[mobility.land]``: ``closed_borders``, ``permeability``, ``residual_per_day``.
    year : int
        The reference year.
    factors : (float, float)
        ``[mobility] visa_required`` and ``visa_on_arrival``.

    Returns
    -------
    DataFrame
        ``status`` (``open``, ``counted``, ``restricted`` or ``closed``), ``permeability``
        (factor on the gravity weight of an open pair, else 0), ``fixed_per_day``
        (persons/day of counted and restricted pairs, else 0) and ``reason`` (why, for
        outputs), aligned with ``land``.
    """
    pairs = [frozenset((o, d)) for o, d in zip(land["origin"], land["destination"])]
    user_closed = {frozenset(p.split("-")) for p in cfg.closed_borders or ()}
    user_factor = {frozenset(p.split("-")): float(v) for p, v in (cfg.permeability or {}).items()}
    start = land["closed_from"].astype("Float64").fillna(np.inf).to_numpy(dtype=float)
    end = land["closed_to"].astype("Float64").fillna(np.inf).to_numpy(dtype=float)
    in_force = (start <= year) & (year <= end)
    visa = land["visa"].fillna("").to_numpy(dtype=str)
    factor = visa_factor(visa, *factors)
    typology = land["typology"].astype("Float64").fillna(0).to_numpy(dtype=float)
    crossing = land["crossing_point"].astype("Float64").fillna(1).to_numpy(dtype=float)
    infrastructure = land["crossing_infrastructure"].astype("Float64").fillna(2).to_numpy(
        dtype=float)
    counted = land["counted_per_year"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    no_crossing = (crossing == 0) & (typology != 2)
    fortified = (typology == 5) & (visa == "required") & (infrastructure < 2)
    rows = []
    for k, pair in enumerate(pairs):
        if pair in user_closed:
            rows.append(("closed", 0.0, 0.0, "closed_borders in the config"))
        elif in_force[k]:
            rows.append(("closed", 0.0, 0.0, land["closure_source"].iat[k]))
        elif pair in user_factor:
            p = user_factor[pair]
            rows.append(("open", p, 0.0, f"permeability {p:g} in the config") if p > 0
                        else ("closed", 0.0, 0.0, "permeability 0 in the config"))
        elif np.isfinite(counted[k]):
            rows.append(("counted", 0.0, counted[k] / DAYS_PER_YEAR,
                         land["count_source"].iat[k]))
        elif no_crossing[k] or visa[k] == "no_admission" or fortified[k]:
            why = ("no crossing point" if no_crossing[k] else "no admission"
                   if visa[k] == "no_admission" else
                   "fortified border, visa required, no extended crossing")
            rows.append(("restricted", 0.0, float(cfg.residual_per_day), why))
        else:
            rows.append(("open", float(factor[k]), 0.0, f"visa {visa[k] or 'unknown'}"))
    return pd.DataFrame(rows, columns=["status", "permeability", "fixed_per_day", "reason"],
                        index=land.index)
