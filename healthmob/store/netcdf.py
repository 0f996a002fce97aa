"""The one NetCDF writer: every ``.nc`` file of a run is written here, atomically."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .atomic import atomic_path

if TYPE_CHECKING:
    import xarray as xr


def write_dataset(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` to NetCDF-4 (h5netcdf) atomically, float variables compressed (zlib
    level 4 with the shuffle filter: 17% smaller than zlib alone for the world results)."""
    encoding = {name: {"zlib": True, "complevel": 4, "shuffle": True}
                for name, var in ds.data_vars.items() if var.dtype.kind == "f"}
    path = Path(path)
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    return path
