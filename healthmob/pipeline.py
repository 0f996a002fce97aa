"""The one data flow, composed: Scenario -> Mobility -> Model -> Engine -> Risk -> Outputs.

:func:`prepare` does everything that can fail on bad input, before any output exists;
:func:`simulate` returns the results in memory; :func:`run` also writes a run directory.
Each stage is called with its typed section of the scenario.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from .birthplace.account import RETURN_LAYER, StartCohorts
from .birthplace.setup import (
    MIGRATION_LAYER,
    account_of_run,
    applies,
    foreign_born_start,
    layer_weights,
)
from .calibration.cache import cache_key, load_calibration, save_calibration
from .calibration.config import EndemicStart, HistoryStart
from .calibration.initial import InitialState, endemic_start, fraction_start
from .disease.compile import CompiledModel, compile_model
from .disease.schedule import Schedule
from .engine.coupling import Coupling
from .engine.ode import simulate_deterministic
from .engine.trajectory import output_times
from .errors import RunError
from .history.fit import HistoryFit
from .history.start import fitted_years, history_schedule, observed_table, places_at_start
from .mobility.build import build_mobility
from .mobility.config import mobility_inputs
from .mobility.drift import warn_drift
from .mobility.files import write_mobility
from .mobility.matrix import Mobility
from .network.overrides import network_overrides
from .results import build_results
from .risk.assess import add_intervals, assess_risk, member_inputs, risk_inputs
from .scenario import Scenario, load_scenario, parse_scenario
from .store.netcdf import write_dataset
from .store.rundir import RunDirectory, collect_logs, read_manifest, sha256_file
from .surveillance.config import check_observed_strata
from .units import DAYS_PER_YEAR

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """Everything a run needs, built and checked."""

    scenario: Scenario
    mobility: Mobility
    initial: InitialState
    compiled: CompiledModel
    coupling: Coupling
    birthplace: StartCohorts | None = None
    """The foreign-born at the start, when the run counts them (:mod:`healthmob.birthplace`)."""
    weights: dict = dataclasses.field(default_factory=dict)
    """Who moves on each relocation layer
    (:func:`healthmob.birthplace.setup.layer_weights`)."""
    calibration_files: tuple = ()
    """The calibration caches the start was read from (inputs of the run)."""
    schedule: Schedule | None = None
    """The yearly models of a history start (:mod:`healthmob.history`); None: ``compiled``
    throughout."""
    history: HistoryFit | None = None
    """What the history fit found, year by year (a history start only)."""

    @property
    def models(self) -> Schedule:
        """The model of every day of the run."""
        return self.schedule or Schedule.constant(self.compiled)


@dataclass(frozen=True)
class Run:
    """A finished run: its directory and its results."""

    directory: Path
    results: xr.Dataset
    manifest: dict

    def __repr__(self) -> str:      # not the whole dataset
        return (f"Run({str(self.directory)!r}, status={self.manifest.get('status')!r}, "
                f"{len(self.results.data_vars)} variables over {dict(self.results.sizes)})")


def prepare(scenario: Scenario | str | Path, calibration_dir: Path | None = None) -> Prepared:
    """Build mobility, the initial state and the compiled model (raises on bad input).

    ``calibration_dir``: fit the endemic start afresh and write each fit there as
    ``<key>.csv`` (``healthmob calibrate``); by default a cached fit is read when there is one.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    history = isinstance(scenario.initial, HistoryStart)
    if history:
        observed_file, observed = observed_table(scenario.initial, scenario.base_dir)
        years = fitted_years(scenario.initial, observed, scenario.time.start.year,
                             observed_file)
        scenario = dataclasses.replace(scenario, places=places_at_start(
            scenario.places, scenario.initial, observed, int(years[0])))
    places = scenario.places
    t0 = time.perf_counter()
    mobility = build_mobility(places, scenario.mobility, base_dir=scenario.base_dir,
                              source=scenario.path)
    log.info("mobility: %d places, layers %s (%.2f s)", mobility.n_places,
             sorted(mobility.layers), time.perf_counter() - t0)
    if not history:  # a history start's births keep populations on the observed totals
        warn_drift(mobility, places, scenario.time.duration_days / DAYS_PER_YEAR)
    parameters = {**scenario.parameters, **network_overrides(
        scenario.network, list(places["id"]), scenario.spec, scenario.parameters,
        scenario.base_dir)}
    endemic = isinstance(scenario.initial, (EndemicStart, HistoryStart))
    initial = (_endemic(scenario, parameters, calibration_dir) if endemic
               else fraction_start(scenario.spec, places, scenario.initial))
    compiled = compile_model(scenario.spec, len(places), {**parameters, **initial.overrides})
    population = places["population"].to_numpy()
    coupling = Coupling.from_mobility(mobility, population)
    cohorts, files = None, []
    if applies(scenario.birthplace, scenario.mobility):
        force = coupling.force(compiled, initial.state)
        migrants = layer_weights(scenario.spec, scenario.mobility, mobility, compiled,
                                 initial.state, None)
        cohorts, state = foreign_born_start(scenario.birthplace, scenario.mobility, mobility,
                                            places, compiled, initial.state, force,
                                            scenario.time.start, migrants.get(MIGRATION_LAYER))
        if endemic:
            foreign = cohorts.cohorts.sum(axis=(1, 2)) / np.maximum(population, 1e-300)[:, None]
            files.append(initial.cache_file)
            initial = _endemic(scenario, parameters, calibration_dir, foreign)
            compiled = compile_model(scenario.spec, len(places),
                                     {**parameters, **initial.overrides})
        else:
            initial = dataclasses.replace(initial, state=state)
    weights = layer_weights(scenario.spec, scenario.mobility, mobility, compiled, initial.state,
                            cohorts)
    if weights:
        coupling = Coupling.from_mobility(mobility, population, weights)
    files = [f for f in (*files, initial.cache_file) if f is not None]
    schedule = fit = None
    if history:
        schedule, fit = history_schedule(
            scenario.spec, scenario.initial, places, parameters, initial, coupling, observed,
            years, sha256_file(observed_file), scenario.time.duration_days, calibration_dir)
        compiled = schedule.first
        files += [f for f in (observed_file, fit.cache_file) if f is not None]
    return Prepared(scenario, mobility, initial, compiled, coupling, cohorts, weights,
                    tuple(files), schedule, fit)


