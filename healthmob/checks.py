"""Checks shared by every config section: types against defaults, and parameter overrides.

Each check appends ``"<key> must be <constraint>; got <value>"`` messages to a problem list so
that callers report every problem at once.
"""

from __future__ import annotations

import copy
import datetime as dt

from . import units as _units
from .disease.spec import ModelSpec


def is_number(value) -> bool:
    """True for an int or float that is not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def same_type(value, default) -> bool:
    """Whether ``value`` has the type of ``default`` (an int passes for a float; a date is
    not a datetime)."""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return is_number(value)
    if isinstance(default, dt.date):
        return isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    return isinstance(value, type(default))


def fill_defaults(table: dict, defaults: dict, where: str, problems: list[str]) -> dict:
    """Copy of ``table`` with ``defaults`` filled in; unknown keys, missing required keys
    (default None) and wrong types are reported (a wrong value is replaced by its default)."""
    out = copy.deepcopy(table)
    for extra in sorted(set(table) - set(defaults)):
        problems.append(f"{where}.{extra} is not a known key; valid keys: {sorted(defaults)}")
    for key, default in defaults.items():
        if key not in out:
            if default is None:
                problems.append(f"{where}.{key} is required")
            else:
                out[key] = copy.deepcopy(default)
        elif default is not None and not same_type(out[key], default):
            problems.append(f"{where}.{key} must be of type {type(default).__name__}; "
                            f"got {out[key]!r}")
            out[key] = copy.deepcopy(default)
    return out


def parameter_values(spec: ModelSpec, parameter_set: str, table, where: str,
                     problems: list[str]) -> dict:
    """Parameter overrides in base units: a named parameter set, then ``table``.

    ``table`` maps names to a number in the declared units or to ``{value, units}`` with
    any compatible unit of :data:`healthmob.units.UNITS`.
    """
    values = {}
    if parameter_set:
        if parameter_set not in spec.parameter_sets:
            problems.append(f"{where.rsplit('.', 1)[0] + '.' if '.' in where else ''}"
                            f"parameter_set must be one of {sorted(spec.parameter_sets)} "
                            f"(model {spec.name!r}); got {parameter_set!r}")
        else:
            defaults = spec.base_values()
            values = {name: value for name, value in spec.base_values(parameter_set).items()
                      if value != defaults[name]}
    if not isinstance(table, dict):
        problems.append(f"{where} must be a table; got {table!r}")
        return values
    for name, value in table.items():
        key = f"{where}.{name}"
        if name not in spec.parameters:
            problems.append(f"{key} is not a parameter of model {spec.name!r}; "
                            f"valid: {sorted(spec.parameters)}")
            continue
        declared = spec.parameters[name]
        units = declared.units
        if isinstance(value, dict):
            extra = sorted(set(value) - {"value", "units"})
            if extra:
                problems.append(f"{key}: {extra} not known; valid keys: value, units")
            units, value = value.get("units", units), value.get("value")
        if not is_number(value) or value < 0:
            problems.append(f"{key} must be a number >= 0 (in {units}); got {value!r}")
        elif units not in _units.UNITS:
            problems.append(f"{key}.units must be one of {sorted(_units.UNITS)}; got {units!r}")
        elif _units.UNITS[units][1] != declared.time_power:
            problems.append(f"{key}.units must be compatible with {declared.units!r}; "
                            f"got {units!r}")
        else:
            values[name] = _units.convert(float(value), units)[0]
    return values
