"""Risk tables: a run directory's ``risk.nc`` as per-place and per-corridor tables.

The labelled layer under the maps and the report (:mod:`.maps`, :mod:`.report`): xarray and
pandas only, no geometry. Everything is read from the
files of a run directory, so the outputs can be rebuilt at any time. A variable that
``risk.nc`` lacks is left out with a note (``RunFiles.notes``), never an error.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import DataError, RunError
from ..schema import CORRIDOR_DIMS
from ..store.resources import DATA_SOURCES

RISK_FILE = "risk.nc"
HEADLINE = ("undetectable_arrivals_per_100k", "undetectable_arrivals_total",
            "p_undetectable_infectious_arrival")
"""Per-place variables the map and report are built around; each absent one is a note."""


@dataclass
class RunFiles:
    """What the maps and the report read from a run directory.

    Attributes
    ----------
    directory : Path
    risk : xarray.Dataset
        ``risk.nc``, loaded into memory.
    manifest : dict
        ``manifest.json`` (empty when absent or unreadable; see ``notes``).
    config_text : str
        ``config.toml`` as written by the run ("" when absent).
    notes : list of str
        What was left out and why, shown in the report and logged.
    """

    directory: Path
    risk: xr.Dataset
    manifest: dict = field(default_factory=dict)
    config_text: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def scenario(self) -> str:
        """Scenario name (``risk.nc`` attribute, else the folder name)."""
        return str(self.risk.attrs.get("scenario") or self.directory.name)

    @property
    def policy(self) -> str | None:
        """The run's screening policy, when ``risk.nc`` compares policies."""
        if "policy" not in self.risk.dims:
            return None
        names = [str(p) for p in self.risk["policy"].values]
        wanted = str(self.risk.attrs.get("policy", ""))
        return wanted if wanted in names else names[0]

    @property
    def data_sources(self) -> str:
        """One line crediting the data sources."""
        return str(self.risk.attrs.get("data_sources") or DATA_SOURCES)


def load_run(run_dir: str | Path) -> RunFiles:
    """Read ``risk.nc``, ``manifest.json`` and ``config.toml`` of a run directory.

    Raises
    ------
    RunError
        When ``run_dir`` is not a folder or holds no ``risk.nc``.
    DataError
        When ``risk.nc`` cannot be read or has neither a ``place`` nor corridor dimensions.
    """
    directory = Path(run_dir)
    if not directory.is_dir():
        raise RunError(f"{directory}: run directory must be an existing folder; it is not")
    path = directory / RISK_FILE
    if not path.is_file():
        raise RunError(f"{path}: risk results not found; run 'healthmob run CONFIG' with "
                       "[risk] enabled to write them")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            risk = ds.load()
    except Exception as exc:  # h5py/h5netcdf raise several types for unreadable files
        raise DataError(f"{path}: cannot read as NetCDF-4: {exc}") from None
    if "place" not in risk.dims and not set(CORRIDOR_DIMS) <= set(risk.dims):
        raise DataError(f"{path}: dimensions must include 'place' or 'origin, destination, "
                        f"layer'; got {sorted(risk.dims)}")
    run = RunFiles(directory, risk)
    manifest = directory / "manifest.json"
    if manifest.is_file():
        try:
            run.manifest = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            run.notes.append(f"manifest.json could not be read ({exc}): provenance left out")
    else:
        run.notes.append("manifest.json not found: provenance left out")
    config = directory / "config.toml"
    run.config_text = config.read_text(encoding="utf-8") if config.is_file() else ""
    for name in HEADLINE:
        if name not in risk.data_vars:
            run.notes.append(f"risk.nc has no variable {name!r}: left out")
    if not all(name in risk.data_vars for name in ("flow", "undetectable_arrivals")) or \
            not set(CORRIDOR_DIMS) <= set(risk.dims):
        run.notes.append("risk.nc has no corridor variables 'flow' and 'undetectable_arrivals'"
                         " (origin, destination, layer): corridors left out")
    return run


def place_names(ds: xr.Dataset) -> dict[str, str]:
    """Place id -> name, from the ``place_name`` coordinate (ids where absent)."""
    ids = _ids(ds)
    if "place_name" in ds.coords or "place_name" in ds.data_vars:
        return dict(zip(ids, (str(v) for v in ds["place_name"].values)))
    return {pid: pid for pid in ids}


