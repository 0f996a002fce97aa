"""The one data flow, composed: Scenario -> Mobility -> Model -> (engine) -> results.

:func:`prepare` does everything that can fail on bad input, before any output exists;
:func:`simulate` returns the results in memory; :func:`run` also writes a run directory.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from .calibration.cache import cache_key, cache_path, load_calibration
from .calibration.fit import Target
from .calibration.initial import InitialState, endemic_start, fraction_start
from .disease.compile import CompiledModel, compile_model
from .engine.coupling import Coupling
from .engine.ode import simulate_deterministic
from .mobility.build import build_mobility, mobility_inputs, write_mobility
from .mobility.matrix import Mobility
from .outputs.maps import write_risk_outputs
from .results import build_results
from .risk.arrival import arrival_times
from .risk.assess import RiskInputs, assess_risk
from .scenario import Scenario, load_scenario
from .schema import write_dataset
from .store.resources import resolve_named_file
from .store.rundir import RunDirectory, collect_logs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """Everything a run needs, built and validated."""

    scenario: Scenario
    mobility: Mobility
    initial: InitialState
    model: CompiledModel
    coupling: Coupling


@dataclass(frozen=True)
class Run:
    """A finished run: its directory and its results."""

    directory: Path
    results: xr.Dataset
    manifest: dict


def prepare(scenario: Scenario | str | Path) -> Prepared:
    """Build mobility, the initial state and the compiled model (raises on bad input)."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    places = scenario.places
    t0 = time.perf_counter()
    mobility = build_mobility(places, scenario.resolved["mobility"], base_dir=scenario.base_dir)
    log.info("mobility: %d places, layers %s (%.2f s)", mobility.n_places,
             sorted(mobility.layers), time.perf_counter() - t0)
    initial_cfg = scenario.resolved["initial"]
    n = len(places)
    parameters = {**scenario.parameters, **network_overrides(scenario)}
    if initial_cfg["method"] == "endemic":
        t0 = time.perf_counter()
        targets = endemic_targets(scenario)
        initial = None
        if initial_cfg["cache"]:
            key = cache_key(scenario.model, places, parameters, targets,
                            initial_cfg["fallback"])
            initial = load_calibration(cache_path(scenario.name), key, scenario.model,
                                       places, parameters, targets)
        if initial is None:
            initial = endemic_start(scenario.model, places, parameters, targets,
                                    fallback=initial_cfg["fallback"])
        log.info("endemic start: %s for %d places %s (%.2f s)", [t.parameter for t in targets],
                 n, "read from the cache" if initial.cache_file else "fitted",
                 time.perf_counter() - t0)
    else:
        plain = compile_model(scenario.model, n, parameters)
        initial = fraction_start(plain, places, initial_cfg["fractions"], initial_cfg["seeds"])
    overrides = {**parameters, **initial.overrides}
    model = compile_model(scenario.model, n, overrides)
    coupling = Coupling.from_mobility(mobility, places["population"].to_numpy())
    return Prepared(scenario, mobility, initial, model, coupling)


def network_overrides(scenario: Scenario) -> dict:
    """Per-place transmission rates from contact-network calibrations (``[network]``).

    Each entry runs the network ensembles of its network config and replaces the fitted
    parameter for its place; other places keep the scenario's value. Returns arrays of
    shape (P,) in base units.
    """
    entries = scenario.resolved["network"]["places"]
    if not entries:
        return {}
    from .errors import ConfigError
    from .network.config import load_network_config
    from .network.run import calibrate_transmission

    ids = list(scenario.places["id"])
    defaults = {**scenario.model.base_values(), **scenario.parameters}
    out: dict = {}
    for entry in entries:
        table, base_dir = load_network_config(
            resolve_named_file(entry["config"], "configs", scenario.base_dir))
        fitted = calibrate_transmission(table["network"], entry["fit"],
                                        entry["network"] or None, base_dir=base_dir)
        for name, value in fitted.items():
            if name not in defaults:
                raise ConfigError(f"network.places: {entry['config']} fits {name!r}, which is "
                                  f"not a parameter of model {scenario.model.name!r}")
            column = out.setdefault(name, np.full(len(ids), float(defaults[name])))
            column[ids.index(entry["place"])] = value
            log.info("network calibration: %s = %.4g per day in %s (%s, %s fit)", name, value,
                     entry["place"], entry["network"] or "first network", entry["fit"])
    return out