def _endemic(scenario: Scenario, parameters: dict, save_dir: Path | None,
             foreign: np.ndarray | None = None) -> InitialState:
    """The endemic start, read from the calibration cache or fitted (and saved to
    ``save_dir``); with ``foreign``, the fit of the native-born beside the foreign-born."""
    t0 = time.perf_counter()
    start, places, spec = scenario.initial, scenario.places, scenario.spec
    targets = list(start.targets)
    key = cache_key(spec, places, parameters, targets, start.fallback, foreign)
    initial = None
    if start.cache and save_dir is None:
        initial = load_calibration(key, spec, places, parameters, targets)
    if initial is None:
        initial = endemic_start(spec, places, parameters, targets, fallback=start.fallback,
                                foreign=foreign)
        if save_dir is not None:
            save_calibration(Path(save_dir) / f"{key}.csv", key, spec, places, initial)
    log.info("endemic start%s: %s for %d places %s (%.2f s)",
             "" if foreign is None else " of the native-born beside the foreign-born",
             [t.parameter for t in targets], len(places),
             "read from the cache" if initial.cache_file else "fitted",
             time.perf_counter() - t0)
    return initial


def simulate(scenario: Scenario | str | Path, prepared: Prepared | None = None) -> xr.Dataset:
    """Run the scenario's deterministic engine and return ``results`` (CF); write nothing."""
    prepared = prepared or prepare(scenario)
    scenario = prepared.scenario
    times = output_times(scenario.time.duration_days, scenario.time.step_days)
    solver = scenario.solver
    t0 = time.perf_counter()
    trajectory = simulate_deterministic(prepared.compiled, prepared.initial.state, times,
                                        prepared.coupling, method=solver.method,
                                        rtol=solver.rtol, atol=solver.atol,
                                        schedule=prepared.schedule)
    log.info("deterministic engine: %d output times, %.2f s", len(times), time.perf_counter() - t0)
    account = None
    if prepared.birthplace is not None:
        account = account_of_run(prepared.models, trajectory, prepared.coupling,
                                 prepared.mobility, prepared.birthplace, prepared.weights)
    return build_results(scenario, trajectory, prepared.initial, account, prepared.history,
                         prepared.schedule)


