"""The ``[network]`` sections: network ensembles, and places that take a network's rate.

A network config (``configs/network-sir.toml``: ``name``, ``description``, ``[network]``)
is checked into a :class:`NetworkConfig`; a run config's ``[network] places = [...]`` into
:class:`NetworkPlace` entries. Keys and defaults are the fields below and
:data:`NETWORK_KEYS` (docs/networks.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..checks import (
    REQUIRED,
    SEED,
    Duration,
    Number,
    Numbers,
    OneOf,
    RunName,
    Section,
    Table,
    Tables,
    Text,
    check_table,
    must_be,
    report_unknown,
    setting,
)
from ..disease.overrides import parameter_values
from ..disease.parse import load_model
from ..disease.spec import ModelSpec
from ..errors import ConfigError, HealthmobError, join_problems
from ..store.budget import memory_budget
from ..store.resources import read_toml, resolve_named_file
from ..units import parse_duration
from .generators import NETWORK_TYPES

CONTACT_SCALINGS = ("mean_degree", "none")
"""How per-contact rates follow the degree (:func:`healthmob.network.fit.per_contact_rates`);
here, not in the fit, so that reading a config imports no scipy.integrate or optimize."""

EXECUTORS = ("serial", "local")
FITS = ("growth", "final_size")
FILE_KEYS = ("name", "description", "network")
"""Top-level keys of a standalone network config file."""
POSITIVE = Number(low=0, low_open=True)
NETWORK_KEYS = {
    "mean_degree": POSITIVE, "exponent": POSITIVE, "cutoff": Number(low=0),
    "k_min": Number(low=1, integer=True), "k_max": Number(low=0, integer=True),
    "household_size": Number(low=1), "community_degree": Number(low=0),
}
"""What each network parameter must be; their defaults by type are
:data:`healthmob.network.generators.NETWORK_TYPES`."""


@dataclass(frozen=True)
class NetworkConfig(Section):
    """``[network]``: a model on contact networks, their members, and the executor."""

    model: str = setting(REQUIRED, Text(nonempty=True))
    parameter_set: str = setting("", Text())
    parameters: dict = setting({}, Table())
    n_nodes: int = setting(1000, Number(low=2, integer=True))
    members: int = setting(10, Number(low=1, integer=True))
    seed: int = setting(0, SEED)
    max_time: str = setting("100 days", Duration())
    step: str = setting("1 day", Duration())
    initial_infected: int = setting(10, Number(low=1, integer=True))
    initial_compartment: str = setting("", Text())
    contact_scaling: str = setting("mean_degree", OneOf(CONTACT_SCALINGS))
    growth_window: tuple = setting((0.02, 0.1), Numbers(Number(0, 1)))
    executor: str = setting("serial", OneOf(EXECUTORS))
    workers: int = setting(2, Number(low=1, integer=True))
    host: str = setting("127.0.0.1", Text(nonempty=True))
    scheduler: str = setting("", Text())
    networks: dict = setting({"erdos_renyi": {"type": "erdos_renyi"}}, Table())
    """Network name -> ``{type, parameters}``, each type's defaults filled."""
    spec: ModelSpec | None = None
    """The model, loaded (derived, not a key)."""
    overrides: dict = dataclasses.field(default_factory=dict)
    """Parameter values in base units from ``parameter_set`` and ``parameters`` (derived)."""


def parse_network(table, where: str, problems: list[str], *,
                  base_dir: Path | None = None) -> NetworkConfig:
    """Check a ``[network]`` table (its model read from ``base_dir`` first)."""
    cfg = NetworkConfig.from_table(table, where, problems)
    found = len(problems)
    _check_sizes(cfg, where, problems)
    spec, overrides = None, {}
    if cfg.model is not None:
        try:
            spec = load_model(cfg.model, base_dir)
        except HealthmobError as exc:
            problems.append(f"{where}.model: {exc}")
    if spec is not None:
        overrides = parameter_values(spec, cfg.parameter_set, cfg.parameters,
                                     f"{where}.parameters", problems,
                                     set_key=f"{where}.parameter_set")
        _check_model(cfg, spec, where, problems)
    networks = {name: _network(item, f"{where}.networks.{name}", problems)
                for name, item in cfg.networks.items()}
    for name, net in networks.items():
        _check_degrees(net, cfg.n_nodes, f"{where}.networks.{name}", problems)
    if not networks and len(problems) == found:
        problems.append(f"{where}.networks must name at least one network, e.g. "
                        "[network.networks.er] with type = 'erdos_renyi'")
    return dataclasses.replace(cfg, networks=networks, spec=spec, overrides=overrides)


def network_config(table, base_dir: Path | None = None, where: str = "network"):
    """:func:`parse_network` raising one ConfigError with every problem."""
    if isinstance(table, NetworkConfig):
        return table
    problems: list[str] = []
    cfg = parse_network(table, where, problems, base_dir=base_dir)
    if problems:
        raise ConfigError(join_problems(where, problems))
    return cfg


def load_network_config(path: str | Path) -> tuple[str, NetworkConfig, Path]:
    """Read a standalone network config file (``name``, ``description``, ``[network]``).

    Returns
    -------
    (str, NetworkConfig, Path)
        The config's name (``network`` when it has none), its checked ``[network]``, and the
        file's folder.

    Raises
    ------
    ConfigError
        Naming the file and every problem.
    """
    path, table, _ = read_toml(path, "configs", ConfigError, what="config file")
    problems: list[str] = []
    report_unknown(table, FILE_KEYS, "", problems)
    if "network" not in table:
        problems.append(must_be("network", "a table (the [network] section)", None))
    cfg = parse_network(table.get("network", {}), "network", problems, base_dir=path.parent)
    name = table.get("name", "network")
    if not RunName().accepts(name):
        problems.append(must_be("name", RunName.text, name))
    if problems:
        raise ConfigError(join_problems(str(path), problems))
    return name, cfg, path.parent


