"""The one NetCDF writer: every ``.nc`` file of a run is written here, atomically."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import RunError
from .atomic import atomic_path

if TYPE_CHECKING:
    import xarray as xr


def write_dataset(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` to NetCDF-4 (h5netcdf) atomically, float variables compressed (zlib
    level 4 with the shuffle filter: 17% smaller than zlib alone for the world results)."""
    encoding = {name: {"zlib": True, "complevel": 4, "shuffle": True}
                for name, var in ds.data_vars.items() if var.dtype.kind == "f"}
    path = Path(path)
    need = float(ds.nbytes)          # uncompressed: compression only makes it smaller
    free = float(shutil.disk_usage(path.parent).free)
    if free < need:
        raise RunError(_no_space(path, free, need))
    try:
        with atomic_path(path) as tmp:
            ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    except OSError as exc:
        if exc.errno != errno.ENOSPC and "No space left" not in str(exc):
            raise
        raise RunError(_no_space(path, float(shutil.disk_usage(path.parent).free),
                                 need)) from None
    return path


def _no_space(path: Path, free: float, need: float) -> str:
    return (f"{path}: no space left on device while writing {path.name}; {free / 1e6:,.0f} MB "
            f"free, about {need / 1e6:,.0f} MB needed (uncompressed); free space and resume "
            "with healthmob run --resume (ensembles) or run again")
