"""A history start: the places at the first year, the yearly fit, and the run's schedule.

:func:`places_at_start` gives the places their observed values (and population) of the
start year, so the endemic start (:mod:`healthmob.calibration.initial`) is fitted to them;
:func:`history_schedule` then fits every year to ``fit_until`` (:mod:`.fit`), reading or
writing the fit in the calibration cache under the sha256 of its inputs, and compiles one
model per year of the run: fitted years as fitted, later years by the ``projection``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..calibration.cache import read_cache_table, write_cache_table
from ..calibration.config import HistoryStart
from ..calibration.fit import Calibrator
from ..calibration.initial import InitialState
from ..disease.compile import compile_model
from ..disease.schedule import Schedule
from ..disease.selection import CorridorWeights
from ..disease.spec import ModelSpec
from ..engine.coupling import Coupling
from ..errors import ConfigError
from ..units import DAYS_PER_YEAR
from . import fit as fitting
from .fit import HistoryFit, fit_history
from .table import observed_path, read_observed, yearly_targets

log = logging.getLogger(__name__)


def observed_table(cfg: HistoryStart, base_dir: Path | None) -> tuple[Path, pd.DataFrame]:
    """The checked observed series of ``cfg`` and its path."""
    path = observed_path(cfg.observed, base_dir)
    if not path.is_file():
        raise ConfigError(f"initial.observed: {path} is not a file")
    columns = sorted({t.column for t in cfg.targets if t.column})
    return path, read_observed(path, columns, optional=("population",))


def fitted_years(cfg: HistoryStart, table: pd.DataFrame, start_year: int, path: Path
                 ) -> np.ndarray:
    """The years to fit: the start year to ``fit_until`` (default: the table's last)."""
    first, last = int(table["year"].min()), int(table["year"].max())
    if start_year > first:
        raise ConfigError(f"time.start: the history start must be in or before the first "
                          f"year of {path} ({first}); got {start_year}")
    until = last if cfg.fit_until is None else cfg.fit_until
    if not start_year <= until <= last:
        raise ConfigError(f"initial.fit_until must be between the start year {start_year} "
                          f"and the last year of {path} ({last}); got {until}")
    return np.arange(start_year, until + 1)


def places_at_start(places: pd.DataFrame, cfg: HistoryStart, table: pd.DataFrame,
                    start_year: int) -> pd.DataFrame:
    """``places`` with each target column of the start year (:func:`.table.yearly_targets`:
    interpolated, or the nearest year's value) and its observed ``population``; a place
    without any value of a column gets NaN, so the endemic start's fallback applies."""
    at = table[table["year"] == start_year].set_index("id")
    out = places.copy()
    years = np.arange(start_year, int(table["year"].max()) + 1)
    for column in sorted({t.column for t in cfg.targets if t.column}):
        values, missing = yearly_targets(table, places, column, years, cfg.fallback)
        out[column] = np.where(missing, np.nan, values[0])
    if "population" in at:
        population = out["id"].map(at["population"])
        out["population"] = population.where(population > 0, out["population"]).round()
    return out


def history_schedule(spec: ModelSpec, cfg: HistoryStart, places: pd.DataFrame,
                     parameters: dict, initial: InitialState, coupling: Coupling,
                     table: pd.DataFrame, years: np.ndarray, source: str,
                     run_days: float, save_dir: Path | None) -> tuple[Schedule, HistoryFit]:
    """Fit (or read) the history and compile the run's yearly models (module docstring).
    Births beyond deaths (``growth_rate``) are those of the fit, the last fitted year's
    held after it."""
    t0 = time.perf_counter()
    targets = list(initial.targets)
    yearly = np.array([t.parameter in cfg.yearly_parameters for t in targets])
    fixed = {k: v for k, v in initial.overrides.items()
             if k not in {t.parameter for t in targets if t.parameter in cfg.yearly_parameters}}
    calibrator = Calibrator(spec, fixed, targets, len(places))
    key = _key(spec, places, fixed, targets, initial, coupling, source, years, yearly, cfg)
    found = None if save_dir is not None or not cfg.cache else _load(key, places, targets,
                                                                     yearly, years)
    from_cache = found is not None
    if found is None:
        goal = np.stack([yearly_targets(table, places, t.column, years, cfg.fallback)[0]
                         for t in targets], axis=2)
        start = _start_unknowns(calibrator, initial, coupling)
        last = np.array([int(table.loc[table[t.column].notna(), "year"].max()) for t in targets])
        population = observed_population(table, places, np.arange(years[0], years[-1] + 2))
        found = fit_history(calibrator, coupling, initial.state, goal, start, yearly, years,
                            last, population)
        if save_dir is not None:
            _save(Path(save_dir) / f"{key}.csv", key, places, targets, found)
    log.info("history: %s refitted every year %d-%d for %d places, %s (%.2f s)",
             list(found.parameters), years[0], years[-1], len(places),
             "read from the cache" if from_cache else "fitted", time.perf_counter() - t0)
    n_years = int(np.ceil(run_days / DAYS_PER_YEAR - 1e-9))
    values = projected(found, n_years, cfg, calibrator, targets)
    growth = found.growth[np.minimum(np.arange(n_years), len(found.years) - 1)]
    models = tuple(dataclasses.replace(compile_model(
        spec, len(places), {**parameters, **initial.overrides,
                            **{k: v[t] for k, v in values.items()}}), growth_rate=growth[t])
        for t in range(n_years))
    return Schedule(np.arange(n_years) * DAYS_PER_YEAR, models), found


def observed_population(table: pd.DataFrame, places: pd.DataFrame, years: np.ndarray
                        ) -> np.ndarray | None:
    """Observed population (Y, P) at ``years``: interpolated inside a place's series,
    continued at its last year-on-year growth after it; nan where a place has none, None
    when the table has no ``population`` column."""
    if "population" not in table:
        return None
    wide = table.pivot(index="year", columns="id", values="population").reindex(
        index=np.union1d(years, table["year"].unique()), columns=places["id"])
    wide = wide.where(wide > 0).interpolate(axis=0, limit_area="inside")
    values = np.log(wide.to_numpy(dtype=float))
    for p in range(values.shape[1]):
        known = np.flatnonzero(np.isfinite(values[:, p]))
        if len(known) >= 2 and known[-1] < len(values) - 1:
            step = values[known[-1], p] - values[known[-2], p]
            ahead = np.arange(1, len(values) - known[-1])
            values[known[-1] + 1:, p] = values[known[-1], p] + step * ahead
    return np.exp(values[np.searchsorted(wide.index.to_numpy(), years)])


def projected(found: HistoryFit, n_years: int, cfg: HistoryStart, calibrator: Calibrator,
              targets: list) -> dict:
    """Each yearly parameter for every year of the run (n_years, P): fitted, then held at
    the last fitted value (``hold``) or its log-linear trend over the last ``trend_years``
    fitted years continued (``trend``), within the parameter's declared range."""
    out = {}
    n_fit = len(found.years)
    for name, fitted in found.parameters.items():
        values = np.empty((n_years, fitted.shape[1]))
        values[:min(n_fit, n_years)] = fitted[:n_years]
        if n_years > n_fit:
            last = fitted[-1]
            values[n_fit:] = last
            if cfg.projection == "trend":
                window = np.log(np.maximum(fitted[-min(cfg.trend_years, n_fit):], 1e-300))
                rate = _slope(window)
                ahead = np.arange(1, n_years - n_fit + 1)[:, None]
                values[n_fit:] = last * np.exp(rate * ahead)
                j = [t.parameter for t in targets].index(name)
                if not calibrator.is_transmission[j]:
                    low, high = np.exp(calibrator.bounds[:, j])
                    values[n_fit:] = np.clip(values[n_fit:], low, high)
        out[name] = values
    return out


def _slope(window: np.ndarray) -> np.ndarray:
    """Least-squares slope per column of ``window`` (years, P) against the year."""
    t = np.arange(len(window)) - (len(window) - 1) / 2
    return (t[:, None] * (window - window.mean(axis=0))).sum(axis=0) / max((t * t).sum(), 1e-300)


def _start_unknowns(calibrator: Calibrator, initial: InitialState, coupling: Coupling
                    ) -> np.ndarray:
    """The unknowns at the start: each place's force per unit rate, or parameter value."""
    compiled = compile_model(calibrator.spec, len(initial.state), initial.overrides)
    force = coupling.force(compiled, initial.state)
    out = np.empty((len(initial.state), len(calibrator.targets)))
    for j, (target, unit, group, trans) in enumerate(zip(
            calibrator.targets, calibrator.units, calibrator.groups, calibrator.is_transmission)):
        if trans:
            k = int(np.argmax(group))
            out[:, j] = force[:, k] / np.maximum(unit.inf_rate[:, k], 1e-300)
        else:
            out[:, j] = initial.overrides[target.parameter]
    return out


def _digits(values) -> list:
    return [f"{v:.8g}" for v in np.asarray(values, dtype=float).ravel()]


def _weight_digits(weights) -> list:
    """:func:`_digits` of a layer's selection weights, per origin or per corridor."""
    if isinstance(weights, CorridorWeights):
        return [weights.origin.tolist(), weights.destination.tolist(),
                _digits(weights.weights), _digits(weights.fallback)]
    return _digits(weights)


def _key(spec, places, fixed, targets, initial, coupling, source, years, yearly, cfg) -> str:
    """sha256 of everything the fit depends on (numbers to 8 significant digits)."""
    matrices = [coupling.relocation, coupling.away, *[r for r, _ in coupling.selected]]
    payload = {
        "method": [fitting.TOLERANCE, fitting.MAX_ITERATIONS, fitting.MAX_STEP,
                   fitting.FIRST_SLOPE, fitting.YEARLY_FACTOR, "monthly-expm-v5-growth"],
        "model": spec.sha256, "places": places["id"].tolist(), "source": source,
        "fixed": {k: _digits(v) for k, v in sorted(fixed.items())},
        "targets": [[t.observable, t.parameter, t.column] for t in targets],
        "fallback": cfg.fallback, "years": [int(years[0]), int(years[-1])],
        "yearly": yearly.tolist(), "state": _digits(initial.state),
        "coupling": [[m.indices.tolist(), m.indptr.tolist(), _digits(m.data)]
                     for m in matrices] + [_weight_digits(w) for _, w in coupling.selected],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _load(key, places, targets, yearly, years) -> HistoryFit | None:
    found = read_cache_table(key, "history fit")
    if found is None:
        return None
    table, path = found
    n_years, n = len(years), len(places)
    table = table.set_index(["year", "id"]).loc[pd.MultiIndex.from_product(
        [years, places["id"]])]

    def grid(column):
        return table[column].to_numpy(dtype=float).reshape(n_years, n)

    parameters = {t.parameter: grid(f"fitted_{t.parameter}")
                  for t, y in zip(targets, yearly) if y}
    goal = np.stack([grid(f"goal_{t.observable}") for t in targets], axis=2)
    achieved = np.stack([grid(f"achieved_{t.observable}") for t in targets], axis=2)
    log.info("history fit read from the calibration cache %s", path)
    return HistoryFit(np.asarray(years), parameters, goal, achieved,
                      grid("capped").astype(bool), grid("growth"), cache_file=path)


def _save(path: Path, key: str, places, targets, found: HistoryFit) -> None:
    n_years, n = found.goal.shape[:2]
    columns = {"year": np.repeat(found.years, n), "id": np.tile(places["id"].to_numpy(),
                                                                 n_years)}
    for j, target in enumerate(targets):
        columns[f"goal_{target.observable}"] = found.goal[:, :, j].ravel()
        columns[f"achieved_{target.observable}"] = found.achieved[:, :, j].ravel()
    for name, values in found.parameters.items():
        columns[f"fitted_{name}"] = values.ravel()
    columns["capped"] = found.capped.ravel().astype(int)
    columns["growth"] = found.growth.ravel()
    write_cache_table(path, key, "healthmob history fit; fitted values in base units (per "
                      "day); goal/achieved are annual means", columns)
    log.info("history fit written to %s", path)