def _check_sizes(cfg: NetworkConfig, where: str, problems: list[str]) -> None:
    if cfg.initial_infected is not None and cfg.n_nodes is not None \
            and cfg.initial_infected >= cfg.n_nodes:
        problems.append(must_be(f"{where}.initial_infected", f"< n_nodes ({cfg.n_nodes})",
                                cfg.initial_infected))
    if Duration().accepts(cfg.step) and Duration().accepts(cfg.max_time):
        if parse_duration(cfg.step) > parse_duration(cfg.max_time):
            problems.append(must_be(f"{where}.step", f"<= max_time ({cfg.max_time!r})",
                                    cfg.step))
    low, high = (cfg.growth_window + (None, None))[:2]
    if low is not None and high is not None and not (0 < low < high <= 1):
        problems.append(must_be(f"{where}.growth_window", "[low, high] shares of n_nodes with "
                                "0 < low < high <= 1", list(cfg.growth_window)))


def _check_model(cfg: NetworkConfig, spec: ModelSpec, where: str, problems: list[str]) -> None:
    if cfg.initial_compartment and cfg.initial_compartment not in spec.compartment_ids:
        problems.append(must_be(f"{where}.initial_compartment", f"a compartment of model "
                                f"{spec.name!r} {list(spec.compartment_ids)}",
                                cfg.initial_compartment))
    if not spec.infections:
        problems.append(f"{where}.model must have an infection to spread on a network; "
                        f"model {spec.name!r} has none")
    if spec.births is not None and not spec.births.replace_deaths:
        problems.append(f"{where}.model: births at a per-capita rate need new nodes, which "
                        f"the network engine does not add; model {spec.name!r} must use "
                        "births.replace_deaths = true")


EDGE_BYTES = 1000.0
"""Memory of one edge of an epydemic (networkx) graph with its attributes, about 1 kB."""


def _check_degrees(net: dict, n_nodes, key: str, problems: list[str]) -> None:
    """Degrees that fit the network's size, and a graph that fits the memory budget."""
    if not isinstance(n_nodes, int) or n_nodes < 2:
        return
    for name in ("mean_degree", "k_min", "community_degree"):
        value = net.get(name)
        if isinstance(value, (int, float)) and value > n_nodes - 1:
            problems.append(must_be(f"{key}.{name}", f"<= n_nodes - 1 ({n_nodes - 1})", value))
    size = net.get("household_size")
    if isinstance(size, (int, float)) and size > n_nodes:
        problems.append(must_be(f"{key}.household_size", f"<= n_nodes ({n_nodes})", size))
    degree = max((v for k, v in net.items() if k in ("mean_degree", "k_min", "cutoff",
                                                      "community_degree", "household_size")
                  and isinstance(v, (int, float))), default=1.0)
    need, budget = n_nodes * degree / 2 * EDGE_BYTES, memory_budget(0.0)
    if need > budget:
        problems.append(f"{key}: a graph of {n_nodes:,} nodes and mean degree about "
                        f"{degree:g} needs about {need / 1e9:,.1f} GB, more than the memory "
                        f"budget of {budget / 1e9:,.1f} GB (half of this machine's memory)")


def _network(item, key: str, problems: list[str]) -> dict:
    """One network's type and parameters, its type's defaults filled."""
    if not isinstance(item, dict):
        problems.append(must_be(key, "a table with type and parameters", item))
        return {}
    kind = item.get("type")
    if kind not in NETWORK_TYPES:
        problems.append(must_be(f"{key}.type", OneOf(tuple(sorted(NETWORK_TYPES))).text, kind))
        return {}
    keys = {"type": (kind, OneOf((kind,)))}
    keys.update({name: (default, NETWORK_KEYS[name])
                 for name, default in NETWORK_TYPES[kind].items()})
    net = check_table(item, keys, key, problems)
    if kind == "configuration" and isinstance(net["k_min"], int) \
            and isinstance(net["k_max"], int) and 0 < net["k_max"] < net["k_min"]:
        problems.append(must_be(f"{key}.k_max", f"0 (no limit) or >= k_min ({net['k_min']})",
                                net["k_max"]))
    return net


@dataclass(frozen=True)
class NetworkPlace(Section):
    """One entry of a run config's ``[network] places``: ``place`` takes its transmission
    rate from the ``fit`` of ``network`` (default: the first) in network config ``config``."""

    place: str = setting(REQUIRED, Text(nonempty=True))
    config: str = setting(REQUIRED, Text(nonempty=True))
    network: str = setting("", Text())
    fit: str = setting("growth", OneOf(FITS))


def parse_network_places(table, places: pd.DataFrame | None, base: Path,
                         problems: list[str]) -> tuple[NetworkPlace, ...]:
    """Check a run config's ``[network]`` (the single key ``places``)."""
    if not isinstance(table, dict) or set(table) - {"places"}:
        problems.append(must_be("network", "a table with the single key 'places'", table))
        return ()
    entries = check_table(table, {"places": ((), Tables())}, "network", problems)["places"]
    out = []
    for i, entry in enumerate(entries):
        key = f"network.places[{i}]"
        place = NetworkPlace.from_table(entry, key, problems)
        if places is not None and place.place not in set(places["id"]):
            problems.append(must_be(f"{key}.place", "a place id", place.place))
        if place.config and not resolve_named_file(place.config, "configs", base).is_file():
            problems.append(f"{key}.config: network config file not found: {place.config!r}")
        out.append(place)
    return tuple(out)
