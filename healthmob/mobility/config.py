"""The ``[mobility]`` table of a run config: keys, defaults and validation.

Constraints are data (:data:`GLOBAL_DEFAULTS`, :data:`LAYER_DEFAULTS`, :data:`CHECKS`) and one
function checks them all, collecting every problem (MetaWards / scikit-learn style). Keys are
documented in ``docs/mobility.md``. Nothing here reads a file; corridor files are only
checked to exist.
"""

from __future__ import annotations

import copy
from pathlib import Path

from ..store.resources import data_dir
from .flow_models import KERNELS
from .matrix import COUPLINGS
from .travel_time import DEFAULT_MODES

WORLD_LAYERS = ("air", "land", "migration")
FLOW_MODELS = ("none", "gravity", "radiation")

GLOBAL_DEFAULTS: dict = {
    "layers": [],
    "corridors": [],
    "effective_distance": True,
    "match": {"tolerance_km": 25.0, "polygons": "auto"},
    "modes": {},
}
MODE_KEYS = ("speed_kmh", "overhead_hours")

#: keys every layer accepts, with the defaults of a layer read from a corridor file.
COMMON_DEFAULTS: dict = {
    "coupling": "visiting",
    "stay_days": 7.0,
    "scale": 1.0,
    "travel_via": [],
}
#: volume model for corridor rows without a volume (corridor-file layers and ``land``).
MODEL_DEFAULTS: dict = {
    "flow_model": "none",
    "kernel": "power",
    "exponent_origin": 1.0,
    "exponent_destination": 1.0,
    "exponent_distance": 2.0,
    "scale_km": 100.0,
}
TOTAL_KEYS = ("total_per_day", "total_per_year", "trips_per_capita_per_day")

LAYER_DEFAULTS: dict = {
    # UNWTO: 10-night mean stay abroad; IATA WATS: ~1.5 bn international passengers a year
    "air": {**COMMON_DEFAULTS, "stay_days": 10.0, "total_per_year": 1.5e9,
            "route_exponent": 1.0, "exponent_origin": 0.0, "exponent_destination": 0.0},
    # UNWTO 2019: ~37 % of 1.5 bn tourist arrivals by road/rail, two crossings per trip
    # closed_borders: no civilian crossing; the Korean DMZ since the 1953 armistice
    "land": {**COMMON_DEFAULTS, **MODEL_DEFAULTS, "stay_days": 3.0, "flow_model": "gravity",
             "kernel": "exponential", "scale_km": 1000.0, "exponent_origin": 0.5,
             "exponent_destination": 0.5, "total_per_year": 1.1e9,
             "closed_borders": ["KOR-PRK"]},
    # Abel & Sander 2014: ~ 4 % of the migrant stock moves in a year
    "migration": {**COMMON_DEFAULTS, "coupling": "relocation", "stay_days": 1.0,
                  "turnover_per_year": 0.04, "travel_via": ["air", "land"]},
}
CORRIDOR_LAYER_DEFAULTS: dict = {**COMMON_DEFAULTS, **MODEL_DEFAULTS}
#: keys a layer accepts without a default (corridor-file layers: any of TOTAL_KEYS).
OPTIONAL_KEYS: dict = {"air": ("total_per_day", "total_per_year"), "land": TOTAL_KEYS,
                       "migration": ()}

# key -> (kind, constraint text, test)
CHECKS: dict = {
    "coupling": ("choice", COUPLINGS),
    "stay_days": ("number", "a number > 0", lambda v: v > 0),
    "scale": ("number", "a number >= 0", lambda v: v >= 0),
    "travel_via": ("strings", None),
    "closed_borders": ("strings", None),
    "flow_model": ("choice", FLOW_MODELS),
    "kernel": ("choice", KERNELS),
    "exponent_origin": ("number", "a number", lambda v: True),
    "exponent_destination": ("number", "a number", lambda v: True),
    "exponent_distance": ("number", "a number >= 0", lambda v: v >= 0),
    "scale_km": ("number", "a number > 0", lambda v: v > 0),
    "total_per_day": ("number", "a number >= 0", lambda v: v >= 0),
    "total_per_year": ("number", "a number >= 0", lambda v: v >= 0),
    "trips_per_capita_per_day": ("number", "a number >= 0", lambda v: v >= 0),
    "route_exponent": ("number", "a number", lambda v: True),
    "turnover_per_year": ("number", "a number in [0, 1]", lambda v: 0 <= v <= 1),
    "speed_kmh": ("number", "a number > 0", lambda v: v > 0),
    "overhead_hours": ("number", "a number >= 0", lambda v: v >= 0),
    "tolerance_km": ("number", "a number >= 0", lambda v: v >= 0),
}


