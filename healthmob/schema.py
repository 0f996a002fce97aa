"""The output schema: CF attributes every healthmob dataset must carry, and one validator.

Every dataset healthmob writes passes :func:`require_conforming` before it is written
(docs/outputs.md). A dataset that does not conform is a bug in healthmob, never a user
error: :class:`~healthmob.errors.SchemaError` keeps its traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import SchemaError

if TYPE_CHECKING:
    import xarray as xr

CONVENTIONS = "CF-1.10"
GLOBAL_ATTRS = ("title", "source", "history", "Conventions")
CORRIDOR_DIMS = ("origin", "destination", "layer")
"""Dimensions of every per-corridor variable of ``risk.nc``."""

LAT_ATTRS = {"standard_name": "latitude", "units": "degrees_north",
             "long_name": "latitude of the place's population centre"}
LON_ATTRS = {"standard_name": "longitude", "units": "degrees_east",
             "long_name": "longitude of the place's population centre"}


def check_dataset(ds: xr.Dataset) -> list[str]:
    """Return the CF problems of ``ds`` (empty when it conforms).

    Checks: the global attributes of :data:`GLOBAL_ATTRS`; ``units`` and ``long_name`` on
    every data variable (a flag variable carries ``flag_values`` instead of units); CF
    ``standard_name`` on ``lat``/``lon`` coordinates.
    """
    problems = [f"global attribute {name!r} is missing" for name in GLOBAL_ATTRS
                if name not in ds.attrs]
    for name, var in ds.data_vars.items():
        for attr in ("units", "long_name"):
            if attr not in var.attrs and not (attr == "units" and "flag_values" in var.attrs):
                problems.append(f"variable {name!r} has no {attr!r}")
    for name, expected in (("lat", "latitude"), ("lon", "longitude")):
        if name in ds.coords and ds[name].attrs.get("standard_name") != expected:
            problems.append(f"coordinate {name!r} must have standard_name {expected!r}")
    return problems


def require_conforming(ds: xr.Dataset, what: str) -> xr.Dataset:
    """Return ``ds`` when it conforms; else raise :class:`SchemaError` naming ``what``."""
    problems = check_dataset(ds)
    if problems:
        raise SchemaError(f"{what}: " + "; ".join(problems))
    return ds
