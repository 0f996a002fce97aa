"""Parameter values a config gives a model: names, units and values checked against the spec.

A run config's ``[parameters]``, a network config's ``[network.parameters]`` and the
parameters of an ``[ensemble.sweep]`` all name parameters of a model and may give their own
units; the checks are here once. Values are converted once, to base units (per day, days,
dimensionless).
"""

from __future__ import annotations

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
                     problems: list[str], set_key: str = "parameter_set") -> dict[str, float]:
    """Parameter overrides in base units: the named parameter set, then ``table``.

    ``table`` maps parameter names to a number >= 0 in the declared units, or to
    ``{value, units}`` with any compatible unit of :data:`healthmob.units.UNITS`.
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
        units = spec.parameters[name].units
        if isinstance(value, dict):
            for extra in sorted(set(value) - {"value", "units"}):
                problems.append(unknown_key(label(key, extra), ("value", "units")))
            units, value = value.get("units", units), value.get("value")
        if not NON_NEGATIVE.accepts(value):
            problems.append(must_be(key, f"{NON_NEGATIVE.text} (in {units})", value))
        elif compatible_units(spec, name, units, label(key, "units"), problems):
            values[name] = _units.convert(float(value), units)[0]
            _check_selection_ratio(spec, name, values[name], key, problems)
    return values


def _check_selection_ratio(spec: ModelSpec, name: str, value: float, key: str,
                           problems: list[str]) -> None:
    """A ratio of the model's ``[selection]`` must stay inside its declared range: outside
    it, the travellers are no longer those the literature describes."""
    declared = spec.parameters[name].range
    ratios = {f.ratio for factors in spec.selection.values() for f in factors}
    if name in ratios and declared is not None and not declared[0] <= value <= declared[1]:
        problems.append(must_be(key, f"within the declared range {list(declared)} of this "
                                "selection ratio", value))

