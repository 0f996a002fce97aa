"""Every file people read, written into a run directory from its ``risk.nc``."""

from __future__ import annotations

from pathlib import Path

from .maps import write_map_outputs
from .report import write_report
from .tables import load_run


def write_risk_outputs(run_dir: str | Path) -> list[Path]:
    """Write ``risk.gpkg``, ``top_corridors.csv``, ``risk_map.png`` and ``report.html``.

    Parameters
    ----------
    run_dir : str or Path
        A run directory holding ``risk.nc`` (and, for the report's provenance,
        ``manifest.json`` and ``config.toml``).

    Returns
    -------
    list of Path
        The four files, in that order.

    Raises
    ------
    RunError
        ``run_dir`` is not a folder, or it has no ``risk.nc``.
    DataError
        ``risk.nc`` cannot be read.
    """
    run = load_run(run_dir)
    paths = write_map_outputs(run)
    paths.append(write_report(run))
    return paths