def endemic_targets(scenario: Scenario) -> list[Target]:
    """The calibration targets of a scenario's ``[initial]`` table."""
    return [Target(**t) for t in scenario.resolved["initial"]["targets"]]


def simulate(scenario: Scenario | str | Path, prepared: Prepared | None = None) -> xr.Dataset:
    """Run the scenario's engine and return ``results`` (CF xarray Dataset); write nothing."""
    prepared = prepared or prepare(scenario)
    scenario = prepared.scenario
    times = _output_times(scenario.duration_days, scenario.step_days)
    solver = scenario.resolved["solver"]
    t0 = time.perf_counter()
    trajectory = simulate_deterministic(prepared.model, prepared.initial.state, times,
                                        prepared.coupling, method=solver["method"],
                                        rtol=solver["rtol"], atol=solver["atol"])
    log.info("deterministic engine: %d output times in %.2f s", len(times),
             time.perf_counter() - t0)
    return build_results(scenario, trajectory, prepared.initial)


def run(config: Scenario | str | Path, output_dir: str | Path | None = None, *,
        scheduler: str | None = None, progress=None) -> Run:
    """Validate, then simulate and write ``<output_dir>/<name>-<timestamp>/``.

    Bad input raises before the directory exists. A failure after that leaves the directory
    with ``status: failed`` in ``manifest.json`` and the error in ``run.log``. A stochastic
    engine or a parameter sweep runs through :func:`healthmob.ensemble.run_ensemble`
    (members streamed to ``members/``, ``scheduler`` a dask address, ``progress(done,
    total)`` called per member); Ctrl-C or SIGTERM then leave ``status: interrupted``, which
    :func:`resume` completes.
    """
    with collect_logs() as records:
        scenario = config if isinstance(config, Scenario) else load_scenario(config)
        prepared = prepare(scenario)
    base = Path(output_dir or scenario.resolved["output"]["directory"])
    inputs = scenario.input_files + mobility_inputs(scenario.resolved["mobility"],
                                                    scenario.base_dir)
    if prepared.initial.cache_file is not None:
        inputs.append(prepared.initial.cache_file)
    folder = RunDirectory(base, scenario.name, "run", scenario.seed, inputs, records)
    with folder.recording():
        folder.write_config(scenario.resolved)
        written = write_mobility(prepared.mobility, scenario.places, folder.path)
        for path in written:
            folder.add_output(Path(path).name)
        if is_ensemble(scenario):
            from .ensemble.run import run_ensemble

            folder.manifest.update(config=str(scenario.path) if scenario.path else None,
                                   config_sha256=scenario.sha256)
            results = run_ensemble(prepared, scenario.resolved, folder, scheduler=scheduler,
                                   progress=progress)
        else:
            results = simulate(scenario, prepared)
            write_dataset(results, folder.path / "results.nc")
            folder.add_output("results.nc")
        with_risk = scenario.resolved["risk"]["enabled"] and bool(prepared.mobility.layers)
        if with_risk:
            risk = assess(prepared, results)
            write_dataset(risk, folder.path / "risk.nc")
            folder.add_output("risk.nc")
    if with_risk:
        write_maps(folder)
    return Run(folder.path, results, folder.manifest)


def write_maps(folder: RunDirectory) -> None:
    """Maps, tables and the report of a complete run (their provenance says complete).

    They are rebuilt from the run's files, so a failure here leaves the run complete and
    recorded as ``maps_error`` in the manifest; ``healthmob map``/``report`` retry.
    """
    t0 = time.perf_counter()
    folder.attach_log()
    try:
        written = write_risk_outputs(folder.path)
    except Exception as exc:  # the results are safe; say what failed and go on
        log.exception("maps and report failed; rebuild them with healthmob map/report")
        folder.manifest["maps_error"] = f"{type(exc).__name__}: {exc}"
    else:
        for path in written:
            folder.add_output(Path(path).name)
        log.info("maps and report: %s (%.2f s)", ", ".join(p.name for p in written),
                 time.perf_counter() - t0)
    finally:
        folder.detach_log()
    folder.write_manifest()


