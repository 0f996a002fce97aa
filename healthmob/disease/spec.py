"""Disease models as data: the validated form of ``models/*.toml``.

A spec declares compartments (with attributes used by the risk stage), spontaneous
transitions, infections, births and parameters (value + units + source). The classes here
are what :func:`healthmob.disease.parse.load_model` returns; the format is documented in
``docs/model-spec.md``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import units as _units

DEATH = "death"
"""Reserved target of a transition: the person leaves the population."""

ALL = "*"
"""Reserved source of a transition: every compartment (e.g. background mortality)."""

SCALES = {"fraction": ("1", 1.0), "percent": ("percent", 100.0), "per_100k": ("1e-5", 1e5)}
"""Output scales: name -> (CF units, multiplier)."""


@dataclass(frozen=True)
class Compartment:
    """One state of an individual."""

    id: str
    long_name: str
    infectious: float = 0.0
    symptomatic: bool = False
    detectable_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Parameter:
    """A model parameter as declared, plus its value in base units (days)."""

    name: str
    value: float
    units: str
    source: str
    long_name: str = ""
    range: tuple[float, float] | None = None

    @property
    def base_value(self) -> float:
        """Value converted to base units (per day, days, or dimensionless)."""
        return _units.convert(self.value, self.units)[0]

    @property
    def time_power(self) -> int:
        """Power of time of the units (-1 rate, 1 duration, 0 dimensionless)."""
        return _units.UNITS[self.units][1]


@dataclass(frozen=True)
class RateExpr:
    """A product of parameters and numbers, each to the power +1 or -1."""

    text: str
    factors: tuple[tuple[str | None, float, int], ...]
    """(parameter or None, number, power): power 1 multiplies, -1 divides, 0 multiplies by
    ``1 - parameter``."""

    def names(self) -> list[str]:
        """Parameter names used by the expression."""
        return [name for name, _, _ in self.factors if name is not None]

    def evaluate(self, values: dict[str, float | np.ndarray]) -> float | np.ndarray:
        """Value of the expression given parameter values in base units."""
        result: float | np.ndarray = 1.0
        for name, number, power in self.factors:
            factor = values[name] if name is not None else number
            if power == 0:
                result = result * (1.0 - factor)
            else:
                result = result * factor if power == 1 else result / factor
        return result


@dataclass(frozen=True)
class Transition:
    """A spontaneous transition ``source -> target`` at a per-capita rate."""

    source: str
    target: str
    rate: RateExpr
    tally: tuple[str, ...] = ()


@dataclass(frozen=True)
class Infection:
    """Infection of ``source`` people into ``target`` by the force of infection.

    The per-capita rate is ``rate * sum_c sources[c] * I_c / N`` (frequency dependent); a
    weight is a number or the name of a dimensionless parameter.
    """

    source: str
    target: str
    rate: RateExpr
    sources: dict[str, float | str]
    tally: tuple[str, ...] = ()


@dataclass(frozen=True)
class Births:
    """Births into ``target``: either at a per-capita ``rate`` or replacing every death."""

    target: str
    rate: RateExpr | None = None
    replace_deaths: bool = False


@dataclass(frozen=True)
class Output:
    """A derived result variable: a share of people or a ratio of tallied rates.

    ``numerator``/``denominator`` are glob patterns over compartment ids (a leading ``!``
    excludes); ``numerator_tally``/``denominator_tally`` name tallies instead.
    """

    name: str
    long_name: str
    scale: str = "fraction"
    numerator: tuple[str, ...] = ()
    denominator: tuple[str, ...] = ("*",)
    numerator_tally: str | None = None
    denominator_tally: str | None = None
    attrs: tuple[tuple[str, str], ...] = ()

    @property
    def is_tally_ratio(self) -> bool:
        """True for a ratio of tallied rates, false for a share of people."""
        return self.numerator_tally is not None


@dataclass(frozen=True)
class SelectionFactor:
    """Who travels: people in ``states`` are ``ratio`` times as common among the travellers
    of a category as in the population they leave (``ratio`` names a parameter)."""

    states: tuple[str, ...]
    ratio: str


def select(patterns: tuple[str, ...] | list[str], ids: tuple[str, ...]) -> list[str]:
    """Compartment ids matching the glob ``patterns`` (a leading ``!`` excludes), in order."""
    chosen = set()
    for pattern in patterns:
        if pattern.startswith("!"):
            chosen -= set(fnmatch.filter(ids, pattern[1:]))
        else:
            chosen |= set(fnmatch.filter(ids, pattern))
    return [cid for cid in ids if cid in chosen]


@dataclass(frozen=True)
class ArrivalMeasure:
    """What a programme counts among arrivals: people in ``states`` of one disease
    (``[arrivals.<name>]`` of a model file; docs/model-spec.md)."""

    name: str
    disease: str
    long_name: str
    states: tuple[str, ...]
    """Compartment ids of the spec (resolved, lifted to a product's compartments)."""


@dataclass(frozen=True)
class Disease:
    """One disease of a spec (a product has one per component): who is infected with it and
    which compartments each of its tests can detect (compartment ids of the spec)."""

    name: str
    infected: tuple[str, ...]
    detectable: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class ModelSpec:
    """A validated disease model specification."""

    name: str
    long_name: str
    path: Path | None
    sha256: str
    compartments: tuple[Compartment, ...]
    transitions: tuple[Transition, ...]
    infections: tuple[Infection, ...]
    births: Births | None
    parameters: dict[str, Parameter]
    tallies: dict[str, str]
    references: tuple[str, ...] = ()
    outputs: dict[str, Output] = field(default_factory=dict)
    parameter_sets: dict[str, dict[str, float]] = field(default_factory=dict)
    infected: tuple[str, ...] = ()
    """Glob patterns of the compartments of infected people (risk stage); by default the
    targets of infections and every infectious compartment."""
    selection: dict[str, tuple[SelectionFactor, ...]] = field(default_factory=dict)
    """Traveller categories (``settlement``, ``visitor``, ...) and how their travellers
    differ from the population they leave (docs/model-spec.md)."""
    files: tuple[Path, ...] = ()
    """Every file the spec was read from: its own, then its components' (products)."""
    arrivals: dict[str, ArrivalMeasure] = field(default_factory=dict)
    """The measures the risk stage counts among arrivals, by name (``[arrivals]``)."""
    diseases: dict[str, Disease] = field(default_factory=dict)
    """The spec's diseases by name: its own name, or each component of a product."""

    @property
    def compartment_ids(self) -> tuple[str, ...]:
        """Compartment ids in declaration order."""
        return tuple(c.id for c in self.compartments)

    def base_values(self, parameter_set: str | None = None) -> dict[str, float]:
        """Every parameter's value in base units, optionally from a named parameter set."""
        values = {name: p.base_value for name, p in self.parameters.items()}
        for name, value in self.parameter_sets.get(parameter_set, {}).items() \
                if parameter_set else ():
            values[name] = _units.convert(value, self.parameters[name].units)[0]
        return values
