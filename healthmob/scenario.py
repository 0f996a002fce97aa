"""Run configurations (``configs/*.toml``): read, check everything, fill every default.

:func:`load_scenario` is the only entry point. It collects every problem in the file and
raises one :class:`~healthmob.errors.ConfigError` naming the file and each key, before any
output exists. Each section is checked by its stage's config module into a typed, frozen
section (:mod:`healthmob.checks`); the :class:`Scenario` holds them. The keys are documented
in ``docs/config.md``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .birthplace.config import BirthplaceConfig, parse_birthplace
from .birthplace.setup import applies
from .calibration.config import HistoryStart, InitialConfig, parse_initial
from .checks import (
    REQUIRED,
    SEED,
    Number,
    OneOf,
    RunName,
    Section,
    Strings,
    Text,
    must_be,
    setting,
    tomlable,
    unknown_key,
)
from .disease.compile import rates_problem
from .disease.overrides import parameter_values
from .disease.parse import load_model
from .disease.spec import ModelSpec
from .engine.config import ENGINES, SolverConfig, TimeConfig
from .ensemble.config import ClusterConfig, EnsembleConfig, parse_cluster, parse_ensemble
from .errors import ConfigError, HealthmobError, ModelSpecError, join_problems
from .history.start import fitted_years, observed_table
from .mobility.config import MobilityConfig, parse_mobility, resolve_path
from .mobility.places import WORLD, load_places
from .network.config import NetworkPlace, parse_network_places
from .risk.config import FocusConfig, RiskConfig, parse_focus, parse_risk
from .risk.costs import CostsConfig, parse_costs
from .store.budget import memory_budget
from .store.resources import data_dir, read_toml
from .surveillance.config import SurveillanceConfig, check_observed

SECTIONS = ("places", "time", "initial", "solver", "output", "parameters", "mobility", "birthplace",
            "ensemble", "cluster", "risk", "focus", "costs", "network", "surveillance")


@dataclass(frozen=True)
class TopLevel(Section):
    """The top-level keys of a run config (besides its sections)."""

    name: str = setting(REQUIRED, RunName())
    description: str = setting("", Text())
    model: str = setting(REQUIRED, Text(nonempty=True))
    parameter_set: str = setting("", Text())
    parameters_file: str = setting("", Text())
    engine: str = setting("deterministic", OneOf(ENGINES))
    seed: int = setting(0, SEED)


@dataclass(frozen=True)
class PlacesConfig(Section):
    """``[places]``: the embedded world (``"world"``) or a places file, optionally a subset."""

    source: str = setting(WORLD, Text(nonempty=True))
    ids: tuple = setting((), Strings())


@dataclass(frozen=True)
class OutputConfig(Section):
    """``[output]``: the folder run directories are created in, and the memory budget."""

    directory: str = setting("runs", Text(nonempty=True))
    memory_gb: float = setting(0.0, Number(low=0))
    """What the run may hold in memory (GB); 0: half of this machine's memory."""


