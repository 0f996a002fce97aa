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
from ..store.gather import PAIR_DIMS, gather_pairs, pair_places
from ..store.resources import DATA_SOURCES

RISK_FILE = "risk.nc"
HEADLINE_MEASURES = ("tb_active", "hiv_not_on_art")
"""The measure maps and rankings are built around: the first of these the model has (else
its first measure)."""
NEW_RESIDENTS, VISITORS = "new residents", "visitors"
CHOROPLETH = "choropleth"
"""The place column the maps colour (:func:`place_table`)."""


@dataclass
class RunFiles:
    """What the maps and the report read from a run directory.

    Attributes
    ----------
    directory : Path
    risk : xarray.Dataset
        ``risk.nc``, loaded into memory, its ``(origin, destination)`` variables at the pairs
        with a flow (:func:`at_corridors`).
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
    focus: tuple = ()
    """Destinations the outputs are about (``[focus] destination``; empty: the world)."""

    @property
    def scenario(self) -> str:
        """Scenario name (``risk.nc`` attribute, else the folder name)."""
        return str(self.risk.attrs.get("scenario") or self.directory.name)

    @property
    def mapped(self) -> bool:
        """Whether any place has coordinates (lat and lon): else there is nothing to map."""
        ds = self.risk
        if "lat" not in ds.variables or "lon" not in ds.variables:
            return False
        return bool((np.isfinite(ds["lat"].values.astype(float))
                     & np.isfinite(ds["lon"].values.astype(float))).any())

    @property
    def policy(self) -> str | None:
        """The run's screening policy, when ``risk.nc`` compares policies."""
        if "policy" not in self.risk.dims:
            return None
        names = [str(p) for p in self.risk["policy"].values]
        wanted = str(self.risk.attrs.get("policy", ""))
        return wanted if wanted in names else names[0]

    @property
    def headline(self) -> str | None:
        """The measure maps and rankings are about (:data:`HEADLINE_MEASURES`)."""
        if "measure" not in self.risk.dims:
            return None
        names = [str(m) for m in self.risk["measure"].values]
        return next((m for m in HEADLINE_MEASURES if m in names), names[0])

    def measure_label(self, measure: str) -> str:
        """What a measure counts, in words (its ``measure_long_name``)."""
        ds = self.risk
        if "measure_long_name" in ds.coords:
            return str(ds["measure_long_name"].sel(measure=measure).values)
        return measure.replace("_", " ")

    @property
    def focus_names(self) -> str:
        """The focus destinations in words ("" for the world): ``[focus] name`` when the
        run's focus is the run's own, else up to three names, else their number."""
        own = tuple(str(self.risk.attrs.get("focus_destination", "")).split())
        if self.focus == own and self.risk.attrs.get("focus_name"):
            return str(self.risk.attrs["focus_name"])
        names = place_names(self.risk) if "place" in self.risk.dims else {}
        if len(self.focus) > 3:
            return f"{len(self.focus)} destinations"
        return ", ".join(names.get(p, p) for p in self.focus)

    @property
    def choropleth_unit(self) -> str:
        """The unit of a choropleth value, for a tooltip."""
        if self.focus:
            return f"new residents a year into {self.focus_names}"
        return "new residents per 100,000 population per year"

    @property
    def choropleth_label(self) -> str:
        """What the maps colour, in words, with its units."""
        what = self.measure_label(self.headline) if self.headline else "travellers"
        if self.focus:
            return (f"{what}: new residents arriving in {self.focus_names} per year, by "
                    "country of departure")
        return f"{what}: new residents arriving per year per 100,000 population"

    def file_name(self, name: str, destination: tuple | None) -> str:
        """``name``, or ``<stem>-<places>.<ext>`` for outputs about a ``destination`` asked
        for after the run (``world`` for every destination), so the run's own stay."""
        if destination is None:
            return name
        stem, dot, ext = name.partition(".")
        return f"{stem}-{'-'.join(destination) or 'world'}{dot}{ext}"

    @property
    def map_title(self) -> str:
        """The maps' title: the headline measure and where it arrives."""
        what = self.measure_label(self.headline) if self.headline else "Travellers"
        where = f" into {self.focus_names}" if self.focus else ""
        return f"Arrivals with {what}{where}"

    @property
    def when(self) -> str:
        """The date of the state the risk stage used, as a sentence."""
        date = self.risk.attrs.get("state_date")
        return f"Travellers drawn from the model's state on {date}." if date else ""

    @property
    def data_sources(self) -> str:
        """One line crediting the data sources."""
        return str(self.risk.attrs.get("data_sources") or DATA_SOURCES)


