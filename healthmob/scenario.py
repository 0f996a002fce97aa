"""Run configurations (``configs/*.toml``): read, validate everything, fill every default.

:func:`load_scenario` is the only entry point. It collects every problem in the file and
raises one :class:`~healthmob.errors.ConfigError` naming the file and each key, before any
output exists. The keys are documented in ``docs/config.md``.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import units as _units
from .checks import fill_defaults, parameter_values, same_type
from .disease.spec import ModelSpec, load_model
from .ensemble.config import validate_ensemble_config
from .errors import ConfigError, HealthmobError, join_problems
from .mobility.build import validate_mobility_config
from .mobility.places import WORLD, load_places
from .risk.assess import validate_risk_config
from .store.resources import data_dir, read_toml, resolve_named_file

ENGINES = ("deterministic", "stochastic")
INITIAL_METHODS = ("endemic", "fractions")

# section -> key -> default (None: required). Types are checked against the default's type.
DEFAULTS: dict = {
    "": {"name": None, "description": "", "model": None, "parameter_set": "",
         "engine": "deterministic", "seed": 0},
    "places": {"source": WORLD, "ids": []},
    "time": {"start": dt.date(2022, 1, 1), "duration": "1 year", "step": "1 day"},
    "initial": {"method": "fractions"},
    "solver": {"method": "RK45", "rtol": 1e-6, "atol": 1e-6},
    "output": {"directory": "runs"},
}
INITIAL_DEFAULTS = {
    "endemic": {"targets": [{"observable": "tb_incidence", "column": "tb_incidence_per_100k",
                             "parameter": "beta"}],
                "fallback": "subregion", "cache": True},
    "fractions": {"fractions": {}, "seeds": []},
}
SOLVER_METHODS = ("RK45", "RK23", "DOP853", "LSODA", "Radau", "BDF")
SECTIONS = set(DEFAULTS) - {""} | {"parameters", "mobility", "ensemble", "cluster", "risk",
                                   "network"}
NETWORK_PLACE_KEYS = {"place": None, "config": None, "network": "", "fit": "growth"}


@dataclass(frozen=True)
class Scenario:
    """A validated run configuration with its inputs loaded.

    Attributes
    ----------
    name : str
        Run name (used in the run directory's name).
    path : Path or None
        The config file.
    resolved : dict
        The config with every default filled in (written as the run's ``config.toml``).
    model : ModelSpec
        The disease model.
    places : pandas.DataFrame
        Places in engine order.
    parameters : dict of str to float
        Parameter overrides in base units (per day, days, dimensionless).
    input_files : list of Path
        Every file the run reads (hashed into the manifest).
    """

    name: str
    path: Path | None
    resolved: dict
    model: ModelSpec
    places: pd.DataFrame
    parameters: dict
    input_files: list = field(default_factory=list)
    sha256: str = ""

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths in the config are resolved against."""
        return self.path.parent if self.path else Path.cwd()

    @property
    def start(self) -> dt.date:
        """Calendar date of day 0."""
        return self.resolved["time"]["start"]

    @property
    def duration_days(self) -> float:
        """Length of the simulation (days)."""
        return _units.parse_duration(self.resolved["time"]["duration"])

    @property
    def step_days(self) -> float:
        """Output interval (days)."""
        return _units.parse_duration(self.resolved["time"]["step"])

    @property
    def seed(self) -> int:
        """Root seed of every random stream of the run."""
        return self.resolved["seed"]


def load_scenario(source: str | Path) -> Scenario:
    """Read and validate a config file (a path, or the name of a shipped config)."""
    path, table, raw = read_toml(source, "configs", ConfigError, what="config file")
    if not table:
        raise ConfigError(f"{path}: the config is empty; it needs at least name and model")
    return parse_scenario(table, path=path, sha256=hashlib.sha256(raw).hexdigest())


def parse_scenario(table: dict, path: Path | None = None, sha256: str = "") -> Scenario:
    """Validate a parsed config table (see :func:`load_scenario`)."""
    where = str(path) if path else "<config>"
    base = path.parent if path else Path.cwd()
    problems: list[str] = []
    resolved = _fill(table, problems)
    model = places = None
    inputs = [path] if path else []
    if isinstance(resolved.get("model"), str):
        try:
            model = load_model(resolved["model"], base)
            inputs += model.files
        except HealthmobError as exc:
            problems.append(f"model: {exc}")
    source = resolved["places"]["source"]
    if isinstance(source, str):
        source_path = data_dir("geo") / "places.csv" if source == WORLD else _resolve(source, base)
        try:
            places = load_places(source_path, resolved["places"]["ids"] or None)
            inputs.append(source_path)
        except HealthmobError as exc:
            problems.append(f"places: {exc}")
    for key in ("duration", "step"):
        try:
            if _units.parse_duration(resolved["time"][key]) <= 0:
                problems.append(f"time.{key} must be > 0; got {resolved['time'][key]!r}")
        except ValueError as exc:
            problems.append(f"time.{key} {exc}")
    mobility, mobility_problems = validate_mobility_config(resolved.get("mobility", {}),
                                                           "mobility", base_dir=base)
    resolved["mobility"] = mobility
    problems += mobility_problems
    for section in ("ensemble", "cluster"):
        table_, found = validate_ensemble_config(
            resolved.get(section, {}), section, section=section,
            seed=resolved["seed"] if isinstance(resolved.get("seed"), int) else 0, model=model)
        resolved[section] = table_
        problems += found
    resolved["risk"], found = validate_risk_config(resolved.get("risk", {}), model)
    problems += found
    parameters = {}
    if model is not None:
        parameters = parameter_values(model, resolved.get("parameter_set") or "",
                                      resolved.get("parameters", {}), "parameters", problems)
    _check_initial(resolved["initial"], model, places, problems)
    resolved["network"] = _check_network_places(resolved.get("network", {}), model, places,
                                                base, problems)
    if problems:
        raise ConfigError(join_problems(where, problems))
    return Scenario(resolved["name"], path, resolved, model, places, parameters, inputs, sha256)


def _fill(table: dict, problems: list[str]) -> dict:
    resolved = copy.deepcopy(table)
    for extra in sorted(set(table) - set(DEFAULTS[""]) - SECTIONS):
        problems.append(f"{extra} is not a known key; valid keys: "
                        f"{sorted(set(DEFAULTS['']) | SECTIONS)}")
    for section, defaults in DEFAULTS.items():
        target = resolved if section == "" else resolved.setdefault(section, {})
        prefix = f"{section}." if section else ""
        if not isinstance(target, dict):
            problems.append(f"{section} must be a table; got {target!r}")
            resolved[section] = target = {}
        if section and section != "initial":
            for extra in sorted(set(target) - set(defaults)):
                problems.append(f"{prefix}{extra} is not a known key; valid keys: "
                                f"{sorted(defaults)}")
        for key, default in defaults.items():
            if key not in target:
                if default is None:
                    problems.append(f"{prefix}{key} is required")
                    continue
                target[key] = copy.deepcopy(default)
            elif default is not None and not same_type(target[key], default):
                problems.append(f"{prefix}{key} must be of type {type(default).__name__}; "
                                f"got {target[key]!r}")
            elif default is None and not isinstance(target[key], str):
                problems.append(f"{prefix}{key} must be a string; got {target[key]!r}")
    if isinstance(resolved.get("seed"), int) and resolved["seed"] < 0:
        problems.append(f"seed must be an integer >= 0; got {resolved['seed']}")
    if resolved.get("engine") not in ENGINES:
        problems.append(f"engine must be one of {ENGINES}; got {resolved.get('engine')!r}")
    solver = resolved["solver"]
    if solver.get("method") not in SOLVER_METHODS:
        problems.append(f"solver.method must be one of {SOLVER_METHODS}; "
                        f"got {solver.get('method')!r}")
    for key in ("rtol", "atol"):
        if same_type(solver.get(key), 1.0) and not solver[key] > 0:
            problems.append(f"solver.{key} must be > 0; got {solver[key]!r}")
    ids = resolved["places"].get("ids")
    if isinstance(ids, list) and not all(isinstance(i, str) for i in ids):
        problems.append(f"places.ids must be an array of strings; got {ids!r}")
    return resolved


def _resolve(value: str, base: Path) -> Path:
    path = Path(value)
    return path if path.is_absolute() else (base / path)


def _check_network_places(table, model, places, base: Path, problems: list[str]) -> dict:
    """``[network] places = [{ place, config, network, fit }]``: places whose transmission
    rate comes from a contact-network calibration (docs/networks.md)."""
    if not isinstance(table, dict) or set(table) - {"places"}:
        problems.append(f"network must be a table with the single key 'places'; got {table!r}")
        return {"places": []}
    entries = table.get("places", [])
    out = []
    for i, entry in enumerate(entries if isinstance(entries, list) else [None]):
        key = f"network.places[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{key} must be a table {{place, config, network, fit}}")
            continue
        filled = fill_defaults(entry, NETWORK_PLACE_KEYS, key, problems)
        if places is not None and filled.get("place") not in set(places["id"]):
            problems.append(f"{key}.place must be a place id; got {filled.get('place')!r}")
        if isinstance(filled.get("config"), str) and not resolve_named_file(
                filled["config"], "configs", base).is_file():
            problems.append(f"{key}.config: network config file not found: "
                            f"{filled['config']!r}")
        if filled.get("fit") not in ("growth", "final_size"):
            problems.append(f"{key}.fit must be 'growth' or 'final_size'; "
                            f"got {filled.get('fit')!r}")
        out.append(filled)
    return {"places": out}


def _check_initial(initial: dict, model, places, problems: list[str]) -> None:
    method = initial.get("method")
    if method not in INITIAL_METHODS:
        problems.append(f"initial.method must be one of {INITIAL_METHODS}; got {method!r}")
        return
    found = len(problems)
    initial.update(fill_defaults({k: v for k, v in initial.items() if k != "method"},
                                 INITIAL_DEFAULTS[method], "initial", problems))
    if len(problems) > found:
        return
    if model is None:
        return
    compartments = set(model.compartment_ids)
    if method == "endemic":
        for i, target in enumerate(initial["targets"]):
            key = f"initial.targets[{i}]"
            if not isinstance(target, dict) or len({"column", "value"} & set(target)) != 1 \
                    or set(target) - {"column", "value"} != {"observable", "parameter"}:
                problems.append(f"{key} must be a table with observable, parameter and one of "
                                f"column or value; got {target!r}")
                continue
            if "value" in target and not (isinstance(target["value"], (int, float))
                                          and not isinstance(target["value"], bool)):
                problems.append(f"{key}.value must be a number; got {target['value']!r}")
            observables = sorted(model.tallies) + sorted(model.outputs)
            if target["observable"] not in observables:
                problems.append(f"{key}.observable must be a tally or output of model "
                                f"{model.name!r} {observables}; got {target['observable']!r}")
            if target["parameter"] not in model.parameters:
                problems.append(f"{key}.parameter must be a parameter of model "
                                f"{model.name!r}; got {target['parameter']!r}")
            if places is not None and "column" in target \
                    and target["column"] not in places.columns:
                problems.append(f"{key}.column must be a column of the places table "
                                f"{list(places.columns)}; got {target['column']!r}")
        if not initial["targets"]:
            problems.append("initial.targets must list at least one target")
        return
    fractions = initial["fractions"]
    for cid, share in fractions.items():
        if cid not in compartments:
            problems.append(f"initial.fractions.{cid} is not a compartment of model "
                            f"{model.name!r}; compartments: {list(model.compartment_ids)}")
        elif not isinstance(share, (int, float)) or not 0 <= share <= 1:
            problems.append(f"initial.fractions.{cid} must be a number in [0, 1]; got {share!r}")
    if fractions and abs(sum(v for v in fractions.values() if isinstance(v, (int, float)))
                         - 1.0) > 1e-9:
        problems.append(f"initial.fractions must sum to 1; got {sum(fractions.values())}")
    if not fractions:
        problems.append("initial.fractions must give the share of each compartment, "
                        f"e.g. {{ {model.compartment_ids[0]} = 1.0 }}")
    ids = set(places["id"]) if places is not None else set()
    for i, seed in enumerate(initial["seeds"]):
        key = f"initial.seeds[{i}]"
        if not isinstance(seed, dict):
            problems.append(f"{key} must be a table {{place, compartment, count}}")
            continue
        for extra in sorted(set(seed) - {"place", "compartment", "count", "from"}):
            problems.append(f"{key}.{extra} is not a known key; valid keys: "
                            "['compartment', 'count', 'from', 'place']")
        if places is not None and seed.get("place") not in ids:
            problems.append(f"{key}.place must be a place id; got {seed.get('place')!r}")
        for ckey in ("compartment", "from"):
            if ckey in seed or ckey == "compartment":
                if seed.get(ckey) not in compartments:
                    problems.append(f"{key}.{ckey} must be a compartment "
                                    f"{list(model.compartment_ids)}; got {seed.get(ckey)!r}")
        count = seed.get("count")
        if not isinstance(count, (int, float)) or isinstance(count, bool) or count < 0:
            problems.append(f"{key}.count must be a number >= 0; got {count!r}")