@dataclass(frozen=True)
class Scenario:
    """A checked run configuration with its inputs loaded.

    Attributes
    ----------
    name, description : str
        Run name (used in the run directory's name) and what it is for.
    path : Path or None
        The config file; ``sha256`` its bytes.
    model : str
        The ``model`` key as written (a name or a path); ``spec`` the model it names.
    places : pandas.DataFrame
        Places in engine order.
    parameter_set, parameter_table : str, dict
        ``parameter_set`` and ``[parameters]`` as written; ``parameters`` the overrides in
        base units (per day, days, dimensionless) they give: a number, or an array over the
        places for a parameter given ``by_who_region``.
    engine, seed : str, int
        Which engine; root seed of every random stream of the run.
    places_config, time, solver, output, initial, mobility, ensemble, cluster, risk, focus,
    costs, network, surveillance
        The sections, checked and with every default filled (``cluster`` None without one).
    input_files : tuple of Path
        Every file the config makes the run read (hashed into the manifest).
    """

    name: str
    description: str
    path: Path | None
    sha256: str
    model: str
    spec: ModelSpec
    places: pd.DataFrame
    parameter_set: str
    parameter_table: dict
    parameters: dict
    engine: str
    seed: int
    places_config: PlacesConfig
    time: TimeConfig
    solver: SolverConfig
    output: OutputConfig
    initial: InitialConfig
    mobility: MobilityConfig
    birthplace: BirthplaceConfig
    ensemble: EnsembleConfig
    cluster: ClusterConfig | None
    risk: RiskConfig
    focus: FocusConfig
    costs: CostsConfig
    network: tuple[NetworkPlace, ...]
    surveillance: SurveillanceConfig
    input_files: tuple[Path, ...] = ()

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths in the config are resolved against."""
        return self.path.parent if self.path else Path.cwd()

    @property
    def is_ensemble(self) -> bool:
        """True for the stochastic engine or a parameter sweep (:mod:`healthmob.ensemble`)."""
        return self.engine == "stochastic" or self.ensemble.sweep is not None

    def to_table(self) -> dict:
        """The config as run, every default filled in (the run's ``config.toml``)."""
        table = {"name": self.name, "description": self.description, "model": self.model,
                 "parameter_set": self.parameter_set, "engine": self.engine,
                 "seed": self.seed, "places": self.places_config, "time": self.time,
                 "initial": self.initial, "solver": self.solver, "output": self.output,
                 "parameters": self.parameter_table, "mobility": self.mobility,
                 "birthplace": self.birthplace,
                 "ensemble": self.ensemble, "cluster": self.cluster, "risk": self.risk,
                 "focus": self.focus, "costs": self.costs,
                 "network": {"places": self.network}, "surveillance": self.surveillance}
        return tomlable(table)


def load_scenario(source: str | Path) -> Scenario:
    """Read and check a config file (a path, or the name of a shipped config)."""
    path, table, raw = read_toml(source, "configs", ConfigError, what="config file")
    if not table:
        raise ConfigError(f"{path}: the config is empty; it needs at least name and model")
    return parse_scenario(table, path=path, sha256=hashlib.sha256(raw).hexdigest())


def parse_scenario(table: dict, path: Path | None = None, sha256: str = "") -> Scenario:
    """Check a parsed config table (see :func:`load_scenario`)."""
    base = path.parent if path else Path.cwd()
    problems: list[str] = []
    keys = TopLevel.keys()
    for extra in sorted(set(table) - set(keys) - set(SECTIONS)):
        problems.append(unknown_key(extra, (*keys, *SECTIONS)))
    top = TopLevel.from_table({k: v for k, v in table.items() if k in keys}, "", problems)
    spec, inputs = _model(top.model, base, problems)
    places_config = PlacesConfig.from_table(table.get("places", {}), "places", problems)
    places, source = _places(places_config, base, problems)
    sections = dict(
        time=TimeConfig.from_table(table.get("time", {}), "time", problems),
        solver=SolverConfig.from_table(table.get("solver", {}), "solver", problems),
        output=OutputConfig.from_table(table.get("output", {}), "output", problems),
        initial=parse_initial(table.get("initial", {}), spec, places, problems),
        mobility=parse_mobility(table.get("mobility", {}), "mobility", problems,
                                base_dir=base),
        birthplace=parse_birthplace(
            table.get("birthplace", {}), "birthplace", problems,
            None if places is None else set(places["id"]),
            None if places is None else set(places.columns)),
        ensemble=parse_ensemble(table.get("ensemble", {}), spec, top.seed or 0, problems,
                                top.engine),
        cluster=parse_cluster(table.get("cluster", {}), problems),
        risk=parse_risk(table.get("risk", {}), spec, problems),
        focus=parse_focus(table.get("focus", {}),
                          None if places is None else list(places["id"]), problems),
        costs=parse_costs(table.get("costs", {}), problems),
        network=parse_network_places(table.get("network", {}), places, base, problems),
        surveillance=SurveillanceConfig.from_table(table.get("surveillance", {}),
                                                   "surveillance", problems))
    if spec is not None:
        _check_categories(sections["mobility"], spec, problems)
    if spec is not None and places is not None and not problems:
        _check_size(sections, spec, len(places), problems)
    if places is not None:
        _check_arrival(sections["risk"].arrival, list(places["id"]), base, problems)
        sections["risk"] = _check_programmes(sections["risk"], table.get("risk", {}), places,
                                             problems)
    if isinstance(sections["initial"], HistoryStart):
        _check_history(sections["initial"], sections["time"], top.engine, sections["ensemble"],
                       base, problems)
    if sections["surveillance"].observed and spec is not None and places is not None:
        _check_surveillance(sections, top.engine, spec,
                            dict(zip(places["id"], places["population"])), base, problems)
    parameter_table, parameter_file = _parameter_table(table.get("parameters", {}),
                                                       top.parameters_file, base, problems)
    parameters = {}
    if spec is not None:
        regions = (None if places is None or "who_region" not in places.columns
                   else places["who_region"].fillna("").astype(str).tolist())
        parameters = parameter_values(spec, top.parameter_set or "", parameter_table,
                                      "parameters", problems, regions=regions)
        if not problems and (problem := rates_problem(spec, parameters)):
            problems.append(f"parameters: {problem}")
    if problems:
        raise ConfigError(join_problems(str(path) if path else "<config>", problems))
    files = ([path] if path else []) + inputs + ([source] if source else [])
    files += [parameter_file] if parameter_file else []
    return Scenario(
        name=top.name, description=top.description, path=path, sha256=sha256,
        model=top.model, spec=spec, places=places, parameter_set=top.parameter_set,
        parameter_table=parameter_table, parameters=parameters, engine=top.engine,
        seed=top.seed, places_config=places_config, input_files=tuple(files), **sections)


def _check_arrival(arrival, ids: list[str], base: Path, problems: list[str]) -> None:
    """``[risk.arrival]``: its seed place is a place of the run and its model loads."""
    if not arrival.seed_place:
        return
    if arrival.seed_place not in ids:
        problems.append(must_be("risk.arrival.seed_place", "a place id of the run",
                                arrival.seed_place))
    try:
        load_model(arrival.model, base)
    except ModelSpecError as exc:
        problems.append(f"risk.arrival.model: {exc}")


def _check_size(sections: dict, spec: ModelSpec, n_places: int, problems: list[str]) -> None:
    """What the run will hold in memory, against the budget (:mod:`healthmob.store.budget`):
    the trajectory (output times x places x compartments). The risk stage's arrays grow
    with the corridors, not with places squared (:mod:`healthmob.risk.kernel`)."""
    time = sections["time"]
    times = time.duration_days / time.step_days + 2
    trajectory = times * n_places * len(spec.compartments) * 8.0
    budget = memory_budget(sections["output"].memory_gb)
    if trajectory > budget:
        problems.append(
            f"the run would hold about {trajectory / 1e9:,.1f} GB ({times:,.0f} output "
            f"times x {n_places:,} places x {len(spec.compartments)} compartments), more "
            f"than the memory budget of {budget / 1e9:,.1f} GB (output.memory_gb; default "
            "half of this machine's memory): take a longer time.step, fewer places, "
            "or raise output.memory_gb")


def _check_programmes(risk: RiskConfig, table, places: pd.DataFrame,
                      problems: list[str]) -> RiskConfig:
    """A policy with an origin incidence threshold needs the places' WHO TB incidence: one
    the config names is an error without it; a built-in one compared by default is left
    out."""
    if not risk.enabled or "tb_incidence_per_100k" in places.columns:
        return risk
    named = set(table.get("compare", ()) if isinstance(table, dict) else ()) | {risk.policy}
    needs = {name for name in risk.compare if name in risk.programmes
             and risk.programmes[name].min_origin_incidence > 0}
    for name in sorted(needs & named):
        problems.append(f"risk.compare: policy {name!r} screens origins by TB incidence "
                        "but the places table has no tb_incidence_per_100k column")
    return dataclasses.replace(risk, compare=tuple(n for n in risk.compare if n not in needs))


def _parameter_table(own: dict, file: str, base: Path, problems: list[str]
                     ) -> tuple[dict, Path | None]:
    """``[parameters]`` with the ``[parameters]`` of ``parameters_file`` under it (the
    config's own values win), and that file (e.g. ``healthmob surveil --fit``'s
    ``fitted_parameters.toml``; relative to the config's folder)."""
    if not file:
        return own, None
    path = Path(file) if Path(file).is_absolute() else base / file
    try:
        loaded = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"parameters_file: cannot read {path}: {exc.strerror or exc}")
        return own, None
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"parameters_file: {path} is not valid TOML: {exc}")
        return own, None
    extra = sorted(set(loaded) - {"parameters"})
    if extra or not isinstance(loaded.get("parameters", {}), dict):
        problems.append(f"parameters_file: {path} must hold one [parameters] table; got "
                        f"{extra or type(loaded.get('parameters')).__name__}")
        return own, None
    return {**loaded.get("parameters", {}), **own}, path


