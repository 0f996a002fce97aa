"""Label engine output as a CF-conforming xarray Dataset (``results.nc``)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import xarray as xr

from . import __version__
from .birthplace.account import Account
from .birthplace.variables import birthplace_variables
from .calibration.initial import FLAG_MEANINGS, InitialState
from .disease.observables import attrs_of, observe, units_of
from .engine.trajectory import Trajectory
from .schema import CONVENTIONS, LAT_ATTRS, LON_ATTRS, require_conforming
from .units import CF_UNITS, convert


def place_coords(places: pd.DataFrame) -> dict:
    """Coordinates of the ``place`` dimension: ids, names and lat/lon (CF)."""
    return {
        "place": ("place", places["id"].to_numpy(dtype=str),
                  {"long_name": "place id (ISO 3166-1 alpha-3 for countries)"}),
        "place_name": ("place", places["name"].astype(str).to_numpy(dtype=str),
                       {"long_name": "place name"}),
        "lat": ("place", places["lat"].to_numpy(dtype=float), LAT_ATTRS),
        "lon": ("place", places["lon"].to_numpy(dtype=float), LON_ATTRS),
    }


def initial_flag_variable(flag: np.ndarray) -> dict:
    """``initial_state_flag (place)``: how each place's initial state was obtained."""
    return {"initial_state_flag": (("place",), np.asarray(flag).astype(np.int8), {
        "long_name": "how the initial state of the place was obtained",
        "flag_values": np.arange(len(FLAG_MEANINGS), dtype=np.int8),
        "flag_meanings": " ".join(FLAG_MEANINGS)})}


def build_results(scenario, trajectory: Trajectory, initial: InitialState,
                  account: Account | None = None, history=None, schedule=None) -> xr.Dataset:
    """Assemble ``results.nc`` from the scenario, the trajectory and the initial state.

    Variables: ``population (time, place, compartment)`` (persons), one ``(time, place)``
    variable per model tally in cases per 100,000 population per year (instantaneous rate at
    each output time), one variable per spec output (prevalences, coverage...),
    ``initial_state_flag (place)`` and, for an endemic start, each target and fitted
    parameter per place; with a birthplace ``account``, the native- and foreign-born
    variables of :mod:`healthmob.birthplace.variables`; for a history start (``history``, a
    :class:`healthmob.history.fit.HistoryFit`, and the run's ``schedule``), the yearly
    parameters, targets and flags by ``year``.
    """
    spec = scenario.spec
    start = np.datetime64(scenario.time.start, "ns")
    times = start + (trajectory.times * 86400e9).astype("timedelta64[ns]")
    coords = {
        "time": ("time", times, {"long_name": "time", "standard_name": "time"}),
        **place_coords(scenario.places),
        "compartment": ("compartment", np.array(spec.compartment_ids, dtype=str),
                        {"long_name": "compartment id of the disease model"}),
        "compartment_name": ("compartment",
                             np.array([c.long_name for c in spec.compartments], dtype=str),
                             {"long_name": "compartment description"}),
    }
    data = {
        "population": (("time", "place", "compartment"), trajectory.state,
                       {"units": "1", "long_name": "number of people by place and compartment"}),
        "total_population": (("time", "place"), trajectory.state.sum(axis=2),
                             {"units": "1", "long_name": "number of people in the place"}),
        **initial_flag_variable(initial.flag),
        **_observables(spec, trajectory),
        **_calibration_variables(spec, initial),
    }
    if history is not None:
        more, year = _history_variables(spec, initial, history, schedule,
                                        scenario.time.start.year)
        data.update(more)
        coords["year"] = year
    if account is not None:
        more, more_coords = birthplace_variables(account, scenario.birthplace, spec.tallies,
                                                 pd.Timestamp(scenario.time.start))
        data.update(more)
        coords.update(more_coords)
    ds = xr.Dataset(data, coords={k: xr.Variable(*v) for k, v in coords.items()})
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    ds.attrs = {
        "title": f"healthmob scenario {scenario.name}: {spec.long_name}",
        "source": f"healthmob {__version__}",
        "history": f"{now} healthmob run {scenario.path or '<in-memory config>'}",
        "Conventions": CONVENTIONS,
        "references": " | ".join(spec.references),
        "model": spec.name,
        "model_sha256": spec.sha256,
        "config_sha256": scenario.sha256,
        "engine": scenario.engine,
        "seed": scenario.seed,
    }
    return require_conforming(ds, "results.nc")


def _observables(spec, trajectory: Trajectory) -> dict:
    """One ``(time, place)`` variable per tally and per spec output."""
    data = {}
    for tally in spec.tallies:
        data[tally] = (("time", "place"), observe(spec, tally, trajectory.state,
                                                  trajectory.tally_rates), {
            **attrs_of(spec, tally), "comment": "instantaneous rate at the time stamp"})
    for name in spec.outputs:
        data[name] = (("time", "place"), observe(spec, name, trajectory.state,
                                                 trajectory.tally_rates), attrs_of(spec, name))
    return data


def _history_variables(spec, initial: InitialState, history, schedule, first_year: int):
    """Per year of the run (``year``, the calendar year each yearly model starts in): every
    yearly parameter as run (fitted, then projected), the observed values fitted to (nan
    after the last fitted year) and the places whose transmission is at its floor."""
    n_years = len(schedule.models)
    years = first_year + np.arange(n_years)
    fitted = np.isin(years, history.years)
    data = {}
    for name in history.parameters:
        declared = spec.parameters[name]
        per_declared = convert(1.0, declared.units)[0]
        data[f"history_{name}"] = (("year", "place"), np.stack(
            [model.values[name] for model in schedule.models]) / per_declared, {
            "units": CF_UNITS[declared.units],
            "long_name": f"{name} of each year of the run: fitted to {history.years[0]}-"
                         f"{history.years[-1]}, then projected"})
    for j, target in enumerate(initial.targets):
        goal = np.full((n_years, history.goal.shape[1]), np.nan)
        goal[fitted] = history.goal[np.searchsorted(history.years, years[fitted]), :, j]
        data[f"history_target_{target.observable}"] = (("year", "place"), goal, {
            "units": units_of(spec, target.observable),
            "long_name": f"observed {target.observable} of the year the history start was "
                         "fitted to (annual mean; nan after the last fitted year)"})
    capped = np.zeros((n_years, history.capped.shape[1]), dtype=np.int8)
    capped[fitted] = history.capped[np.searchsorted(history.years, years[fitted])]
    data["history_transmission_at_floor"] = (("year", "place"), capped, {
        "units": "1", "long_name": "1 where the infection migrants and travellers bring "
                                   "alone exceeds the place's fitted force of infection"})
    return data, ("year", years, {"long_name": "calendar year in which a yearly model starts"})


def _calibration_variables(spec, initial: InitialState) -> dict:
    """Each calibration target and fitted parameter per place (an endemic start)."""
    data = {}
    for j, target in enumerate(initial.targets):
        data[f"target_{target.observable}"] = (("place",), initial.goal[:, j], {
            "units": units_of(spec, target.observable),
            "long_name": f"observed {target.observable} the endemic start was fitted to",
            "source": (f"places column {target.column!r} (region median where flagged)"
                       if target.column else f"assumed for every place: {target.value}")})
        declared = spec.parameters[target.parameter]
        per_declared = convert(1.0, declared.units)[0]
        data[f"fitted_{target.parameter}"] = (
            ("place",), initial.overrides[target.parameter] / per_declared, {
                "units": CF_UNITS[declared.units],
                "long_name": f"{target.parameter} fitted per place: "
                             f"{declared.long_name or target.parameter}"})
    return data
