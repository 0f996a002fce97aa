"""The ``[mobility]`` section of a run config: world layers, corridor files, modes, layers.

Checked once, here, into a :class:`MobilityConfig` that :func:`healthmob.mobility.build.
build_mobility` reads. Every key's constraint is data (the :func:`~healthmob.checks.setting`
fields below); the defaults of each kind of layer are :data:`LAYER_DEFAULTS`. Keys are
documented in ``docs/mobility.md``. Nothing here reads a file; corridor files are only
checked to exist.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from ..checks import (
    REQUIRED,
    Flag,
    Number,
    OneOf,
    Section,
    Strings,
    Table,
    Text,
    check_table,
    label,
    must_be,
    setting,
    unknown_key,
)
from ..errors import ConfigError, join_problems
from ..store.resources import data_dir
from .flow_models import KERNELS
from .matrix import COUPLINGS
from .travel_time import DEFAULT_MODES

WORLD_LAYERS = ("air", "land", "migration", "return")
REFERENCE_YEARS = (2010, 2022)
"""First and last year a world run can take its travel counts from (``geo/tourism.csv``)."""
RETURN_GROUPS = ("gulf", "settlement", "europe", "other")
FLOW_MODELS = ("none", "gravity", "radiation")
TOTAL_KEYS = ("total_per_day", "total_per_year", "trips_per_capita_per_day")
POSITIVE, NON_NEGATIVE = Number(low=0, low_open=True), Number(low=0)


@dataclass(frozen=True)
class LayerConfig(Section):
    """``[mobility.<layer>]``: how one layer's volumes are made and how it couples places.

    Every key of every kind of layer is a field; a key that a kind of layer does not take
    is None (see :data:`LAYER_DEFAULTS` for which keys each kind takes, with their defaults).
    """

    coupling: str = setting(None, OneOf(COUPLINGS))
    stay_days: float = setting(None, POSITIVE)
    scale: float = setting(None, NON_NEGATIVE)
    travel_via: tuple = setting(None, Strings())
    flow_model: str | None = setting(None, OneOf(FLOW_MODELS))
    kernel: str | None = setting(None, OneOf(KERNELS))
    exponent_origin: float | None = setting(None, Number())
    exponent_destination: float | None = setting(None, Number())
    exponent_distance: float | None = setting(None, NON_NEGATIVE)
    scale_km: float | None = setting(None, POSITIVE)
    total_per_day: float | None = setting(None, NON_NEGATIVE)
    total_per_year: float | None = setting(None, NON_NEGATIVE)
    trips_per_capita_per_day: float | None = setting(None, NON_NEGATIVE)
    connection_weight: float | None = setting(None, NON_NEGATIVE)
    closed_borders: tuple | None = setting(None, Strings())
    permeability: dict | None = setting(None, Table())
    residual_per_day: float | None = setting(None, NON_NEGATIVE)
    return_rate_per_year: dict | None = setting(None, Table())
    death_rate_per_year: float | None = setting(None, Number(0, 1))
    category: str | None = setting(None, Text(nonempty=True))
    """Who travels: a traveller category of the model's ``[selection]`` (docs/model-spec.md)."""

    def normalisation(self) -> tuple[str, float] | None:
        """The total the modelled volumes are scaled to: (key, value), or None."""
        for key in TOTAL_KEYS:
            if getattr(self, key) is not None:
                return key, getattr(self, key)
        return None


_COMMON = {"coupling": "visiting", "stay_days": 7.0, "scale": 1.0, "travel_via": (),
           "category": "visitor"}
_MODEL = {"flow_model": "none", "kernel": "power", "exponent_origin": 1.0,
          "exponent_destination": 1.0, "exponent_distance": 2.0, "scale_km": 100.0}
_RELOCATION = {**_COMMON, "coupling": "relocation", "stay_days": 1.0,
               "travel_via": ("air", "land"), "category": "settlement"}
