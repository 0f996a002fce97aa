"""The ``[network]`` config section: network ensembles and their mean-field calibration.

:func:`validate_network_config` fills every default and collects every problem, each naming
its key (``network.members must be an integer >= 1; got 0``); unknown keys are reported with
the valid names. Keys: docs/networks.md.
"""

from __future__ import annotations

import copy
from pathlib import Path

from .. import units as _units
from ..checks import fill_defaults, is_number, parameter_values
from ..disease.spec import ModelSpec, load_model
from ..errors import ConfigError, HealthmobError, join_problems
from ..store.resources import read_toml
from .generators import NETWORK_TYPES

CONTACT_SCALINGS = ("mean_degree", "none")
EXECUTORS = ("serial", "local")
FITS = ("growth", "final_size")
NETWORK_DEFAULTS = {
    "model": None,
    "parameter_set": "",
    "parameters": {},
    "n_nodes": 1000,
    "members": 10,
    "seed": 0,
    "max_time": "100 days",
    "step": "1 day",
    "initial_infected": 10,
    "initial_compartment": "",
    "contact_scaling": "mean_degree",
    "growth_window": [0.02, 0.1],
    "executor": "serial",
    "workers": 2,
    "host": "127.0.0.1",
    "scheduler": "",
    "networks": {"erdos_renyi": {"type": "erdos_renyi"}},
}
"""``[network]`` keys and defaults (``model`` is required)."""
FILE_KEYS = {"name", "description", "network"}
"""Top-level keys of a standalone network config file."""


def validate_network_config(table, where: str = "network", *,
                            base_dir: Path | None = None) -> tuple[dict, list[str]]:
    """Check a ``[network]`` table and fill its defaults.

    Parameters
    ----------
    table : dict
        The section as parsed from TOML.
    where : str
        Prefix of every problem (the section's name in the file).
    base_dir : Path, optional
        Folder that a model path is resolved against (the config's folder).

    Returns
    -------
    (dict, list of str)
        The table with every default filled (each network with its type's defaults), and
        the problems found (empty when valid).
    """
    if not isinstance(table, dict):
        return {}, [f"{where} must be a table; got {table!r}"]
    problems: list[str] = []
    out = fill_defaults(table, NETWORK_DEFAULTS, where, problems)
    _check_numbers(out, where, problems)
    spec = None
    if isinstance(out.get("model"), str):
        try:
            spec = load_model(out["model"], base_dir)
        except HealthmobError as exc:
            problems.append(f"{where}.model: {exc}")
    elif "model" in out:
        problems.append(f"{where}.model must be a model name or path; got {out['model']!r}")
    if spec is not None:
        _check_model_keys(out, spec, where, problems)
    out["networks"] = _check_networks(out["networks"], where, problems)
    return out, problems


def load_network_config(path: str | Path) -> tuple[dict, Path]:
    """Read and validate a standalone network config file (``name``, ``description``,
    ``[network]``); returns the file's table with ``network`` resolved, and its folder.

    Raises
    ------
    ConfigError
        Naming the file and every problem.
    """
    path, table, _ = read_toml(path, "configs", ConfigError, what="config file")
    problems = [f"{extra} is not a known key; valid keys: {sorted(FILE_KEYS)}"
                for extra in sorted(set(table) - FILE_KEYS)]
    if "network" not in table:
        problems.append("network must be a table (the [network] section)")
    resolved, found = validate_network_config(table.get("network", {}), "network",
                                              base_dir=path.parent)
    problems += found
    if problems:
        raise ConfigError(join_problems(str(path), problems))
    return {**table, "network": resolved}, path.parent


def parameter_overrides(resolved: dict, spec: ModelSpec) -> dict[str, float]:
    """Parameter values in base units: the parameter set's, then ``parameters``."""
    problems: list[str] = []
    values = parameter_values(spec, resolved.get("parameter_set") or "",
                              resolved.get("parameters", {}), "network.parameters", problems)
    if problems:
        raise ConfigError(join_problems("network", problems))
    return values