def load_run(run_dir: str | Path, destination: tuple | None = None) -> RunFiles:
    """Read ``risk.nc``, ``manifest.json`` and ``config.toml`` of a run directory.

    ``destination``: the places the outputs are about (None: the run's ``[focus]``; empty:
    the world).

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
            risk = at_corridors(ds.load())
    except Exception as exc:  # h5py/h5netcdf raise several types for unreadable files
        raise DataError(f"{path}: cannot read as NetCDF-4: {exc}") from None
    if "place" not in risk.dims and not set(CORRIDOR_DIMS) <= set(risk.dims):
        raise DataError(f"{path}: dimensions must include 'place' or 'origin, destination, "
                        f"layer'; got {sorted(risk.dims)}")
    focus = tuple(str(risk.attrs.get("focus_destination", "")).split()) \
        if destination is None else tuple(destination)
    known = {str(p) for p in risk["destination"].values} if "destination" in risk.dims else set()
    unknown = [p for p in focus if p not in known]
    if unknown:
        raise RunError(f"{path}: destination {unknown[0]!r} is not a place of the run; "
                       f"expected one of its destinations ({len(known)} places)")
    run = RunFiles(directory, risk, focus=focus)
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
    if not run.mapped:
        run.notes.append("no place of the run has coordinates: the maps (risk_map.png, the "
                         "report's map) and risk.gpkg are left out; the tables hold every "
                         "number")
    elif "lat" in risk.coords and "lon" in risk.coords and "place" in risk.dims:
        lost = ~(np.isfinite(risk["lat"].values) & np.isfinite(risk["lon"].values))
        if lost.any():
            ids = [str(v) for v in risk["place"].values[lost]]
            run.notes.append(f"{len(ids)} place(s) without coordinates are left off the maps "
                             f"(with their corridors), not off the tables: {', '.join(ids[:10])}"
                             + (" ..." if len(ids) > 10 else ""))
    if not all(name in risk.data_vars for name in ("flow", "arrivals")) or \
            not set(CORRIDOR_DIMS) <= set(risk.dims):
        run.notes.append("risk.nc has no corridor variables 'flow' and 'arrivals' (origin, "
                         "destination, layer): corridors left out")
    return run


def at_corridors(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with every ``(origin, destination)`` variable at the pairs with a flow only, as
    a run of many places stores them (:mod:`healthmob.store.gather`): a small run's dense
    ``risk.nc`` is gathered, so the outputs have one form whatever the number of places."""
    if "pair" in ds.dims or not set(PAIR_DIMS) <= set(ds.dims):
        return ds
    if "flow" in ds and set(CORRIDOR_DIMS) <= set(ds["flow"].dims):
        keep = (ds["flow"].fillna(0) > 0).any("layer").transpose(*PAIR_DIMS).values
    else:
        keep = np.ones((ds.sizes["origin"], ds.sizes["destination"]), dtype=bool)
    return gather_pairs(ds, keep)


