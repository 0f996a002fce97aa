"""Write files atomically: to a temporary name beside the target, then rename.

A reader (or a resumed run) never sees a half-written file: either the old content, no
file, or the complete new one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; rename it to ``target`` when the block succeeds.

    The temporary file lives in the target's folder (so the rename is atomic on POSIX)
    and keeps the target's suffix (so writers that dispatch on suffix, such as GDAL, work).
    On error the temporary file is removed and the target is left untouched.

    Examples
    --------
    >>> with atomic_path("results.nc") as tmp:          # doctest: +SKIP
    ...     dataset.to_netcdf(tmp)
    """
    target = Path(target)
    tmp = target.with_name(f".{target.stem}.partial-{os.getpid()}{target.suffix}")
    try:
        yield tmp
        _fsync(tmp)                 # the bytes are on disk before the name points at them
        os.replace(tmp, target)
        _fsync(target.parent)       # and so is the rename
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(target: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _fsync(path: Path) -> None:
    """Flush a file or a folder to disk (a no-op where the system cannot)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
