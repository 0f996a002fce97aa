"""Parameter values a config gives a model: names, units and values checked against the spec.

A run config's ``[parameters]``, a network config's ``[network.parameters]`` and the
parameters of an ``[ensemble.sweep]`` all name parameters of a model and may give their own
units; the checks are here once. Values are converted once, to base units (per day, days,
dimensionless).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import units as _units
from ..checks import Number, OneOf, label, must_be, unknown_key
from .spec import ModelSpec

NON_NEGATIVE = Number(low=0)


def known_parameter(spec: ModelSpec, name: str, where: str, problems: list[str]) -> bool:
    """Whether ``name`` is a parameter of ``spec`` (else a problem naming the valid ones)."""
    if name in spec.parameters:
        return True
    problems.append(unknown_key(where, spec.parameters, "parameter"))
    return False


def compatible_units(spec: ModelSpec, name: str, units, where: str,
                     problems: list[str]) -> bool:
    """Whether ``units`` is a unit of the closed table with the power of time of the
    parameter's declared units (a rate stays a rate)."""
    if units not in _units.UNITS:
        problems.append(must_be(where, OneOf(tuple(sorted(_units.UNITS))).text, units))
        return False
    declared = spec.parameters[name]
    if _units.UNITS[units][1] != declared.time_power:
        problems.append(must_be(where, f"compatible with {declared.units!r}", units))
        return False
    return True


def parameter_set_values(spec: ModelSpec, parameter_set: str, where: str,
                         problems: list[str]) -> dict[str, float]:
    """The values (base units) in which the named parameter set differs from the spec."""
    if not parameter_set:
        return {}
    if parameter_set not in spec.parameter_sets:
        problems.append(must_be(where, f"{OneOf(tuple(sorted(spec.parameter_sets))).text} "
                                       f"(model {spec.name!r})", parameter_set))
        return {}
    defaults = spec.base_values()
    return {name: value for name, value in spec.base_values(parameter_set).items()
            if value != defaults[name]}


def parameter_values(spec: ModelSpec, parameter_set: str, table, where: str,
                     problems: list[str], set_key: str = "parameter_set",
                     regions: Sequence[str] | None = None) -> dict[str, float | np.ndarray]:
    """Parameter overrides in base units: the named parameter set, then ``table``.

    ``table`` maps parameter names to a number >= 0 in the declared units, or to
    ``{value, units, by_who_region}`` with any compatible unit of
    :data:`healthmob.units.UNITS`. ``by_who_region`` (e.g. ``{ EMR = 0.6 }``) gives the
    places of a WHO region their own value, the others keep ``value`` (or the model's):
    the parameter becomes an array over ``regions``, the places' ``who_region`` in order.
    ``set_key`` names the parameter-set key in messages.
    """
    values = parameter_set_values(spec, parameter_set, set_key, problems)
    if not isinstance(table, dict):
        problems.append(must_be(where, "a table", table))
        return values
    for name, value in table.items():
        key = label(where, name)
        if not known_parameter(spec, name, key, problems):
            continue
        units, regional = spec.parameters[name].units, None
        if isinstance(value, dict):
            for extra in sorted(set(value) - {"value", "units", "by_who_region"}):
                problems.append(unknown_key(label(key, extra),
                                            ("value", "units", "by_who_region")))
            units, regional = value.get("units", units), value.get("by_who_region")
            value = value.get("value", _declared(spec, name, values, units))
        if not NON_NEGATIVE.accepts(value):
            problems.append(must_be(key, f"{NON_NEGATIVE.text} (in {units})", value))
        elif compatible_units(spec, name, units, label(key, "units"), problems):
            values[name] = _units.convert(float(value), units)[0]
            _check_selection_ratio(spec, name, values[name], key, problems)
            if regional is not None:
                _by_region(spec, name, values, regional, units, regions,
                           label(key, "by_who_region"), problems)
    return values


def _declared(spec: ModelSpec, name: str, values: dict, units: str) -> float:
    """The value a parameter has before the table (parameter set, else the model's), in
    ``units`` (a unit of the table; a wrong one is reported by the caller)."""
    base = float(values.get(name, spec.base_values()[name]))
    return base / _units.convert(1.0, units)[0] if units in _units.UNITS else base


def _by_region(spec: ModelSpec, name: str, values: dict, regional, units: str,
               regions: Sequence[str] | None, key: str, problems: list[str]) -> None:
    """``values[name]`` as an array over the places, ``regional`` values in their WHO
    region (each >= 0 and, for a selection ratio, inside its declared range)."""
    if regions is None:
        problems.append(f"{key}: needs places with a who_region column (the world places "
                        "have one)")
        return
    if not isinstance(regional, dict) or not regional:
        problems.append(must_be(key, "a table of WHO region = value", regional))
        return
    known = sorted(set(regions) - {""})
    converted = {}
    for region, number in regional.items():
        where = label(key, region)
        if region not in known:
            problems.append(must_be(where, f"a who_region of the places {known}", region))
        elif not NON_NEGATIVE.accepts(number):
            problems.append(must_be(where, f"{NON_NEGATIVE.text} (in {units})", number))
        else:
            converted[region] = _units.convert(float(number), units)[0]
            _check_selection_ratio(spec, name, converted[region], where, problems)
    values[name] = np.array([converted.get(r, values[name]) for r in regions])


def _check_selection_ratio(spec: ModelSpec, name: str, value: float, key: str,
                           problems: list[str]) -> None:
    """A ratio of the model's ``[selection]`` must stay inside its declared range: outside
    it, the travellers are no longer those the literature describes."""
    declared = spec.parameters[name].range
    ratios = {f.ratio for factors in spec.selection.values() for f in factors}
    if name in ratios and declared is not None and not declared[0] <= value <= declared[1]:
        problems.append(must_be(key, f"within the declared range {list(declared)} of this "
                                "selection ratio", value))

