"""Origin x destination variables stored by CF compression by gathering (CF 1.10 section 8.2).

A run with many places has far fewer corridors than place pairs: ``risk.nc`` keeps only the
pairs that carry a flow, on a ``pair`` dimension whose coordinate is ``origin_index *
n_destinations + destination_index`` (attribute ``compress = "origin destination"``), as
``mobility.nc`` does (:mod:`healthmob.mobility.files`). :func:`gather_pairs` writes that
form, :func:`scatter_pairs` restores the dense one, equal value for value.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

PAIR_DIMS = ("origin", "destination")
FILL_ATTR = "gathered_fill_value"
"""The value of a gathered variable at every pair that is not stored (0 or NaN)."""
DIMS_ATTR = "gathered_dimensions"
"""The dense variable's dimensions, in their order."""


def gather_pairs(ds: xr.Dataset, keep: np.ndarray) -> xr.Dataset:
    """``ds`` with every ``(origin, destination, ...)`` variable kept at the pairs of
    ``keep`` (a boolean ``(origin, destination)`` array) only.

    A variable is gathered only when it holds one value, 0 or NaN, at all the other pairs
    (so :func:`scatter_pairs` gives it back exactly); any other stays dense.
    """
    n_dest = ds.sizes["destination"]
    i, j = np.nonzero(keep)
    key = i.astype(np.int64) * n_dest + j
    out = ds.drop_vars([name for name, var in ds.data_vars.items()
                        if set(PAIR_DIMS) <= set(var.dims)])
    gathered = 0
    for name, var in ds.data_vars.items():
        if not set(PAIR_DIMS) <= set(var.dims):
            continue
        dense = var.transpose(*PAIR_DIMS, ...)
        values = dense.values
        inside = values[i, j]
        fill = _uniform_outside(values, inside)
        if fill is None:
            out[name] = var
            continue
        out[name] = xr.Variable(("pair", *dense.dims[2:]), inside, {
            **var.attrs, FILL_ATTR: fill, DIMS_ATTR: " ".join(var.dims)})
        gathered += 1
    if gathered:
        out = out.assign_coords(pair=xr.Variable("pair", key, {
            "long_name": "gathered pair: origin_index * N + destination_index",
            "compress": "origin destination"}))
    return out


def scatter_pairs(ds: xr.Dataset) -> xr.Dataset:
    """The dense form of a dataset written by :func:`gather_pairs` (itself when it has no
    ``pair`` dimension)."""
    if "pair" not in ds.dims:
        return ds
    n_orig, n_dest = ds.sizes["origin"], ds.sizes["destination"]
    key = ds["pair"].values.astype(np.int64)
    i, j = key // n_dest, key % n_dest
    out = ds.drop_vars([name for name, var in ds.data_vars.items() if "pair" in var.dims]
                       + ["pair"])
    for name, var in ds.data_vars.items():
        if "pair" not in var.dims:
            continue
        attrs = dict(var.attrs)
        fill, dims = attrs.pop(FILL_ATTR), attrs.pop(DIMS_ATTR).split()
        values = np.full((n_orig, n_dest, *var.shape[1:]), fill, dtype=var.dtype)
        values[i, j] = var.values
        out[name] = xr.Variable((*PAIR_DIMS, *var.dims[1:]), values, attrs).transpose(*dims)
    return out


def _uniform_outside(values: np.ndarray, inside: np.ndarray) -> float | None:
    """0.0 or NaN when every value of ``values`` outside the kept pairs (``inside``: the
    values at them) is that; else None. Counted, not copied: the dense arrays are large."""
    if values.dtype.kind not in "fiu":
        return None
    if np.count_nonzero(values) == np.count_nonzero(inside):   # NaN counts as non-zero
        return 0.0
    outside = values.size - inside.size
    if values.dtype.kind == "f" and int(np.isnan(values).sum()) - int(
            np.isnan(inside).sum()) == outside:
        return float("nan")
    return None