LAYER_DEFAULTS: dict[str, dict] = {
    # fitted to UN Tourism arrivals by air; a one-stop itinerary weighs as a direct route;
    # NTTO: overseas visitors stayed 16.9 nights in the USA in 2019, 10 days as a round mean
    "air": {**_COMMON, "stay_days": 10.0, "connection_weight": 1.0},
    # gravity weights within the fit to UN Tourism land arrivals; 10 persons a day across a
    # restricted border (geo/MOBILITY.md)
    "land": {**_COMMON, **_MODEL, "stay_days": 3.0, "flow_model": "gravity",
             "kernel": "exponential", "scale_km": 1000.0, "exponent_origin": 0.5,
             "exponent_destination": 0.5, "closed_borders": (), "permeability": {},
             "residual_per_day": 10.0},
    # UN DESA stock changes plus replacement of those who die or return (geo/MOBILITY.md)
    "migration": {**_RELOCATION, "return_rate_per_year": {},
                  "death_rate_per_year": 0.0076},
    # returns of the migration layer's stocks to their country of birth: who leaves is the
    # foreign-born as they are (healthmob.birthplace), not a traveller category
    "return": {k: v for k, v in _RELOCATION.items() if k != "category"},
    "corridor": {**_COMMON, **_MODEL},
}
"""Keys and defaults of each kind of layer: the four world layers, and a layer read from a
corridor file (``corridor``)."""
RETURN_RATES = {"gulf": 0.2, "settlement": 0.01, "europe": 0.05, "other": 0.05}
"""Default ``[mobility.migration.return_rate_per_year]``: returns per year per migrant of
the stock, by destination group (``healthmob.mobility.migration_flows``)."""
OPTIONAL_KEYS = {"air": (), "land": (), "migration": (), "return": (),
                 "corridor": TOTAL_KEYS}
"""Keys a kind of layer takes without a default (the user chooses the normalisation)."""


def layer_kind(name: str) -> str:
    """``air``, ``land`` or ``migration`` for the layers named so, else ``corridor``."""
    return name if name in WORLD_LAYERS else "corridor"


def parse_layer(table, name: str, where: str, problems: list[str]) -> LayerConfig:
    """Check a ``[mobility.<name>]`` table (``{}`` for the defaults) against its kind."""
    kind = layer_kind(name)
    constraints = {key: c for key, (_, c) in LayerConfig.keys().items()}
    defaults = dict(LAYER_DEFAULTS[kind])
    takes = (*LAYER_DEFAULTS[kind], *OPTIONAL_KEYS[kind])
    given = [k for k in TOTAL_KEYS if isinstance(table, dict) and k in table and k in takes]
    if given:
        defaults = {k: v for k, v in defaults.items() if k not in TOTAL_KEYS}
    keys = {k: (defaults.get(k), constraints[k])
            for k in (*LAYER_DEFAULTS[kind], *OPTIONAL_KEYS[kind])}
    values = check_table(table, keys, where, problems)
    if len(given) > 1:
        problems.append(f"{where} must give at most one of {list(TOTAL_KEYS)}; got {given}")
    for pair in values.get("closed_borders") or ():
        _check_pair(pair, f"{where}.closed_borders entries", problems)
    for pair, value in (values.get("permeability") or {}).items():
        _check_pair(pair, f"{where}.permeability keys", problems)
        if not Number(0, 1).accepts(value):
            problems.append(must_be(f"{where}.permeability.{pair}", Number(0, 1).text, value))
    if "return_rate_per_year" in values:
        rates = dict(RETURN_RATES)
        for group, value in (values["return_rate_per_year"] or {}).items():
            if group not in RETURN_GROUPS:
                problems.append(unknown_key(label(f"{where}.return_rate_per_year", group),
                                            RETURN_GROUPS, "destination group"))
            elif not Number(0, 1).accepts(value):
                problems.append(must_be(f"{where}.return_rate_per_year.{group}",
                                        Number(0, 1).text, value))
            else:
                rates[group] = float(value)
        values["return_rate_per_year"] = rates
    return LayerConfig(**values)


def _check_pair(pair: str, where: str, problems: list[str]) -> None:
    if len(pair.split("-")) != 2 or not all(pair.split("-")):
        problems.append(must_be(where, "'ID1-ID2' (e.g. 'KOR-PRK')", pair))


