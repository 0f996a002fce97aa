"""Origin x destination variables stored by CF compression by gathering (CF 1.10 section 8.2).

A run with many places has far fewer corridors than place pairs: the risk stage computes
and ``risk.nc`` keeps only the pairs that carry a flow, on a ``pair`` dimension whose
coordinate is ``origin_index * n_destinations + destination_index`` (attribute ``compress =
"origin destination"``), as ``mobility.nc`` does (:mod:`healthmob.mobility.files`). A
gathered variable has the pair first, then its other dimensions in their order; its
attributes name its dense dimensions and the value it has at every pair not stored (0 or
NaN). :func:`scatter_pairs` gives the dense form of a small run, :func:`gather_pairs` the
gathered form of a dense one.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

PAIR_DIMS = ("origin", "destination")
FILL_ATTR = "gathered_fill_value"
"""The value of a gathered variable at every pair that is not stored (0 or NaN)."""
DIMS_ATTR = "gathered_dimensions"
"""The dense variable's dimensions, in their order."""


def gathered(dims: tuple, values: np.ndarray, attrs: dict, fill: float = 0.0) -> xr.Variable:
    """A gathered variable whose dense dimensions are ``dims`` (``origin, destination``
    among them, adjacent), from ``values`` with one pair axis where those two are."""
    at = dims.index("origin")
    rest = dims[:at] + dims[at + 2:]
    return xr.Variable(("pair", *rest), np.moveaxis(values, at, 0),
                       {**attrs, FILL_ATTR: fill, DIMS_ATTR: " ".join(dims)})


def pair_coordinate(origin: np.ndarray, destination: np.ndarray, n_destinations: int
                    ) -> xr.Variable:
    """The ``pair`` coordinate of the pairs ``origin[p]`` to ``destination[p]``."""
    return xr.Variable("pair", origin.astype(np.int64) * n_destinations + destination, {
        "long_name": "gathered pair: origin_index * N + destination_index",
        "compress": "origin destination"})


def pair_places(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """The origin and destination indices of each pair of a gathered dataset."""
    key = ds["pair"].values.astype(np.int64)
    n_dest = ds.sizes["destination"]
    return key // n_dest, key % n_dest


def gather_pairs(ds: xr.Dataset, keep: np.ndarray) -> xr.Dataset:
    """``ds`` with every ``(origin, destination, ...)`` variable kept at the pairs of
    ``keep`` (a boolean ``(origin, destination)`` array) only; its value elsewhere is
    recorded as its fill when it is one value there (0 or NaN), else dropped (fill 0):
    the outputs read a small run's dense ``risk.nc`` so, at its corridors."""
    i, j = np.nonzero(keep)
    out = ds.drop_vars([name for name, var in ds.data_vars.items()
                        if set(PAIR_DIMS) <= set(var.dims)])
    for name, var in ds.data_vars.items():
        if not set(PAIR_DIMS) <= set(var.dims):
            continue
        dims = tuple(d for d in var.dims if d not in PAIR_DIMS)
        values = var.transpose(*PAIR_DIMS, *dims).values
        inside = values[i, j]
        fill = _uniform_outside(values, inside)
        out[name] = xr.Variable(("pair", *dims), inside, {
            **var.attrs, FILL_ATTR: 0.0 if fill is None else fill,
            DIMS_ATTR: " ".join(var.dims)})
    return out.assign_coords(pair=pair_coordinate(i, j, ds.sizes["destination"]))


def scatter_pairs(ds: xr.Dataset) -> xr.Dataset:
    """The dense form of a gathered dataset (itself when it has no ``pair`` dimension)."""
    if "pair" not in ds.dims:
        return ds
    n_orig, n_dest = ds.sizes["origin"], ds.sizes["destination"]
    i, j = pair_places(ds)
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
