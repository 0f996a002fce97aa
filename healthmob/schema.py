"""The output schema: CF attributes every healthmob dataset must carry, and one validator.

Every stage's output passes :func:`check_dataset` in the tests (DESIGN.md section 6).
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from .store.atomic import atomic_path

CONVENTIONS = "CF-1.10"
GLOBAL_ATTRS = ("title", "source", "history", "Conventions")
UNITS_CF = {"1/day": "day-1", "1/week": "week-1", "1/month": "month-1", "1/year": "year-1",
            "day": "day", "week": "week", "month": "month", "year": "year", "1": "1",
            "dimensionless": "1", "percent": "percent"}
PER_100K_YEAR_UNITS = "1e-5 year-1"
"""CF (UDUNITS) spelling of 'per 100,000 population per year'."""

LAT_ATTRS = {"standard_name": "latitude", "units": "degrees_north",
             "long_name": "latitude of the place's population centre"}
LON_ATTRS = {"standard_name": "longitude", "units": "degrees_east",
             "long_name": "longitude of the place's population centre"}


def check_dataset(ds: xr.Dataset) -> list[str]:
    """Return the CF problems of ``ds`` (empty when it conforms).

    Checks: the global attributes of :data:`GLOBAL_ATTRS`; ``units`` and ``long_name`` on
    every data variable; CF ``standard_name`` on ``lat``/``lon`` coordinates.
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


def write_dataset(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` to NetCDF-4 (h5netcdf) atomically, float variables compressed (zlib
    level 4 with the shuffle filter: 17% smaller than zlib alone for the world results)."""
    encoding = {name: {"zlib": True, "complevel": 4, "shuffle": True}
                for name, var in ds.data_vars.items() if var.dtype.kind == "f"}
    path = Path(path)
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    return path