def pair_ids(config: "MobilityConfig") -> list[tuple[str, str]]:
    """(where, place id) of every id named by ``closed_borders`` and ``permeability``."""
    out = []
    for name, cfg in config.layer_settings.items():
        for key in ("closed_borders", "permeability"):
            for pair in getattr(cfg, key) or ():
                out += [(f"mobility.{name}.{key}", pid) for pid in pair.split("-") if pid]
    return out


@dataclass(frozen=True)
class MatchConfig(Section):
    """``[mobility.match]``: how corridor ends without a place id find their place."""

    tolerance_km: float = setting(25.0, NON_NEGATIVE)
    polygons: str = setting("auto", Text())


@dataclass(frozen=True)
class ModeConfig(Section):
    """``[mobility.modes.<mode>]``: a mode's speed and its fixed time per journey."""

    speed_kmh: float = setting(REQUIRED, POSITIVE)
    overhead_hours: float = setting(0.0, NON_NEGATIVE)


def default_modes() -> dict[str, ModeConfig]:
    """The built-in modes (:data:`healthmob.mobility.travel_time.DEFAULT_MODES`)."""
    return {mode: ModeConfig(**values) for mode, values in DEFAULT_MODES.items()}


@dataclass(frozen=True)
class MobilityConfig(Section):
    """``[mobility]``: world layers, corridor files and the settings of every layer."""

    layers: tuple = setting((), Strings())
    corridors: tuple = setting((), Strings())
    reference_year: int = setting(2019, Number(*REFERENCE_YEARS, integer=True))
    margins: str = setting("", Text())
    """A user CSV of travel totals (``iso3``, ``arrivals_air``, ``arrivals_land``,
    ``departures``; persons a year) replacing UN Tourism's; empty for none."""
    visa_required: float = setting(0.4, Number(0, 1))
    """Factor on the air and land weights of a pair whose travellers need a visa (Neumayer
    2010: visa requirements lower bilateral travel by 52-63 %)."""
    visa_on_arrival: float = setting(0.7, Number(0, 1))
    """Factor for a visa on arrival, eTA or e-visa (Cantillo 2023: about half the penalty of
    a visa)."""
    effective_distance: bool = setting(True, Flag())
    match: MatchConfig = setting({}, Table())
    modes: dict = setting({}, Table())
    """Modes configured by the user (name -> ModeConfig); :meth:`all_modes` adds the rest."""
    layer_settings: dict = dataclasses.field(default_factory=dict)
    """Layer name -> LayerConfig, for every world layer used and every layer table given."""

    def all_modes(self) -> dict[str, ModeConfig]:
        """Every mode a corridor may use: the built-in ones, then the configured ones."""
        return {**default_modes(), **self.modes}

    def layer(self, name: str) -> LayerConfig:
        """The settings of layer ``name``: as configured, else its kind's defaults."""
        return self.layer_settings.get(name) or parse_layer({}, name, f"mobility.{name}", [])

    def to_table(self) -> dict:
        table = super().to_table()
        table.update({name: cfg.to_table() for name, cfg in self.layer_settings.items()})
        return table


