"""The one NetCDF writer: every ``.nc`` file of a run is written through here, atomically,
with its free space checked (``space_checked`` also serves the streamed ensemble combine).

HDF5 does not survive a disk that fills while it writes (h5py 3.x segfaults, exit 139), so
:func:`write_dataset` encodes the file in memory and writes its bytes with plain I/O: a
full disk is then an ordinary error, one line. The ensemble combine streams a file larger
than memory and cannot do that; it is refused beforehand unless the disk has room for
its uncompressed size.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import RunError
from .atomic import atomic_path

if TYPE_CHECKING:
    import xarray as xr

SPACE_MARGIN_BYTES = 2**20
"""Free space asked beyond a streamed file's uncompressed size: HDF5's metadata (bytes)."""


def write_dataset(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` to NetCDF-4 (h5netcdf) atomically, float variables compressed (zlib
    level 4 with the shuffle filter: 17% smaller than zlib alone for the world results)."""
    encoding = {name: {"zlib": True, "complevel": 4, "shuffle": True}
                for name, var in ds.data_vars.items() if var.dtype.kind == "f"}
    path = Path(path)
    data = ds.to_netcdf(engine="h5netcdf", encoding=encoding)   # in memory: see above
    with space_checked(path, float(data.nbytes)) as tmp:
        tmp.write_bytes(data)
    return path


@contextlib.contextmanager
def space_checked(path: Path, need: float) -> Iterator[Path]:
    """:func:`~healthmob.store.atomic.atomic_path` for a file of about ``need`` bytes,
    refused before it starts when the disk has less free; a full disk while writing is one
    RunError saying so (the temporary file removed), not a traceback."""
    free = float(shutil.disk_usage(path.parent).free)
    if free < need:
        raise RunError(_no_space(path, free, need))
    try:
        with atomic_path(path) as tmp:
            yield tmp
    except OSError as exc:
        if exc.errno != errno.ENOSPC and "No space left" not in str(exc):
            raise
        raise RunError(_no_space(path, float(shutil.disk_usage(path.parent).free),
                                 need)) from None


def _no_space(path: Path, free: float, need: float) -> str:
    return (f"{path}: no space left on device while writing {path.name}; {free / 1e6:,.0f} MB "
            f"free, about {need / 1e6:,.0f} MB needed; free space and resume with healthmob "
            "run --resume (ensembles) or run again")
