"""Parameters of a model spec and the rate expressions written with them.

Rates are written as expressions of parameters: ``"beta"``, ``"beta * rr_reinfection"``,
``"1/dur_acute"``, ``"0.5 * beta"``, ``"(1 - p_success) / dur_treatment"``. An expression for
a rate must have units of 1/time once its parameters' units are combined; every unit comes
from :data:`healthmob.units.UNITS`.
"""

from __future__ import annotations

import math
import re

from .. import units as _units
from ..checks import OneOf, is_number, is_table, label, must_be
from .spec import Parameter, RateExpr

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COMPLEMENT = re.compile(r"^\(\s*1\s*-\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$")
PARAMETER_KEYS = ("value", "units", "source", "long_name", "range")


def parse_parameters(table, problems: list[str]) -> dict[str, Parameter]:
    """The ``[parameters]`` table of a spec: each a value >= 0 with units and a source."""
    if not isinstance(table, dict):
        problems.append(must_be("parameters", "a table", table))
        return {}
    out = {}
    for name, item in table.items():
        key = label("parameters", name)
        if not IDENTIFIER.match(name):
            problems.append(must_be(f"{key}: name", "an identifier", name))
            continue
        if not is_table(item, key, problems, PARAMETER_KEYS):
            continue
        value, units, source = item.get("value"), item.get("units"), item.get("source")
        found = len(problems)
        if not is_number(value):
            problems.append(must_be(f"{key}.value", "a finite number", value))
        elif value < 0:
            problems.append(must_be(f"{key}.value", ">= 0 (rates and durations are never "
                                    "negative)", value))
        if units not in _units.UNITS:
            problems.append(must_be(f"{key}.units", OneOf(tuple(sorted(_units.UNITS))).text,
                                    units))
        if not isinstance(source, str) or not source.strip():
            problems.append(f"{key}.source must cite where the value comes from; got {source!r}")
        rng = item.get("range")
        if rng is not None and not (isinstance(rng, list) and len(rng) == 2
                                    and all(is_number(v) for v in rng) and rng[0] <= rng[1]):
            problems.append(must_be(f"{key}.range", "[low, high] with low <= high", rng))
        if len(problems) == found:
            out[name] = Parameter(name, float(value), units, source, item.get("long_name", ""),
                                  tuple(rng) if rng else None)
    return out


def parse_rate(text, parameters: dict, key: str, power: int,
               problems: list[str]) -> RateExpr | None:
    """A rate expression (module docstring) whose units combine to time^``power``."""
    if not isinstance(text, str) or not text.strip():
        problems.append(must_be(key, "an expression such as 'beta' or '1/dur_x'", text))
        return None
    factors, total, ok = [], 0, True
    for raw in text.split("*"):
        term, sign = raw.strip(), 1
        complement = _COMPLEMENT.match(term)
        if complement:
            name = complement.group(1)
            if name not in parameters or parameters[name].time_power != 0:
                problems.append(f"{key}: (1-{name}) needs a declared dimensionless parameter")
                ok = False
            factors.append((name, 0.0, 0))
            continue
        if term.startswith("1/"):
            term, sign = term[2:].strip(), -1
        try:
            number = float(term)
        except ValueError:
            number = None
        if number is not None:
            if not (math.isfinite(number) and number > 0):
                problems.append(must_be(f"{key}: factor", "a finite number > 0", term))
                ok = False
            factors.append((None, number, sign))
        elif term in parameters:
            factors.append((term, 0.0, sign))
            total += sign * parameters[term].time_power
        else:
            problems.append(f"{key}: {term!r} must be a declared parameter; "
                            f"declared: {sorted(parameters)}")
            ok = False
    if ok and total != power:
        problems.append(f"{key}: {text!r} must have units of 1/time; its parameters' units "
                        f"combine to time^{total}")
        ok = False
    return RateExpr(text, tuple(factors)) if ok else None
