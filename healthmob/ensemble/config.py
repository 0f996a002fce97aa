"""The ``[ensemble]`` and ``[cluster]`` config sections, parameter sweeps, and the plan.

Validation collects every problem (``<section>.<key> must be ...; got ...``) and returns it
to :mod:`healthmob.config`, which raises once. No dask here (see :mod:`healthmob.ensemble`).
"""

from __future__ import annotations

import itertools

import numpy as np

from .. import units as _units
from ..checks import fill_defaults
from ..errors import ConfigError, join_problems
from ..schema import UNITS_CF
from .members import ENGINES, EnsemblePlan, integer_state

SWEEP_METHODS = ("grid", "lhs")
EXECUTORS = ("serial", "local", "cluster")
CLUSTER_KINDS = ("slurm", "pbs")
ENSEMBLE_DEFAULTS = {
    "members": 10,
    "executor": "serial",
    "workers": 2,
    "host": "127.0.0.1",
    "step": "1 day",
    "quantiles": [0.05, 0.25, 0.5, 0.75, 0.95],
    "keep_members": False,
    "sweep": {},
}
"""``[ensemble]`` keys and defaults; ``seed`` defaults to the config's top-level ``seed``."""
SWEEP_DEFAULTS = {"method": "grid", "samples": 0, "parameters": {}}
CLUSTER_DEFAULTS = {
    "kind": None,
    "queue": "",
    "account": "",
    "cores": 1,
    "memory": "4GB",
    "walltime": "01:00:00",
    "jobs": 1,
    "host": "127.0.0.1",
    "port": 8786,
    "interface": "",
    "python": "",
    "local_directory": "",
    "log_directory": "",
    "job_extra_directives": [],
    "job_script_prologue": [],
}
"""``[cluster]`` keys and defaults (``kind`` is required when the table is present)."""
LHS_STREAM = 0x1A7E
"""Entropy word that separates the Latin-hypercube stream from every member's stream."""


def validate_ensemble_config(table, where: str = "ensemble", *, section: str | None = None,
                             seed: int | None = None, model=None) -> tuple[dict, list[str]]:
    """Check one ``[ensemble]`` or ``[cluster]`` table and fill its defaults.

    Parameters
    ----------
    table : dict
        The section as parsed from TOML (``{}`` when absent).
    where : str
        Prefix of every problem (the section's name in the file).
    section : {"ensemble", "cluster"}, optional
        Which schema; by default the last dotted part of ``where``.
    seed : int, optional
        Default of ``ensemble.seed`` (the config's top-level seed).
    model : ModelSpec, optional
        When given, sweep parameter names and units are checked against it.

    Returns
    -------
    (dict, list of str)
        The table with every default filled, and the problems found (empty when valid).
        An absent or empty ``[cluster]`` stays ``{}``.
    """
    section = section or where.rsplit(".", 1)[-1]
    if section not in ("ensemble", "cluster"):
        raise ValueError(f"section must be 'ensemble' or 'cluster'; got {section!r}")
    problems: list[str] = []
    if not isinstance(table, dict):
        return {}, [f"{where} must be a table; got {table!r}"]
    if section == "cluster" and not table:
        return {}, []
    defaults = dict(ENSEMBLE_DEFAULTS if section == "ensemble" else CLUSTER_DEFAULTS)
    if section == "ensemble":
        defaults["seed"] = seed if seed is not None else 0
    out = fill_defaults(table, defaults, where, problems)
    if section == "ensemble":
        _check_ensemble(out, where, problems, model)
    else:
        _check_cluster(out, where, problems)
    return out, problems


def _check_ensemble(out: dict, where: str, problems: list[str], model) -> None:
    for key in ("members", "workers"):
        if isinstance(out.get(key), int) and not isinstance(out[key], bool) and out[key] < 1:
            problems.append(f"{where}.{key} must be an integer >= 1; got {out[key]}")
    if isinstance(out.get("seed"), int) and out["seed"] < 0:
        problems.append(f"{where}.seed must be an integer >= 0; got {out['seed']}")
    if out.get("executor") not in EXECUTORS:
        problems.append(f"{where}.executor must be one of {EXECUTORS}; got {out.get('executor')!r}")
    if isinstance(out.get("step"), str):
        try:
            if _units.parse_duration(out["step"]) <= 0:
                problems.append(f"{where}.step must be > 0; got {out['step']!r}")
        except ValueError as exc:
            problems.append(f"{where}.step {exc}")
    quantiles = out.get("quantiles")
    if isinstance(quantiles, list) and not (
            quantiles and all(isinstance(q, (int, float)) and not isinstance(q, bool)
                              and 0 <= q <= 1 for q in quantiles)):
        problems.append(f"{where}.quantiles must be a non-empty array of numbers in [0, 1]; "
                        f"got {quantiles!r}")
    sweep = out.get("sweep")
    if isinstance(sweep, dict) and sweep:
        out["sweep"] = fill_defaults(sweep, SWEEP_DEFAULTS, f"{where}.sweep", problems)
        _check_sweep(out["sweep"], f"{where}.sweep", problems, model)