def _check_categories(mobility: MobilityConfig, spec: ModelSpec, problems: list[str]) -> None:
    """Each layer's ``category`` is a traveller category of the model, when the model has
    any (a model without ``[selection]`` moves random samples on every layer)."""
    if not spec.selection:
        return
    for name in dict.fromkeys([*mobility.layers, *mobility.layer_settings]):
        category = mobility.layer(name).category
        if category is not None and category not in spec.selection:
            problems.append(must_be(f"mobility.{name}.category", "a traveller category of "
                                    f"model {spec.name!r} {sorted(spec.selection)}", category))


def _check_history(start: HistoryStart, time: TimeConfig, engine: str, ensemble,
                   base: Path, problems: list[str]) -> None:
    """A history start runs the deterministic engine; its observed series is readable and
    begins no later than the start year."""
    if engine == "stochastic" or ensemble.sweep is not None:
        problems.append("initial.method = \"history\" runs the deterministic engine only; "
                        "ensembles (engine = \"stochastic\" or a sweep) need method = "
                        "\"endemic\" or \"fractions\"")
    if not isinstance(time.start, dt.date):
        return
    try:
        path, table = observed_table(start, base)
        fitted_years(start, table, time.start.year, path)
    except HealthmobError as exc:
        problems.append(str(exc))