def run(config: Scenario | str | Path, output_dir: str | Path | None = None, *,
        scheduler: str | None = None, progress=None) -> Run:
    """Check, then simulate and write ``<output_dir>/<name>-<timestamp>/``.

    Bad input raises before the directory exists. A failure after that leaves the directory
    with ``status: failed`` in ``manifest.json`` and the error in ``run.log``. A stochastic
    engine or a parameter sweep runs through :func:`healthmob.ensemble.run.run_ensemble`
    (members streamed to ``members/``, ``scheduler`` a dask address, ``progress(done,
    total)`` called per member); Ctrl-C or SIGTERM then leave ``status: interrupted``, which
    :func:`resume` completes.
    """
    with collect_logs() as records:
        scenario = config if isinstance(config, Scenario) else load_scenario(config)
        prepared = prepare(scenario)
        if scenario.surveillance.observed:
            check_observed_strata(scenario.surveillance.observed, scenario.base_dir,
                                  list(scenario.places["id"]),
                                  scenario.birthplace.band_labels(),
                                  prepared.birthplace.groups.labels)
    base = Path(output_dir or scenario.output.directory)
    inputs = list(scenario.input_files) + mobility_inputs(scenario.mobility, scenario.base_dir)
    inputs += list(prepared.calibration_files)
    folder = RunDirectory(base, scenario.name, "run", scenario.seed, inputs, records)
    with folder.recording(announce=False):
        folder.write_config(scenario.to_table())
        for path in write_mobility(prepared.mobility, scenario.places, folder.path):
            folder.add_output(Path(path).name)
        if scenario.is_ensemble:
            from .ensemble.run import run_ensemble  # dask: imported only for ensembles

            if prepared.birthplace is not None:
                log.warning("birthplace: ensembles start with the foreign-born but do not keep "
                            "their account; results.nc has no native- or foreign-born "
                            "variables (a deterministic run has them)")
            folder.manifest.update(config=str(scenario.path) if scenario.path else None,
                                   config_sha256=scenario.sha256)
            results = run_ensemble(prepared, folder, scheduler=scheduler, progress=progress)
        else:
            results = simulate(scenario, prepared)
            write_dataset(results, folder.path / "results.nc")
            folder.add_output("results.nc")
        with_risk = _after_simulation(folder, prepared, results)
    _publish(folder, with_risk)
    folder.announce()
    return Run(folder.path, results, folder.manifest)


def _after_simulation(folder: RunDirectory, prepared: Prepared, results) -> bool:
    """The stages after the simulation, a run's or a resumed one's: ``risk.nc`` and the
    surveillance files; True when maps and the report follow."""
    scenario = prepared.scenario
    with_risk = scenario.risk.enabled and bool(prepared.mobility.layers)
    if with_risk and not (folder.path / "risk.nc").is_file():   # a resume may have it
        write_dataset(assess(prepared, results), folder.path / "risk.nc")
        folder.add_output("risk.nc")
    if scenario.surveillance.observed:
        from .surveillance.run import surveil_run  # scipy.stats: imported only when asked
        for path in surveil_run(folder.path, scenario.surveillance.observed,
                                base_dir=scenario.base_dir).files:
            folder.add_output(path.name)
    return with_risk


def _publish(folder: RunDirectory, with_risk: bool) -> None:
    if with_risk:
        from .outputs.publish import write_maps  # matplotlib: imported only here
        write_maps(folder)


def surveil(target: str | Path, observed: str | Path, output_dir: str | Path | None = None,
            decomposition: str | None = None, fit: bool = False):
    """Compare observed notifications with a run: ``target`` a finished run directory, or a
    config that is run first (with ``[surveillance] observed`` set to ``observed``).

    Returns the :class:`~healthmob.surveillance.run.Surveillance` (``dataset``, ``alerts``,
    ``files``, ``decomposition``) written into the run directory; ``decomposition``
    (``"PLACE:FIRST:LAST"``) also splits a change of foreign-born notifications
    (:mod:`healthmob.surveillance.decompose`); ``fit`` fits the migrants' TB to the observed
    foreign-born counts (:mod:`healthmob.surveillance.fit`). Bad input raises before
    anything is written.
    """
    from .surveillance.decompose import parse_request  # scipy.stats: imported when asked
    from .surveillance.run import surveil_run
    target = Path(target)
    if decomposition:
        parse_request(decomposition)  # a bad request stops before any run
    if target.is_dir():
        return surveil_run(target, observed, decomposition=decomposition, fit=fit)
    scenario = load_scenario(target)
    table = scenario.to_table()
    table["surveillance"] = {"observed": str(Path(observed).resolve())
                             if Path(observed).is_file() else str(observed)}
    checked = parse_scenario(table, path=scenario.path, sha256=scenario.sha256)
    finished = run(checked, output_dir)
    return surveil_run(finished.directory, checked.surveillance.observed,
                       decomposition=decomposition, fit=fit)