def layer_defaults(name: str) -> dict:
    """Defaults of layer ``name``: a world layer's own, else those of a corridor layer."""
    if name in LAYER_DEFAULTS:
        return copy.deepcopy(LAYER_DEFAULTS[name])
    defaults = copy.deepcopy(CORRIDOR_LAYER_DEFAULTS)
    if name == "migration":
        defaults["coupling"] = "relocation"
    return defaults


def validate_mobility_config(table: dict, where: str = "mobility", *,
                             base_dir: Path | None = None) -> tuple[dict, list[str]]:
    """Fill the defaults of a ``[mobility]`` table and list every problem.

    Parameters
    ----------
    table : dict
        The parsed ``[mobility]`` table (may be empty: no mobility).
    where : str
        Key prefix used in the messages (``"mobility"``).
    base_dir : Path, optional
        Folder that relative corridor paths are resolved against; when given, each corridor
        file is checked to exist (nothing is read).

    Returns
    -------
    resolved : dict
        The table with every default filled in; one sub-table per world layer in ``layers``
        and per layer sub-table given.
    problems : list of str
        ``"<where>.<key> must be <constraint>; got <value>"`` per problem; unknown keys are
        listed with the valid names.
    """
    problems: list[str] = []
    if not isinstance(table, dict):
        return copy.deepcopy(GLOBAL_DEFAULTS), [f"{where} must be a table; got {table!r}"]
    resolved = copy.deepcopy(table)
    for key, default in GLOBAL_DEFAULTS.items():
        resolved.setdefault(key, copy.deepcopy(default))
    layers = resolved["layers"]
    if not _is_strings(layers):
        problems.append(f"{where}.layers must be an array of strings; got {layers!r}")
        layers = resolved["layers"] = []
    for name in layers:
        if name not in WORLD_LAYERS:
            problems.append(f"{where}.layers must name world layers {list(WORLD_LAYERS)}; "
                            f"got {name!r}")
    _check_corridors(resolved["corridors"], where, base_dir, problems)
    if not isinstance(resolved["effective_distance"], bool):
        problems.append(f"{where}.effective_distance must be true or false; "
                        f"got {resolved['effective_distance']!r}")
    _check_table(resolved, "match", GLOBAL_DEFAULTS["match"], where, problems)
    _check_modes(resolved, where, problems)
    for name in [n for n in layers if n in WORLD_LAYERS and not isinstance(resolved.get(n),
                                                                          dict)]:
        if name in resolved:
            problems.append(f"{where}.{name} must be a table; got {resolved[name]!r}")
        resolved[name] = {}
    for name in sorted(set(resolved) - set(GLOBAL_DEFAULTS)):
        if not isinstance(resolved[name], dict):
            problems.append(f"{where}.{name} is not a known key; valid keys: "
                            f"{sorted(GLOBAL_DEFAULTS)} or a layer table such as "
                            f"[{where}.air]")
            continue
        _check_layer(resolved, name, where, problems)
    return resolved, problems


def mobility_inputs(table: dict, base_dir: Path) -> list[Path]:
    """Every file a resolved ``[mobility]`` table makes :func:`build_mobility` read."""
    geo = data_dir("geo")
    files = [geo / f"{name}.csv" for name in table.get("layers", [])]
    if table.get("layers"):
        files.append(geo / "places.csv")
    files += [resolve_path(p, base_dir) for p in table.get("corridors", [])]
    polygons = table.get("match", {}).get("polygons", "auto")
    if polygons not in ("auto", "none", "world"):
        files.append(resolve_path(polygons, base_dir))
    elif polygons != "none" and table.get("corridors"):
        files.append(geo / "countries.gpkg")
    return [f for f in files if f.is_file()]


def resolve_path(value: str | Path, base_dir: Path | None) -> Path:
    """A config path: absolute as given, else relative to ``base_dir`` (the config's folder)."""
    path = Path(value)
    if path.is_absolute() or base_dir is None:
        return path
    return Path(base_dir) / path


