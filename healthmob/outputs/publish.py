"""Every file people read, written into a run directory from its ``risk.nc``."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from ..store.rundir import RunDirectory
from .maps import write_map_outputs
from .report import write_report
from .tables import load_run

log = logging.getLogger(__name__)


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


def write_maps(folder: RunDirectory) -> None:
    """Maps, tables and the report of a complete run (their provenance says complete).

    They are rebuilt from the run's files, so a failure here leaves the run complete and
    recorded as ``maps_error`` in the manifest (``interrupted`` on Ctrl-C or SIGTERM);
    ``healthmob map``/``report`` or ``healthmob run --resume`` rebuild them.
    """
    t0 = time.perf_counter()
    folder.attach_log()
    try:
        written = write_risk_outputs(folder.path)
    except Exception as exc:  # the results are safe; say what failed and go on
        log.exception("maps and report failed; rebuild them with healthmob map/report")
        folder.manifest["maps_error"] = f"{type(exc).__name__}: {exc}"
    except KeyboardInterrupt:
        log.warning("maps and report interrupted; healthmob run --resume rebuilds them")
        folder.manifest["maps_error"] = "interrupted"
        raise
    else:
        folder.manifest.pop("maps_error", None)
        for path in written:
            folder.add_output(Path(path).name)
        log.info("maps and report: %s (%.2f s)", ", ".join(p.name for p in written),
                 time.perf_counter() - t0)
    finally:
        folder.detach_log()
        folder.write_manifest()
