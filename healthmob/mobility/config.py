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

WORLD_LAYERS = ("air", "land", "migration")
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
    route_exponent: float | None = setting(None, Number())
    closed_borders: tuple | None = setting(None, Strings())
    turnover_per_year: float | None = setting(None, Number(0, 1))

    def normalisation(self) -> tuple[str, float] | None:
        """The total the modelled volumes are scaled to: (key, value), or None."""
        for key in TOTAL_KEYS:
            if getattr(self, key) is not None:
                return key, getattr(self, key)
        return None


_COMMON = {"coupling": "visiting", "stay_days": 7.0, "scale": 1.0, "travel_via": ()}
_MODEL = {"flow_model": "none", "kernel": "power", "exponent_origin": 1.0,
          "exponent_destination": 1.0, "exponent_distance": 2.0, "scale_km": 100.0}
LAYER_DEFAULTS: dict[str, dict] = {
    # UNWTO: 10-night mean stay abroad; IATA WATS: ~1.5 bn international passengers a year
    "air": {**_COMMON, "stay_days": 10.0, "total_per_year": 1.5e9,
            "route_exponent": 1.0, "exponent_origin": 0.0, "exponent_destination": 0.0},
    # UNWTO 2019: ~37 % of 1.5 bn tourist arrivals by road/rail, two crossings per trip
    # closed_borders: no civilian crossing; the Korean DMZ since the 1953 armistice
    "land": {**_COMMON, **_MODEL, "stay_days": 3.0, "flow_model": "gravity",
             "kernel": "exponential", "scale_km": 1000.0, "exponent_origin": 0.5,
             "exponent_destination": 0.5, "total_per_year": 1.1e9,
             "closed_borders": ("KOR-PRK",)},
    # Abel & Sander 2014: ~ 4 % of the migrant stock moves in a year
    "migration": {**_COMMON, "coupling": "relocation", "stay_days": 1.0,
                  "turnover_per_year": 0.04, "travel_via": ("air", "land")},
    "corridor": {**_COMMON, **_MODEL},
}
"""Keys and defaults of each kind of layer: the three world layers, and a layer read from a
corridor file (``corridor``)."""
OPTIONAL_KEYS = {"air": ("total_per_day", "total_per_year"), "land": TOTAL_KEYS,
                 "migration": (), "corridor": TOTAL_KEYS}
"""Keys a kind of layer takes without a default (the user chooses the normalisation)."""


def layer_kind(name: str) -> str:
    """``air``, ``land`` or ``migration`` for the layers named so, else ``corridor``."""
    return name if name in WORLD_LAYERS else "corridor"


def parse_layer(table, name: str, where: str, problems: list[str]) -> LayerConfig:
    """Check a ``[mobility.<name>]`` table (``{}`` for the defaults) against its kind."""
    kind = layer_kind(name)
    constraints = {key: c for key, (_, c) in LayerConfig.keys().items()}
    defaults = dict(LAYER_DEFAULTS[kind])
    given = [k for k in TOTAL_KEYS if isinstance(table, dict) and k in table]
    if given:
        defaults = {k: v for k, v in defaults.items() if k not in TOTAL_KEYS}
    keys = {k: (defaults.get(k), constraints[k])
            for k in (*LAYER_DEFAULTS[kind], *OPTIONAL_KEYS[kind])}
    values = check_table(table, keys, where, problems)
    if len(given) > 1:
        problems.append(f"{where} must give at most one of {list(TOTAL_KEYS)}; got {given}")
    for pair in values.get("closed_borders") or ():
        if len(pair.split("-")) != 2 or not all(pair.split("-")):
            problems.append(must_be(f"{where}.closed_borders entries",
                                    "'ID1-ID2' (e.g. 'KOR-PRK')", pair))
    return LayerConfig(**values)


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
    for k, value in enumerate(config.corridors):
        if base_dir is not None and not resolve_path(value, base_dir).is_file():
            problems.append(must_be(f"{where}.corridors[{k}]", f"an existing file (looked in "
                                    f"{Path(base_dir)})", value))
    match = MatchConfig.from_table(config.match, f"{where}.match", problems)
    modes = {mode: _parse_mode(sub, mode, f"{where}.modes.{mode}", problems)
             for mode, sub in config.modes.items()}
    settings = {name: parse_layer(layer_tables.get(name, {}), name, f"{where}.{name}",
                                  problems)
                for name in dict.fromkeys([*config.layers, *layer_tables])}
    return dataclasses.replace(config, match=match, modes=modes, layer_settings=settings)


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
    files = [geo / f"{name}.csv" for name in config.layers]
    if config.layers:
        files.append(geo / "places.csv")
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