def assess(prepared: Prepared, results: xr.Dataset) -> xr.Dataset:
    """The risk stage for a finished simulation (see :mod:`healthmob.risk`)."""
    scenario = prepared.scenario
    cfg = scenario.resolved["risk"]
    population = results["population"].isel(time=0 if cfg["time"] == "start" else -1)
    if "scenario" in population.dims:
        population = population.isel(scenario=0)
    if "member" in population.dims:
        population = population.mean("member")
    state = population.to_numpy()
    t0 = time.perf_counter()
    risk = assess_risk(RiskInputs(scenario.model, prepared.model, state, scenario.places,
                                  prepared.mobility, scenario.name), cfg)
    log.info("risk: %d corridors, %d policies (%.2f s)", int((risk.flow > 0).sum()),
             risk.sizes["policy"], time.perf_counter() - t0)
    arrival = cfg["arrival"]
    if arrival["seed_place"]:
        t0 = time.perf_counter()
        found = arrival_times(prepared.mobility, scenario.places["population"].to_numpy(),
                              arrival, scenario.seed)
        risk["effective_distance_from_seed"] = ("place", found["effective_distance"], {
            "units": "1", "long_name": f"effective distance from {arrival['seed_place']} "
                                       "(Brockmann and Helbing 2013)"})
        risk["arrival_time_simulated"] = ("place", found["arrival_time"], {
            "units": "day", "long_name": f"median days until {arrival['threshold']} infected "
                                         f"people of a new strain seeded in "
                                         f"{arrival['seed_place']} ({arrival['model']} model, "
                                         f"{arrival['members']} stochastic members)"})
        risk["arrival_share_of_members"] = ("place", found["reached"], {
            "units": "1", "long_name": "share of members in which the strain arrived"})
        risk.attrs.update(arrival_seed_place=arrival["seed_place"],
                          arrival_spearman_rho=found["rho"],
                          arrival_spearman_p_value=found["p_value"])
        log.info("arrival times: %d members (%.2f s)", arrival["members"],
                 time.perf_counter() - t0)
    return risk


def is_ensemble(scenario: Scenario) -> bool:
    """True for the stochastic engine or a parameter sweep (run by healthmob.ensemble)."""
    ensemble = scenario.resolved.get("ensemble") or {}
    return scenario.resolved.get("engine") == "stochastic" or bool(ensemble.get("sweep"))


def resume(run_dir: str | Path, *, scheduler: str | None = None, progress=None) -> Run:
    """Complete an interrupted ensemble run, computing only its missing members.

    The config is read again from the path the run recorded and must be unchanged (same
    sha256); the members on disk are also checked against the plan (docs/ensembles.md).
    """
    from .ensemble.run import run_ensemble
    from .errors import RunError

    folder = RunDirectory.reopen(run_dir)
    with folder.recording():
        path = folder.manifest.get("config")
        if not path:
            raise RunError(f"{folder.path}: the manifest does not record the config of an "
                           "ensemble run; nothing to resume")
        scenario = load_scenario(path)
        if scenario.sha256 != folder.manifest.get("config_sha256"):
            raise RunError(f"{folder.path}: cannot resume: {path} changed since the run "
                           "started")
        results = run_ensemble(prepare(scenario), scenario.resolved, folder, resume=True,
                               scheduler=scheduler, progress=progress)
    return Run(folder.path, results, folder.manifest)


def _output_times(duration: float, step: float):
    n = int(np.floor(duration / step + 1e-9))
    times = np.arange(n + 1) * step
    if times[-1] < duration - 1e-9:
        times = np.append(times, duration)
    return times