def summed_by(ds: xr.Dataset, var: xr.DataArray, side: str, focus: tuple = ()
              ) -> xr.DataArray:
    """A ``pair`` variable of :func:`at_corridors`'s form summed by ``side`` (``origin`` or
    ``destination``), over the pairs into the ``focus`` destinations only when given; NaN
    propagates (a missing cost stays missing). Dimensions ``(side, *others)``."""
    origin, destination = pair_places(ds)
    rest = tuple(d for d in var.dims if d != "pair")
    values = var.transpose("pair", *rest).values
    index = origin if side == "origin" else destination
    if focus:
        into = np.isin(ds["destination"].values.astype(str), focus)[destination]
        index, values = index[into], values[into]
    out = np.zeros((ds.sizes[side], *values.shape[1:]))
    np.add.at(out, index, values)
    coords = {side: ds[side].values, **{d: var[d].values for d in rest if d in var.coords}}
    return xr.DataArray(out, dims=(side, *rest), coords=coords)


def is_future(var: xr.DataArray) -> bool:
    """Whether ``var`` is a ``future_<tally>`` variable: per horizon and pair."""
    return var.dims == ("pair", "horizon")


def place_names(ds: xr.Dataset) -> dict[str, str]:
    """Place id -> name, from the ``place_name`` coordinate (ids where absent)."""
    ids = _ids(ds)
    if "place_name" in ds.coords or "place_name" in ds.data_vars:
        return dict(zip(ids, (str(v) for v in ds["place_name"].values)))
    return {pid: pid for pid in ids}


def place_table(run: RunFiles) -> pd.DataFrame:
    """One row per place: ``id, name, lat, lon, population``, the arrivals of every measure
    as ``<measure>_new_residents`` and ``<measure>_visitors`` (persons per year, into the
    place), expected future events ``future_<tally>_<h>y`` among its new residents, and
    :data:`CHOROPLETH`: the headline measure among new residents per 100,000 population, or
    with a focus, per year from each place into the focus."""
    ds = run.risk
    if "place" not in ds.dims:
        return pd.DataFrame(columns=["id", "name", "lat", "lon"])
    ids = _ids(ds)
    names = place_names(ds)
    table = pd.DataFrame({"id": ids, "name": [names[p] for p in ids]})
    for coord in ("lat", "lon", "population"):
        table[coord] = ds[coord].values.astype(float) if coord in ds.variables else np.nan
    if "arrivals" not in ds.data_vars:
        return table
    relocation = _relocation(ds)
    arrivals = ds["arrivals"].transpose("pair", "measure", "layer")
    into = summed_by(ds, arrivals, "destination").values          # (destination, M, L)
    for m, measure in enumerate(ds["measure"].values.astype(str)):
        table[f"{measure}_new_residents"] = into[:, m, relocation].sum(axis=1)
        table[f"{measure}_visitors"] = into[:, m, ~relocation].sum(axis=1)
    for name, var in ds.data_vars.items():
        if is_future(var):
            future = summed_by(ds, var, "destination").values
            for h, years in enumerate(ds["horizon"].values):
                table[f"{name}_{years:g}y"] = future[:, h]
    head = list(ds["measure"].values.astype(str)).index(run.headline)
    if run.focus:
        out = summed_by(ds, arrivals, "origin", run.focus).values
        table[CHOROPLETH] = out[:, head, relocation].sum(axis=1)
        table.loc[table["id"].isin(run.focus), CHOROPLETH] = np.nan
    else:
        table[CHOROPLETH] = (table[f"{run.headline}_new_residents"]
                             / table["population"].where(table["population"] > 0) * 1e5)
    return table


def _relocation(ds: xr.Dataset) -> np.ndarray:
    """Which layers bring new residents (relocation layers), by ``layer_coupling``."""
    if "layer_coupling" not in ds.coords:
        return np.zeros(ds.sizes["layer"], dtype=bool)
    return ds["layer_coupling"].values.astype(str) == "relocation"


