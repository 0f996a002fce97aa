"""Observables of a model state: tallied rates per 100,000 per year and spec outputs.

One function, :func:`observe`, used by the calibration, the results and the risk stage, so a
name such as ``tb_incidence`` or ``hiv_prevalence`` means the same everywhere.
"""

from __future__ import annotations

import numpy as np

from ..units import PER_100K_YEAR, PER_100K_YEAR_UNITS
from .spec import SCALES, ModelSpec, select


def observe(spec: ModelSpec, name: str, state: np.ndarray, tallies: np.ndarray) -> np.ndarray:
    """Value of observable ``name`` for states ``(..., C)`` and tallied flows ``(..., n_tally)``.

    A tally gives its rate per 100,000 population per year; a spec output gives its share or
    ratio times its scale (percent, per 100,000 or fraction).
    """
    ids = spec.compartment_ids
    total = state.sum(axis=-1)
    if name in spec.tallies:
        rate = tallies[..., list(spec.tallies).index(name)]
        return rate / np.where(total > 0, total, 1.0) * PER_100K_YEAR
    out = spec.outputs[name]
    factor = SCALES[out.scale][1]
    if out.is_tally_ratio:
        names = list(spec.tallies)
        numerator = tallies[..., names.index(out.numerator_tally)]
        denominator = tallies[..., names.index(out.denominator_tally)]
    else:
        numerator = state[..., [ids.index(c) for c in select(out.numerator, ids)]].sum(axis=-1)
        denominator = state[..., [ids.index(c) for c in select(out.denominator, ids)]].sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan) * factor


def units_of(spec: ModelSpec, name: str) -> str:
    """CF units of observable ``name``."""
    if name in spec.tallies:
        return PER_100K_YEAR_UNITS
    return SCALES[spec.outputs[name].scale][0]


def attrs_of(spec: ModelSpec, name: str) -> dict:
    """CF attributes of observable ``name``: ``units`` and ``long_name`` (and a spec
    output's own attributes), as every results file labels it."""
    if name in spec.tallies:
        return {"units": PER_100K_YEAR_UNITS,
                "long_name": f"{spec.tallies[name]} per 100,000 population per year"}
    output = spec.outputs[name]
    return {"units": units_of(spec, name), "long_name": output.long_name, **dict(output.attrs)}