def _is_strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_corridors(corridors, where, base_dir, problems) -> None:
    if not _is_strings(corridors):
        problems.append(f"{where}.corridors must be an array of file paths; got {corridors!r}")
        return
    for k, value in enumerate(corridors):
        if base_dir is not None and not resolve_path(value, base_dir).is_file():
            problems.append(f"{where}.corridors[{k}] must be an existing file; got {value!r} "
                            f"(looked in {Path(base_dir)})")


def _check_table(resolved, key, defaults, where, problems) -> None:
    sub = resolved[key]
    if not isinstance(sub, dict):
        problems.append(f"{where}.{key} must be a table; got {sub!r}")
        resolved[key] = copy.deepcopy(defaults)
        return
    for extra in sorted(set(sub) - set(defaults)):
        problems.append(f"{where}.{key}.{extra} is not a known key; valid keys: "
                        f"{sorted(defaults)}")
    for name, default in defaults.items():
        sub.setdefault(name, copy.deepcopy(default))
        _check_value(sub, name, f"{where}.{key}.{name}", problems)
    if key == "match" and not isinstance(sub.get("polygons"), str):
        problems.append(f"{where}.match.polygons must be \"auto\", \"none\" or a file path; "
                        f"got {sub.get('polygons')!r}")


def _check_modes(resolved, where, problems) -> None:
    modes = resolved["modes"]
    if not isinstance(modes, dict):
        problems.append(f"{where}.modes must be a table of modes; got {modes!r}")
        resolved["modes"] = {}
        return
    for mode, sub in modes.items():
        key = f"{where}.modes.{mode}"
        if not isinstance(sub, dict):
            problems.append(f"{key} must be a table with keys {list(MODE_KEYS)}; got {sub!r}")
            continue
        for extra in sorted(set(sub) - set(MODE_KEYS)):
            problems.append(f"{key}.{extra} is not a known key; valid keys: {list(MODE_KEYS)}")
        if mode not in DEFAULT_MODES and "speed_kmh" not in sub:
            problems.append(f"{key}.speed_kmh is required for a mode without defaults "
                            f"(modes with defaults: {sorted(DEFAULT_MODES)})")
        for name, default in DEFAULT_MODES.get(mode, {"overhead_hours": 0.0}).items():
            sub.setdefault(name, default)
        for name in MODE_KEYS:
            if name in sub:
                _check_value(sub, name, f"{key}.{name}", problems)


def _check_layer(resolved, name, where, problems) -> None:
    sub = resolved[name]
    defaults = layer_defaults(name)
    optional = OPTIONAL_KEYS.get(name, TOTAL_KEYS)
    prefix = f"{where}.{name}"
    for extra in sorted(set(sub) - set(defaults) - set(optional)):
        problems.append(f"{prefix}.{extra} is not a known key for layer {name!r}; "
                        f"valid keys: {sorted(set(defaults) | set(optional))}")
    given = [k for k in TOTAL_KEYS if k in sub and k in set(defaults) | set(optional)]
    if len(given) > 1:
        problems.append(f"{prefix} must give at most one of {list(TOTAL_KEYS)}; got {given}")
    for key in given:
        _check_value(sub, key, f"{prefix}.{key}", problems)
    for key, default in defaults.items():
        if key in TOTAL_KEYS and given:
            continue  # the user chose the normalisation
        sub.setdefault(key, copy.deepcopy(default))
        _check_value(sub, key, f"{prefix}.{key}", problems)
    for pair in sub.get("closed_borders", []) if _is_strings(sub.get("closed_borders")) else []:
        if len(pair.split("-")) != 2 or not all(pair.split("-")):
            problems.append(f"{prefix}.closed_borders entries must be 'ID1-ID2' (e.g. "
                            f"'KOR-PRK'); got {pair!r}")


def _check_value(sub: dict, key: str, label: str, problems: list[str]) -> None:
    value = sub[key]
    check = CHECKS.get(key)
    if check is None:
        return
    kind = check[0]
    if kind == "choice":
        if value not in check[1]:
            problems.append(f"{label} must be one of {list(check[1])}; got {value!r}")
    elif kind == "strings":
        if not _is_strings(value):
            problems.append(f"{label} must be an array of strings; got {value!r}")
    else:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or value != value or not check[2](value):
            problems.append(f"{label} must be {check[1]}; got {value!r}")