def corridor_table(run: RunFiles) -> pd.DataFrame:
    """One row per corridor (origin, destination, layer) with a flow > 0, into the focus
    destinations when the run has a focus.

    Columns: ``origin, destination, layer, origin_name, destination_name, arrives_as`` (new
    residents or visitors), ``category`` (the layer's traveller category), ``flow``
    (persons per year), ``volume_source`` (a name of the CF ``flag_meanings``),
    ``travel_time`` (days) and one column per arrival measure (persons per year in its
    states). Absent variables are absent columns.
    """
    ds = run.risk
    columns = ["origin", "destination", "layer", "origin_name", "destination_name"]
    if "flow" not in ds.data_vars or "pair" not in ds["flow"].dims:
        return pd.DataFrame(columns=columns)
    flow = ds["flow"].transpose("pair", "layer").values
    destination = ds["destination"].values.astype(str)
    origins, destinations = pair_places(ds)
    wanted = np.nan_to_num(flow) > 0
    if run.focus:
        wanted &= np.isin(destination, run.focus)[destinations][:, None]
    p, k = np.nonzero(wanted)
    origin = ds["origin"].values.astype(str)
    names = place_names(ds) if "place" in ds.dims else {}
    table = pd.DataFrame({"origin": origin[origins[p]],
                          "destination": destination[destinations[p]],
                          "layer": ds["layer"].values.astype(str)[k]})
    table["origin_name"] = table["origin"].map(names).fillna(table["origin"])
    table["destination_name"] = table["destination"].map(names).fillna(table["destination"])
    table["arrives_as"] = np.where(_relocation(ds)[k], NEW_RESIDENTS, VISITORS)
    if "layer_category" in ds.coords:
        table["category"] = ds["layer_category"].values.astype(str)[k]
    table["flow"] = flow[p, k]
    if "volume_source" in ds.data_vars:
        var = ds["volume_source"]
        meanings = np.array(str(var.attrs.get("flag_meanings", "")).split(), dtype=object)
        codes = var.transpose("pair", "layer").values[p, k].astype(int)
        table["volume_source"] = meanings[codes] if len(meanings) > codes.max(initial=0) \
            else codes.astype(str)
    if "travel_time" in ds.data_vars:
        table["travel_time"] = ds["travel_time"].transpose("pair", "layer").values[p, k]
    if "arrivals" in ds.data_vars:
        arrivals = ds["arrivals"].transpose("pair", "measure", "layer").values
        for m, measure in enumerate(ds["measure"].values.astype(str)):
            table[measure] = arrivals[p, m, k]
    return table


def rank_corridors(corridors: pd.DataFrame, key: str | None, n: int = 50) -> pd.DataFrame:
    """The ``n`` corridors with the most arrivals in measure ``key`` (the flow when it is
    None or absent), ranked 1..n; ties fall back to the flow, then to the ids."""
    key = key if key in corridors else "flow"
    if key not in corridors or corridors.empty:
        return corridors.head(0).assign(rank=pd.Series(dtype=int))
    ordered = corridors.assign(_key=corridors[key].fillna(-np.inf)).sort_values(
        ["_key", "flow", "origin", "destination", "layer"],
        ascending=[False, False, True, True, True], kind="mergesort")
    top = ordered.drop(columns="_key").head(n).reset_index(drop=True)
    top.insert(0, "rank", np.arange(1, len(top) + 1))
    top.attrs["key"] = key
    return top


def top_corridors_csv_frame(top: pd.DataFrame) -> pd.DataFrame:
    """The ranked corridors with unit-bearing column names, as in ``top_corridors.csv``:
    measures as ``<measure>_per_year``."""
    fixed = ["rank", "origin", "origin_name", "destination", "destination_name", "layer",
             "arrives_as", "category", "flow", "volume_source", "travel_time"]
    rename = {"flow": "flow_per_year", "travel_time": "travel_time_days"}
    measures = [c for c in top.columns if c not in fixed]
    rename.update({m: f"{m}_per_year" for m in measures})
    return top[[c for c in fixed + measures if c in top.columns]].rename(columns=rename)


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