def _check_sweep(sweep: dict, where: str, problems: list[str], model) -> None:
    method = sweep.get("method")
    if method not in SWEEP_METHODS:
        problems.append(f"{where}.method must be one of {SWEEP_METHODS}; got {method!r}")
        return
    if method == "lhs" and not (isinstance(sweep.get("samples"), int) and sweep["samples"] >= 1):
        problems.append(f"{where}.samples must be an integer >= 1 for method 'lhs'; "
                        f"got {sweep.get('samples')!r}")
    parameters = sweep.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        problems.append(f"{where}.parameters must be a non-empty table of parameter = values")
        return
    for name, entry in parameters.items():
        key = f"{where}.parameters.{name}"
        if model is not None and name not in model.parameters:
            problems.append(f"{key} is not a parameter of model {model.name!r}; "
                            f"valid: {sorted(model.parameters)}")
            continue
        if isinstance(entry, list):
            entry = {"values": entry}
        if not isinstance(entry, dict):
            problems.append(f"{key} must be an array of values or a table; got {entry!r}")
            continue
        valid = {"values", "units"} if method == "grid" else {"min", "max", "units"}
        for extra in sorted(set(entry) - valid):
            problems.append(f"{key}.{extra} is not a known key for method {method!r}; "
                            f"valid keys: {sorted(valid)}")
        numbers = entry.get("values") if method == "grid" else [entry.get("min"),
                                                                entry.get("max")]
        if not (isinstance(numbers, list) and numbers and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
                for v in numbers)):
            what = "values must be a non-empty array" if method == "grid" else \
                "min and max must be"
            problems.append(f"{key}: {what} numbers >= 0; got {entry!r}")
        elif method == "lhs" and not numbers[0] <= numbers[1]:
            problems.append(f"{key}.min must be <= max; got {numbers}")
        units = entry.get("units")
        if units is not None:
            if units not in _units.UNITS:
                problems.append(f"{key}.units must be one of {sorted(_units.UNITS)}; "
                                f"got {units!r}")
            elif model is not None and name in model.parameters and \
                    _units.UNITS[units][1] != model.parameters[name].time_power:
                problems.append(f"{key}.units must be compatible with "
                                f"{model.parameters[name].units!r}; got {units!r}")


def _check_cluster(out: dict, where: str, problems: list[str]) -> None:
    if "kind" in out and out["kind"] not in CLUSTER_KINDS:
        problems.append(f"{where}.kind must be one of {CLUSTER_KINDS}; got {out['kind']!r}")
    for key in ("cores", "jobs"):
        if isinstance(out.get(key), int) and not isinstance(out[key], bool) and out[key] < 1:
            problems.append(f"{where}.{key} must be an integer >= 1; got {out[key]}")
    port = out.get("port")
    if isinstance(port, int) and not 0 <= port <= 65535:
        problems.append(f"{where}.port must be an integer in [0, 65535]; got {port}")
    for key in ("job_extra_directives", "job_script_prologue"):
        if isinstance(out.get(key), list) and not all(isinstance(v, str) for v in out[key]):
            problems.append(f"{where}.{key} must be an array of strings; got {out[key]!r}")
    for key in ("memory", "walltime", "host"):
        if isinstance(out.get(key), str) and not out[key].strip():
            problems.append(f"{where}.{key} must not be empty")