def _check_numbers(out: dict, where: str, problems: list[str]) -> None:
    for key, low in (("n_nodes", 2), ("members", 1), ("workers", 1), ("seed", 0),
                     ("initial_infected", 1)):
        if isinstance(out[key], int) and out[key] < low:
            problems.append(f"{where}.{key} must be an integer >= {low}; got {out[key]}")
    if isinstance(out["initial_infected"], int) and isinstance(out["n_nodes"], int) \
            and out["initial_infected"] >= out["n_nodes"]:
        problems.append(f"{where}.initial_infected must be < n_nodes ({out['n_nodes']}); "
                        f"got {out['initial_infected']}")
    days = {}
    for key in ("max_time", "step"):
        try:
            days[key] = _units.parse_duration(out[key])
            if days[key] <= 0:
                problems.append(f"{where}.{key} must be > 0; got {out[key]!r}")
        except ValueError as exc:
            problems.append(f"{where}.{key} {exc}")
    if len(days) == 2 and days["step"] > days["max_time"]:
        problems.append(f"{where}.step must be <= max_time ({out['max_time']!r}); "
                        f"got {out['step']!r}")
    for key, allowed in (("contact_scaling", CONTACT_SCALINGS), ("executor", EXECUTORS)):
        if out[key] not in allowed:
            problems.append(f"{where}.{key} must be one of {list(allowed)}; got {out[key]!r}")
    window = out["growth_window"]
    if not (len(window) == 2 and all(is_number(v) for v in window)
            and 0 < window[0] < window[1] <= 1):
        problems.append(f"{where}.growth_window must be [low, high] shares of n_nodes with "
                        f"0 < low < high <= 1; got {window!r}")


def _check_model_keys(out: dict, spec: ModelSpec, where: str, problems: list[str]) -> None:
    if out["parameter_set"] and out["parameter_set"] not in spec.parameter_sets:
        problems.append(f"{where}.parameter_set must be one of {sorted(spec.parameter_sets)} "
                        f"(model {spec.name!r}); got {out['parameter_set']!r}")
    parameter_values(spec, "", out["parameters"], f"{where}.parameters", problems)
    if out["initial_compartment"] and out["initial_compartment"] not in spec.compartment_ids:
        problems.append(f"{where}.initial_compartment must be a compartment of model "
                        f"{spec.name!r} {list(spec.compartment_ids)}; "
                        f"got {out['initial_compartment']!r}")
    if not spec.infections:
        problems.append(f"{where}.model must have an infection to spread on a network; "
                        f"model {spec.name!r} has none")
    if spec.births is not None and not spec.births.replace_deaths:
        problems.append(f"{where}.model: births at a per-capita rate need new nodes, which "
                        f"the network engine does not add; model {spec.name!r} must use "
                        "births.replace_deaths = true")


def _check_networks(networks: dict, where: str, problems: list[str]) -> dict:
    if not networks:
        problems.append(f"{where}.networks must name at least one network, e.g. "
                        "[network.networks.er] with type = 'erdos_renyi'")
    out = {}
    for name, item in networks.items():
        key = f"{where}.networks.{name}"
        if not isinstance(item, dict):
            problems.append(f"{key} must be a table with type and parameters; got {item!r}")
            continue
        kind = item.get("type")
        if kind not in NETWORK_TYPES:
            problems.append(f"{key}.type must be one of {sorted(NETWORK_TYPES)}; got {kind!r}")
            continue
        defaults = NETWORK_TYPES[kind]
        for extra in sorted(set(item) - set(defaults) - {"type"}):
            problems.append(f"{key}.{extra} is not a parameter of type {kind!r}; valid keys: "
                            f"{sorted(set(defaults) | {'type'})}")
        filled = {"type": kind, **copy.deepcopy(defaults)}
        for param, default in defaults.items():
            value = item.get(param, default)
            integer = isinstance(default, int)
            if not is_number(value) or (integer and not isinstance(value, int)):
                kind_name = "an integer" if integer else "a number"
                problems.append(f"{key}.{param} must be {kind_name}; got {value!r}")
                continue
            filled[param] = value
        _check_network_values(filled, key, problems)
        out[name] = filled
    return out


def _check_network_values(net: dict, key: str, problems: list[str]) -> None:
    positive = {"erdos_renyi": ("mean_degree",), "configuration": ("exponent",),
                "household": ("household_size",)}[net["type"]]
    for param in positive:
        if is_number(net[param]) and not net[param] > 0:
            problems.append(f"{key}.{param} must be > 0; got {net[param]!r}")
    if net["type"] == "household":
        if is_number(net["household_size"]) and net["household_size"] < 1:
            problems.append(f"{key}.household_size must be >= 1; got {net['household_size']!r}")
        if is_number(net["community_degree"]) and net["community_degree"] < 0:
            problems.append(f"{key}.community_degree must be >= 0; "
                            f"got {net['community_degree']!r}")
    if net["type"] == "configuration":
        if is_number(net["cutoff"]) and net["cutoff"] < 0:
            problems.append(f"{key}.cutoff must be >= 0 (0: no exponential cut-off); "
                            f"got {net['cutoff']!r}")
        k_min, k_max = net["k_min"], net["k_max"]
        if isinstance(k_min, int) and k_min < 1:
            problems.append(f"{key}.k_min must be an integer >= 1; got {k_min!r}")
        if isinstance(k_max, int) and isinstance(k_min, int) and 0 < k_max < k_min:
            problems.append(f"{key}.k_max must be 0 (no limit) or >= k_min ({k_min}); "
                            f"got {k_max!r}")
