"""Maps and tables people read: ``risk.gpkg``, ``top_corridors.csv``, ``risk_map.png``.

Everything is rebuilt from the files of a run directory (``risk.nc`` above all), so
``healthmob map RUN_DIR`` can run at any time after the run.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from ..store.atomic import atomic_path
from .tables import RunFiles, corridor_table, load_run, rank_corridors, top_corridors_csv_frame

log = logging.getLogger(__name__)

GPKG_FILE, CSV_FILE, PNG_FILE = "risk.gpkg", "top_corridors.csv", "risk_map.png"
N_TOP_CSV = 50
N_TOP_MAP = 15


def write_map_outputs(run: RunFiles | str | Path, destination: tuple | None = None
                      ) -> list[Path]:
    """Write ``risk.gpkg``, ``top_corridors.csv`` and ``risk_map.png`` (in that order),
    about the run's focus (``destination`` overrides it; empty: the world); only
    ``top_corridors.csv`` when no place has coordinates (nothing to map).

    Raises
    ------
    RunError
        ``run`` is not a folder, or it has no ``risk.nc``.
    DataError
        ``risk.nc`` cannot be read.
    """
    run = run if isinstance(run, RunFiles) else load_run(run, destination)
    for note in run.notes:
        log.warning("%s: %s", run.directory, note)
    csv = run.directory / run.file_name(CSV_FILE, destination)
    if not run.mapped:          # no coordinates: the ranked table only (run.notes says so)
        with atomic_path(csv) as tmp:
            top = rank_corridors(corridor_table(run), run.headline, N_TOP_CSV)
            top_corridors_csv_frame(top).round(4).to_csv(tmp, index=False)
        return [csv]
    from .figure import draw_risk_map  # matplotlib: only for a run with a map to draw
    from .shapes import corridors_geoframe, places_geoframe

    places = places_geoframe(run)
    corridors = corridors_geoframe(run)
    top = rank_corridors(pd.DataFrame(corridors.drop(columns="geometry")), run.headline,
                         N_TOP_CSV)
    gpkg = run.directory / run.file_name(GPKG_FILE, destination)
    with atomic_path(gpkg) as tmp:
        places.to_file(tmp, driver="GPKG", layer="places", engine="pyogrio")
        corridors.to_file(tmp, driver="GPKG", layer="corridors", engine="pyogrio", append=True)
    with atomic_path(csv) as tmp:
        top_corridors_csv_frame(top).round(4).to_csv(tmp, index=False)
    png = run.directory / run.file_name(PNG_FILE, destination)
    draw_risk_map(run, places, top.head(N_TOP_MAP), png)
    return [gpkg, csv, png]