def assess(prepared: Prepared, results: xr.Dataset) -> xr.Dataset:
    """The risk stage for a finished simulation (see :mod:`healthmob.risk.assess`)."""
    scenario = prepared.scenario
    cfg = scenario.risk
    population = results["population"].isel(time=0 if cfg.time == "start" else -1)
    compiled = prepared.models.at(0.0 if cfg.time == "start" else float(
        scenario.time.duration_days))
    if "scenario" in population.dims:
        population = population.isel(scenario=0)
    if "member" in population.dims:
        population = population.mean("member")
    t0 = time.perf_counter()
    weights = {RETURN_LAYER: prepared.weights[RETURN_LAYER]} \
        if RETURN_LAYER in prepared.weights else {}
    inputs = risk_inputs(scenario.spec, compiled, population.to_numpy(), scenario.places,
                         prepared.mobility, scenario.mobility, weights, scenario.name,
                         scenario.costs, scenario.focus,
                         np.datetime64(scenario.time.start, "D") + int(
                             0 if cfg.time == "start" else scenario.time.duration_days))
    risk = assess_risk(inputs, cfg)
    if cfg.uncertainty.members:
        risk = _intervals(prepared, inputs, risk)
    log.info("risk: %d corridors, %d policies (%.2f s)", int((risk.flow > 0).sum()),
             risk.sizes["policy"], time.perf_counter() - t0)
    if cfg.arrival.seed_place:
        from .risk.arrival import add_arrival_times  # scipy.stats: imported only when asked

        add_arrival_times(risk, prepared.mobility, scenario.places["population"].to_numpy(),
                          cfg.arrival, scenario.seed)
    return risk


def _intervals(prepared: Prepared, inputs, risk: xr.Dataset) -> xr.Dataset:
    """The uncertainty ensemble of the risk stage (:mod:`healthmob.risk.uncertainty`) for
    ``inputs`` (the :class:`~healthmob.risk.assess.RiskInputs` of :func:`assess`), its
    members on the executor of ``[risk.uncertainty]``."""
    from .ensemble.executors import map_calls  # dask: imported only when asked
    from .risk.uncertainty import run_member

    cfg = prepared.scenario.risk.uncertainty
    t0 = time.perf_counter()
    fitted = set(prepared.initial.overrides) | set(cfg.fixed) | {
        name for name, v in inputs.compiled.values.items() if np.ptp(np.atleast_1d(v)) > 0}
    shared = member_inputs(inputs, prepared.scenario.risk, fitted, prepared.scenario.seed)
    summaries = map_calls(run_member, cfg.members, shared, cfg.executor, cfg.workers)
    log.info("risk uncertainty: %d members over %d parameters and %d origins' WHO bounds, "
             "%s (%.1f s)", cfg.members, len(shared.draws.names),
             int((shared.draws.incidence_factor != 1).any(axis=0).sum()), cfg.executor,
             time.perf_counter() - t0)
    return add_intervals(risk, summaries, shared.draws)


def resume(run_dir: str | Path, *, scheduler: str | None = None, progress=None) -> Run:
    """Complete an interrupted ensemble run: its missing members, then the stages after them
    (``risk.nc``, surveillance, maps and report); of a complete run whose maps and report
    failed or were interrupted (any engine), those only. The config is read again from the
    path the run recorded and must be unchanged (same sha256); the members on disk are
    checked against the plan (docs/ensembles.md)."""
    from .ensemble.run import run_ensemble  # dask: imported only for ensembles

    path = (manifest := read_manifest(run_dir)).get("config")  # refused before any change
    if manifest.get("status") != "complete" and (not isinstance(path, str) or not path):
        raise RunError(f"{Path(run_dir).resolve()}: the manifest does not record the config "
                       "of an ensemble run; nothing to resume")
    if manifest.get("status") == "complete":     # only its maps and report are missing
        folder = RunDirectory.reopen(run_dir)
        with folder.recording(announce=False):
            results = xr.open_dataset(folder.path / "results.nc", engine="h5netcdf")
        with_risk = (folder.path / "risk.nc").is_file()
    else:
        scenario = load_scenario(path)
        if scenario.sha256 != manifest.get("config_sha256"):
            raise RunError(f"{Path(run_dir).resolve()}: cannot resume: {path} changed since "
                           "the run started")
        prepared = prepare(scenario)
        folder = RunDirectory.reopen(run_dir)
        with folder.recording(announce=False):
            results = run_ensemble(prepared, folder, resume=True, scheduler=scheduler,
                                   progress=progress)
            with_risk = _after_simulation(folder, prepared, results)
    _publish(folder, with_risk)
    folder.announce()
    return Run(folder.path, results, folder.manifest)