def parse_mobility(table, where: str, problems: list[str], *,
                   base_dir: Path | None = None) -> MobilityConfig:
    """Check a ``[mobility]`` table (``{}``: no mobility) and fill its defaults.

    ``base_dir`` is the folder relative corridor paths are resolved against; when given,
    each corridor file is checked to exist (nothing is read). Sub-tables that are not
    ``match`` or ``modes`` are layer tables (``[mobility.air]``, ``[mobility.road]``...).
    """
    table = table if isinstance(table, dict) else (
        problems.append(must_be(where, "a table", table)) or {})
    names = set(MobilityConfig.keys())
    layer_tables = {k: v for k, v in table.items() if k not in names and isinstance(v, dict)}
    for key in sorted(set(table) - names - set(layer_tables)):
        problems.append(f"{unknown_key(label(where, key), names)} or a layer table such as "
                        f"[{where}.air]")
    own = {k: v for k, v in table.items() if k in names}
    config = MobilityConfig.from_table(own, where, problems)
    for i, name in enumerate(config.layers):
        if name not in WORLD_LAYERS:
            problems.append(must_be(f"{where}.layers[{i}]", OneOf(WORLD_LAYERS).text, name))
    files = [(f"{where}.corridors[{k}]", v) for k, v in enumerate(config.corridors)]
    if config.margins:
        files.append((f"{where}.margins", config.margins))
    for key, value in files:
        if base_dir is not None and not resolve_path(value, base_dir).is_file():
            problems.append(must_be(key, f"an existing file (looked in {Path(base_dir)})",
                                    value))
    match = MatchConfig.from_table(config.match, f"{where}.match", problems)
    modes = {mode: _parse_mode(sub, mode, f"{where}.modes.{mode}", problems)
             for mode, sub in config.modes.items()}
    settings = {name: parse_layer(layer_tables.get(name, {}), name, f"{where}.{name}",
                                  problems)
                for name in dict.fromkeys([*config.layers, *layer_tables])}
    config = dataclasses.replace(config, match=match, modes=modes, layer_settings=settings)
    if config.layers:
        known = world_place_ids()
        for key, pid in pair_ids(config):
            if pid not in known:
                problems.append(f"{key}: {pid!r} is not a place id of the world (ISO3 codes "
                                f"of geo/places.csv such as 'IND', 'PAK')")
    return config


def world_place_ids() -> set[str]:
    """Place ids of the embedded world (``geo/places.csv``, first column)."""
    path = data_dir("geo") / "places.csv"
    with path.open(encoding="utf-8") as handle:
        next(handle)
        return {line.split(",", 1)[0] for line in handle if line.strip()}


def _parse_mode(table, mode: str, where: str, problems: list[str]) -> ModeConfig:
    default = DEFAULT_MODES.get(mode, {})
    keys = {key: (default.get(key, fallback), constraint) for key, (fallback, constraint)
            in ModeConfig.keys().items()}
    if not default and isinstance(table, dict) and "speed_kmh" not in table:
        problems.append(f"{where}.speed_kmh is required for a mode without defaults "
                        f"(modes with defaults: {sorted(DEFAULT_MODES)})")
        table = {**table, "speed_kmh": 1.0}
    return ModeConfig(**check_table(table, keys, where, problems))


def mobility_config(table: dict, base_dir: Path | None = None) -> MobilityConfig:
    """:func:`parse_mobility` for Python callers: raises one ConfigError listing every
    problem."""
    problems: list[str] = []
    config = parse_mobility(table or {}, "mobility", problems, base_dir=base_dir)
    if problems:
        raise ConfigError(join_problems("mobility", problems))
    return config


def mobility_inputs(config: MobilityConfig, base_dir: Path) -> list[Path]:
    """Every file :func:`build_mobility` reads for ``config`` (hashed into the manifest)."""
    geo = data_dir("geo")
    tables = {"air": ("air", "land", "tourism", "visas"),
              "land": ("air", "land", "tourism", "visas"),
              "migration": ("migration",), "return": ("migration",)}
    names = dict.fromkeys(t for layer in config.layers for t in tables[layer])
    files = [geo / f"{name}.csv" for name in names]
    if config.layers:
        files.append(geo / "places.csv")
    if config.margins:
        files.append(resolve_path(config.margins, base_dir))
    files += [resolve_path(p, base_dir) for p in config.corridors]
    polygons = config.match.polygons
    if polygons not in ("auto", "none", "world"):
        files.append(resolve_path(polygons, base_dir))
    elif polygons != "none" and config.corridors:
        files.append(geo / "countries.gpkg")
    return [f for f in files if f.is_file()]


def resolve_path(value: str | Path, base_dir: Path | None) -> Path:
    """A config path: absolute as given, else relative to ``base_dir`` (the config's folder)."""
    path = Path(value)
    if path.is_absolute() or base_dir is None:
        return path
    return Path(base_dir) / path