def sweep_scenarios(sweep: dict, spec, seed: int) -> tuple[tuple[dict, ...], dict]:
    """Expand a validated ``[ensemble.sweep]`` into scenarios.

    Grid: the Cartesian product of the listed values (first parameter slowest). Latin
    hypercube: ``samples`` points of ``scipy.stats.qmc.LatinHypercube`` scaled to
    ``[min, max]``, drawn from ``SeedSequence([seed, LHS_STREAM])``, a stream no member uses.

    Returns
    -------
    scenarios : tuple of dict
        Parameter values in base units (per day, days) per scenario; ``({},)`` without a
        sweep.
    labels : dict
        parameter -> (values per scenario in the stated units, CF units) for the
        ``sweep_<parameter>`` coordinates.
    """
    if not sweep or not sweep.get("parameters"):
        return ({},), {}
    _, problems = validate_ensemble_config({"sweep": sweep}, "ensemble", model=spec)
    if problems:
        raise ConfigError(join_problems("ensemble.sweep", problems))
    names, columns, units = [], [], []
    for name, entry in sweep["parameters"].items():
        entry = {"values": entry} if isinstance(entry, list) else entry
        names.append(name)
        units.append(entry.get("units") or spec.parameters[name].units)
        columns.append(entry)
    if sweep["method"] == "grid":
        rows = list(itertools.product(*[c["values"] for c in columns]))
    else:
        from scipy.stats import qmc  # slow to import; only sweeps need it

        rng = np.random.default_rng(np.random.SeedSequence([seed, LHS_STREAM]))
        sample = qmc.LatinHypercube(d=len(names), rng=rng).random(sweep["samples"])
        low = np.array([c["min"] for c in columns], dtype=float)
        high = np.array([c["max"] for c in columns], dtype=float)
        rows = [tuple(r) for r in qmc.scale(sample, low, high)] if np.all(high > low) else \
            [tuple(low + (high - low) * r) for r in sample]
    scenarios = tuple({n: _units.convert(float(v), u)[0] for n, v, u in zip(names, row, units)}
                      for row in rows)
    labels = {n: ([float(row[i]) for row in rows], UNITS_CF.get(u, u))
              for i, (n, u) in enumerate(zip(names, units))}
    return scenarios, labels


def cluster_options(cluster: dict, python: str, for_script: bool) -> dict:
    """Keyword arguments of dask-jobqueue's cluster (or, ``for_script``, job) classes.

    One single-threaded worker process per core (``processes = cores``); the thread
    variables of numpy's BLAS are set to 1 in the job script.
    """
    prologue = [f"export {k}=1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                           "MKL_NUM_THREADS")]
    options = {
        "cores": cluster["cores"], "processes": cluster["cores"], "memory": cluster["memory"],
        "walltime": cluster["walltime"], "python": cluster["python"] or python,
        "job_script_prologue": prologue + list(cluster["job_script_prologue"]),
        "job_extra_directives": list(cluster["job_extra_directives"]),
    }
    for key in ("queue", "account", "local_directory", "log_directory"):
        if cluster[key]:
            options[key] = cluster[key]
    if cluster["interface"]:
        options["interface"] = cluster["interface"]
    if not for_script:
        options["scheduler_options"] = {"port": cluster["port"]}
        if not cluster["interface"]:
            options["scheduler_options"]["host"] = cluster["host"]
    return options


def plan_ensemble(prepared, resolved: dict) -> EnsemblePlan:
    """The plan of a prepared scenario (:class:`healthmob.pipeline.Prepared`).

    Needs ``resolved["ensemble"]`` filled by :func:`validate_ensemble_config`. The
    deterministic engine runs one member per scenario (a sweep without noise).
    """
    from ..results import place_coords

    scenario = prepared.scenario
    ensemble = resolved["ensemble"]
    engine = resolved.get("engine", "stochastic")
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {ENGINES}; got {engine!r}")
    seed = ensemble.get("seed", resolved.get("seed", 0))
    scenarios, sweep_labels = sweep_scenarios(ensemble.get("sweep", {}), scenario.model, seed)
    x0 = prepared.initial.state
    if engine == "stochastic":
        x0 = integer_state(x0)
    solver = resolved.get("solver", {})
    labels = {
        "place_coords": place_coords(scenario.places),
        "start": scenario.start,
        "quantiles": tuple(ensemble["quantiles"]),
        "sweep": sweep_labels,
        "initial_flag": prepared.initial.flag,
        "attrs": {"title": f"healthmob scenario {scenario.name}: {scenario.model.long_name}",
                  "config_sha256": scenario.sha256,
                  "history": f"healthmob run {scenario.path or '<in-memory config>'}"},
    }
    return EnsemblePlan(
        spec=scenario.model, x0=x0, coupling=prepared.coupling,
        times=output_times(scenario.duration_days, scenario.step_days),
        overrides={name: np.array(v) for name, v in prepared.model.values.items()},
        scenarios=scenarios, members=1 if engine == "deterministic" else ensemble["members"],
        seed=seed, engine=engine, dt=_units.parse_duration(ensemble["step"]),
        solver={k: solver[k] for k in ("method", "rtol", "atol") if k in solver},
        labels=labels)


def output_times(duration: float, step: float) -> np.ndarray:
    """0, step, 2 step, ... up to ``duration`` (days), ending exactly at ``duration``."""
    n = int(np.floor(duration / step + 1e-9))
    times = np.arange(n + 1) * step
    if times[-1] < duration - 1e-9:
        times = np.append(times, duration)
    return times