def place_table(run: RunFiles, *, every_policy: bool = False) -> pd.DataFrame:
    """One row per place: ``id, name, lat, lon`` and every per-place risk variable.

    Variables with dims ``(place,)`` keep their names. Variables with dims
    ``(policy, place)`` give the run's policy under their own name and, with
    ``every_policy``, one more column per policy named ``<variable>__<policy>``.
    Variables over other dims (``arrivals_by_state``...) are not per-place columns.
    """
    ds = run.risk
    if "place" not in ds.dims:
        return pd.DataFrame(columns=["id", "name", "lat", "lon"])
    ids = _ids(ds)
    names = place_names(ds)
    table = pd.DataFrame({"id": ids, "name": [names[p] for p in ids]})
    for coord in ("lat", "lon"):
        table[coord] = ds[coord].values.astype(float) if coord in ds.variables else np.nan
    for name, var in ds.data_vars.items():
        if var.dims == ("place",) and var.dtype.kind in "fiub":
            table[name] = var.values.astype(float)
        elif set(var.dims) == {"policy", "place"} and var.dtype.kind in "fiub":
            table[name] = var.sel(policy=run.policy).transpose("place").values.astype(float)
            if every_policy:
                for policy in ds["policy"].values:
                    table[f"{name}__{policy}"] = var.sel(policy=policy).transpose(
                        "place").values.astype(float)
    return table


def corridor_table(run: RunFiles) -> pd.DataFrame:
    """One row per corridor (origin, destination, layer) with a flow > 0.

    Columns: ``origin, destination, layer, origin_name, destination_name, flow`` (persons
    per year), ``volume_source`` (where the flow comes from: a name of the CF
    ``flag_meanings``), ``travel_time`` (days), ``infected_arrivals``,
    ``undetectable_arrivals`` and, when ``risk.nc`` compares policies, ``missed_arrivals`` of
    the run's policy (persons per year). Absent variables are absent columns.
    """
    ds = run.risk
    columns = ["origin", "destination", "layer", "origin_name", "destination_name"]
    if "flow" not in ds.data_vars or not set(CORRIDOR_DIMS) <= set(ds.dims):
        return pd.DataFrame(columns=columns)
    flow = ds["flow"].transpose(*CORRIDOR_DIMS).values
    i, j, k = np.nonzero(np.nan_to_num(flow) > 0)
    origin = ds["origin"].values.astype(str)
    destination = ds["destination"].values.astype(str)
    names = place_names(ds) if "place" in ds.dims else {}
    table = pd.DataFrame({"origin": origin[i], "destination": destination[j],
                          "layer": ds["layer"].values.astype(str)[k]})
    table["origin_name"] = [names.get(p, p) for p in table["origin"]]
    table["destination_name"] = [names.get(p, p) for p in table["destination"]]
    table["flow"] = flow[i, j, k]
    if "volume_source" in ds.data_vars:
        var = ds["volume_source"]
        meanings = np.array(str(var.attrs.get("flag_meanings", "")).split(), dtype=object)
        codes = var.transpose(*CORRIDOR_DIMS).values[i, j, k].astype(int)
        table["volume_source"] = meanings[codes] if len(meanings) > codes.max(initial=0) \
            else codes.astype(str)
    for name in ("travel_time", "infected_arrivals", "undetectable_arrivals", "missed_arrivals"):
        if name not in ds.data_vars:
            continue
        var = ds[name]
        if "policy" in var.dims:
            var = var.sel(policy=run.policy)
        if set(var.dims) == set(CORRIDOR_DIMS):
            table[name] = var.transpose(*CORRIDOR_DIMS).values[i, j, k].astype(float)
    return table


def rank_corridors(corridors: pd.DataFrame, n: int = 50) -> pd.DataFrame:
    """The ``n`` corridors with the most undetectable arrivals, ranked 1..n.

    Ties (and runs without ``undetectable_arrivals``) fall back to the flow, then to the
    ids, so the ranking is reproducible.
    """
    key = "undetectable_arrivals" if "undetectable_arrivals" in corridors else "flow"
    if key not in corridors or corridors.empty:
        return corridors.head(0).assign(rank=pd.Series(dtype=int))
    ordered = corridors.assign(_key=corridors[key].fillna(-np.inf)).sort_values(
        ["_key", "flow", "origin", "destination", "layer"],
        ascending=[False, False, True, True, True], kind="mergesort")
    top = ordered.drop(columns="_key").head(n).reset_index(drop=True)
    top.insert(0, "rank", np.arange(1, len(top) + 1))
    return top


def top_corridors_csv_frame(top: pd.DataFrame) -> pd.DataFrame:
    """The ranked corridors with unit-bearing column names, as in ``top_corridors.csv``."""
    rename = {"flow": "flow_per_year", "infected_arrivals": "infected_arrivals_per_year",
              "undetectable_arrivals": "undetectable_arrivals_per_year",
              "missed_arrivals": "missed_arrivals_per_year",
              "travel_time": "travel_time_days"}
    order = ["rank", "origin", "origin_name", "destination", "destination_name", "layer",
             "flow", "volume_source", "infected_arrivals", "undetectable_arrivals",
             "missed_arrivals", "travel_time"]
    return top[[c for c in order if c in top.columns]].rename(columns=rename)


def format_number(value) -> str:
    """A number for a table: thousands separators, 3 significant digits below 1000."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(value):
        return "–"
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) < 0.001:
        return f"{value:.1e}"
    return f"{value:.3g}"


def _ids(ds: xr.Dataset) -> list[str]:
    return [str(v) for v in ds["place"].values]