def _check_surveillance(sections: dict, engine: str, spec: ModelSpec,
                        places: dict[str, float], base: Path, problems: list[str]) -> None:
    """[surveillance] needs a deterministic TB run that keeps its birthplace account, and an
    observed table that fits its places and years."""
    if engine != "deterministic" or sections["ensemble"].sweep is not None:
        problems.append("surveillance: a surveillance stage compares one deterministic run; "
                        "remove [surveillance] or the stochastic engine / sweep")
    elif "tb_notifications" not in spec.tallies:
        problems.append(f"surveillance: the model {spec.name!r} counts no tb_notifications")
    elif not applies(sections["birthplace"], sections["mobility"]):
        problems.append("surveillance: needs the birthplace account (the migration layer "
                        "and [birthplace] enabled)")
    else:
        problem = check_observed(sections["surveillance"].observed, places,
                                 sections["birthplace"].band_labels(), sections["time"].start,
                                 sections["time"].duration_days, base)
        if problem:
            problems.append(f"surveillance.observed: {problem}")


def _model(name, base: Path, problems: list[str]) -> tuple[ModelSpec | None, list[Path]]:
    if not isinstance(name, str):
        return None, []
    try:
        spec = load_model(name, base)
    except HealthmobError as exc:
        problems.append(f"model: {exc}")
        return None, []
    return spec, list(spec.files)


def _places(cfg: PlacesConfig, base: Path, problems: list[str]):
    if cfg.source is None:
        return None, None
    source = data_dir("geo") / "places.csv" if cfg.source == WORLD \
        else resolve_path(cfg.source, base)
    try:
        return load_places(source, list(cfg.ids) or None), source
    except HealthmobError as exc:
        problems.append(f"places: {exc}")
        return None, None
