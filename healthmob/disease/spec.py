"""Disease models as data: load and validate ``models/*.toml``.

A spec declares compartments (with attributes used by the risk stage), spontaneous
transitions, infections, births and parameters (value + units + source). Validation collects
every problem in the file and raises once (MetaWards style). The format is documented in
``docs/model-spec.md``.

Rates are written as expressions of parameters: ``"beta"``, ``"beta * rr_reinfection"``,
``"1/dur_acute"``, ``"0.5 * beta"``. An expression for a rate must have units of 1/time once
its parameters' units are combined; every unit comes from :data:`healthmob.units.UNITS`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .. import units as _units
from ..errors import ModelSpecError, join_problems
from ..store.resources import read_toml

DEATH = "death"
"""Reserved target of a transition: the person leaves the population."""

ALL = "*"
"""Reserved source of a transition: every compartment (e.g. background mortality)."""

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COMPLEMENT = re.compile(r"^\(\s*1\s*-\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$")
_TOP_KEYS = {
    "name", "long_name", "description", "authors", "references", "compartments",
    "transitions", "infections", "births", "tallies", "parameters", "outputs",
    "parameter_sets", "infected",
}
_OUTPUT_KEYS = {"long_name", "numerator", "denominator", "numerator_tally",
                "denominator_tally", "scale", "comment", "population_group"}
SCALES = {"fraction": ("1", 1.0), "percent": ("percent", 100.0), "per_100k": ("1e-5", 1e5)}
"""Output scales: name -> (CF units, multiplier)."""
_COMPARTMENT_KEYS = {"id", "long_name", "infectious", "symptomatic", "detectable_by"}
_TRANSITION_KEYS = {"from", "to", "rate", "tally"}
_INFECTION_KEYS = {"from", "to", "rate", "sources", "tally"}
_BIRTH_KEYS = {"to", "rate", "replace_deaths"}
_PARAMETER_KEYS = {"value", "units", "source", "long_name", "range"}


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
    files: tuple[Path, ...] = ()
    """Every file the spec was read from: its own, then its components' (products)."""
    """Glob patterns of the compartments of infected people (risk stage); by default the
    targets of infections and every infectious compartment."""

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


def load_model(name_or_path: str | Path, base: Path | None = None) -> ModelSpec:
    """Load and validate a disease model.

    Parameters
    ----------
    name_or_path : str or Path
        A path to a TOML file, or the name of a shipped model (``"tb"``, ``"sir"``...).
    base : Path, optional
        Directory that relative paths are resolved against first.

    Raises
    ------
    ModelSpecError
        Listing every problem found, each naming its key.
    """
    path, table, raw = read_toml(name_or_path, "models", ModelSpecError, base, "model file")
    sha256 = hashlib.sha256(raw).hexdigest()
    files = (path,)
    if isinstance(table, dict) and "components" in table:
        from .product import component_paths, compose

        try:
            names = component_paths(table, path.parent)
        except ModelSpecError as exc:
            raise ModelSpecError(f"{path}: {exc}") from None
        components = [load_model(name, path.parent) for name in names]
        digest = hashlib.sha256(raw)
        for spec in components:
            digest.update(spec.sha256.encode())
        sha256 = digest.hexdigest()
        files += tuple(f for spec in components for f in spec.files)
        table = compose(table, components, str(path))
    return replace(parse_model(table, where=str(path), sha256=sha256, path=path), files=files)


def parse_model(table: dict, where: str = "<model>", sha256: str = "", path: Path | None = None):
    """Validate a parsed TOML table and build a :class:`ModelSpec` (see :func:`load_model`)."""
    problems: list[str] = []
    if not table:
        raise ModelSpecError(f"{where}: the model file is empty")
    _unknown(table, _TOP_KEYS, "", problems)
    name = table.get("name")
    if not isinstance(name, str) or not name:
        problems.append(f"name must be a non-empty string; got {name!r}")
    parameters = _parse_parameters(table.get("parameters", {}), problems)
    compartments = _parse_compartments(table.get("compartments"), problems)
    ids = {c.id for c in compartments}
    tallies = table.get("tallies", {})
    if not isinstance(tallies, dict) or not all(isinstance(v, str) for v in tallies.values()):
        problems.append("tallies must be a table of name = long_name strings")
        tallies = {}
    transitions = []
    for i, item in enumerate(_as_list(table.get("transitions", []), "transitions", problems)):
        key = f"transitions[{i}]"
        if not _check_table(item, _TRANSITION_KEYS, key, problems):
            continue
        source = _ref(item.get("from"), ids | {ALL}, f"{key}.from", problems)
        target = _ref(item.get("to"), ids | {DEATH}, f"{key}.to", problems)
        rate = _rate(item.get("rate"), parameters, f"{key}.rate", -1, problems)
        tally = _tally(item.get("tally"), tallies, f"{key}.tally", problems)
        if source == target and source is not None:
            problems.append(f"{key}: from and to must differ; got {source!r} twice")
        if None not in (source, target, rate):
            transitions.append(Transition(source, target, rate, tally))
    infections = []
    for i, item in enumerate(_as_list(table.get("infections", []), "infections", problems)):
        key = f"infections[{i}]"
        if not _check_table(item, _INFECTION_KEYS, key, problems):
            continue
        source = _ref(item.get("from"), ids, f"{key}.from", problems)
        target = _ref(item.get("to"), ids, f"{key}.to", problems)
        rate = _rate(item.get("rate"), parameters, f"{key}.rate", -1, problems)
        tally = _tally(item.get("tally"), tallies, f"{key}.tally", problems)
        weights = item.get("sources")
        if weights is None:
            weights = {c.id: c.infectious for c in compartments if c.infectious > 0}
        if not isinstance(weights, dict) or not weights:
            problems.append(f"{key}.sources must be a non-empty table of compartment = weight "
                            "(or declare infectious weights on compartments)")
            weights = {}
        for cid, weight in weights.items():
            _ref(cid, ids, f"{key}.sources", problems)
            named = isinstance(weight, str) and weight in parameters
            if named and parameters[weight].time_power != 0:
                problems.append(f"{key}.sources.{cid}: {weight} must be dimensionless")
            elif not named and (not _is_number(weight) or weight < 0):
                problems.append(f"{key}.sources.{cid} must be a number >= 0 or a declared "
                                f"dimensionless parameter; got {weight!r}")
        if None not in (source, target, rate) and weights:
            infections.append(Infection(source, target, rate, dict(weights), tally))
    births = _parse_births(table.get("births"), ids, parameters, problems)
    outputs = _parse_outputs(table.get("outputs", {}), tuple(c.id for c in compartments),
                             tallies, problems)
    if births is not None:
        exits = {t.source for t in transitions} | {f.source for f in infections}
        if ALL in exits:
            exits = set(ids)
        absorbing = [c.id for c in compartments if c.id not in exits]
        if absorbing:
            problems.append(f"compartments {absorbing} have no way out (absorbing) although the "
                            "model has births, so people would pile up there; add a transition"
                            " such as background mortality from '*'")
    parameter_sets = table.get("parameter_sets", {})
    if not isinstance(parameter_sets, dict):
        problems.append("parameter_sets must be a table of tables")
        parameter_sets = {}
    for set_name, values in parameter_sets.items():
        for pname, value in (values.items() if isinstance(values, dict) else ()):
            if pname not in parameters:
                problems.append(f"parameter_sets.{set_name}.{pname} must be a declared "
                                "parameter")
            elif not _is_number(value) or value < 0:
                problems.append(f"parameter_sets.{set_name}.{pname} must be a number >= 0 "
                                f"(in {parameters[pname].units}); got {value!r}")
    if problems:
        raise ModelSpecError(join_problems(where, problems))
    return ModelSpec(
        name=name,
        long_name=table.get("long_name", name),
        path=path,
        sha256=sha256,
        compartments=tuple(compartments),
        transitions=tuple(transitions),
        infections=tuple(infections),
        births=births,
        parameters=parameters,
        tallies=dict(tallies),
        references=tuple(table.get("references", ())),
        outputs=outputs,
        parameter_sets=parameter_sets,
        infected=_infected(table.get("infected"), compartments, infections, problems),
    )


def _parse_parameters(table, problems) -> dict[str, Parameter]:
    if not isinstance(table, dict):
        problems.append("parameters must be a table")
        return {}
    out = {}
    for name, item in table.items():
        key = f"parameters.{name}"
        if not _IDENT.match(name):
            problems.append(f"{key}: name must be an identifier")
            continue
        if not _check_table(item, _PARAMETER_KEYS, key, problems):
            continue
        value, units, source = item.get("value"), item.get("units"), item.get("source")
        ok = True
        if not _is_number(value) or not math.isfinite(value):
            problems.append(f"{key}.value must be a finite number; got {value!r}")
            ok = False
        elif value < 0:
            problems.append(f"{key}.value must be >= 0 (rates and durations are never "
                            f"negative); got {value!r}")
            ok = False
        if units not in _units.UNITS:
            problems.append(f"{key}.units must be one of {sorted(_units.UNITS)}; got {units!r}")
            ok = False
        if not isinstance(source, str) or not source.strip():
            problems.append(f"{key}.source must cite where the value comes from; got {source!r}")
            ok = False
        rng = item.get("range")
        if rng is not None and not (
            isinstance(rng, list) and len(rng) == 2 and all(_is_number(v) for v in rng)
            and rng[0] <= rng[1]
        ):
            problems.append(f"{key}.range must be [low, high] with low <= high; got {rng!r}")
            ok = False
        if ok:
            out[name] = Parameter(name, float(value), units, source, item.get("long_name", ""),
                                  tuple(rng) if rng else None)
    return out


def _parse_compartments(items, problems) -> list[Compartment]:
    if not isinstance(items, list) or not items:
        problems.append("compartments must be a non-empty array of tables "
                        "(arrays go before the first [table] header)")
        return []
    out, seen = [], set()
    for i, item in enumerate(items):
        key = f"compartments[{i}]"
        if not _check_table(item, _COMPARTMENT_KEYS, key, problems):
            continue
        cid = item.get("id")
        if not isinstance(cid, str) or not _IDENT.match(cid) or cid in (DEATH, ALL):
            problems.append(f"{key}.id must be an identifier other than 'death'; got {cid!r}")
            continue
        if cid in seen:
            problems.append(f"{key}.id must be unique; got {cid!r} again")
            continue
        seen.add(cid)
        infectious = item.get("infectious", 0.0)
        if not _is_number(infectious) or infectious < 0:
            problems.append(f"{key}.infectious must be a number >= 0; got {infectious!r}")
            infectious = 0.0
        symptomatic = item.get("symptomatic", False)
        if not isinstance(symptomatic, bool):
            problems.append(f"{key}.symptomatic must be true or false; got {symptomatic!r}")
        tests = item.get("detectable_by", [])
        if not isinstance(tests, list) or not all(isinstance(t, str) for t in tests):
            problems.append(f"{key}.detectable_by must be an array of test names; got {tests!r}")
            tests = []
        out.append(Compartment(cid, item.get("long_name", cid), float(infectious),
                               bool(symptomatic), tuple(tests)))
    return out


def _parse_births(item, ids, parameters, problems) -> Births | None:
    if item is None:
        return None
    if not _check_table(item, _BIRTH_KEYS, "births", problems):
        return None
    target = _ref(item.get("to"), ids, "births.to", problems)
    replace = item.get("replace_deaths", False)
    if not isinstance(replace, bool):
        problems.append(f"births.replace_deaths must be true or false; got {replace!r}")
        return None
    rate = None
    if "rate" in item:
        rate = _rate(item["rate"], parameters, "births.rate", -1, problems)
    if replace == ("rate" in item):
        problems.append("births must have exactly one of rate or replace_deaths = true")
        return None
    return Births(target, rate, replace) if target else None


def _infected(patterns, compartments, infections, problems) -> tuple[str, ...]:
    ids = tuple(c.id for c in compartments)
    if patterns is None:
        weighted = {cid for inf in infections for cid, w in inf.sources.items() if w != 0}
        return tuple(c for c in ids if c in weighted or c in {i.target for i in infections})
    if not isinstance(patterns, list) or not select(patterns, ids):
        problems.append(f"infected must be glob patterns matching compartments {list(ids)}; "
                        f"got {patterns!r}")
        return ()
    return tuple(patterns)


def _parse_outputs(table, ids, tallies, problems) -> dict[str, Output]:
    if not isinstance(table, dict):
        problems.append("outputs must be a table of tables")
        return {}
    out = {}
    for name, item in table.items():
        key = f"outputs.{name}"
        if not _check_table(item, _OUTPUT_KEYS, key, problems):
            continue
        scale = item.get("scale", "fraction")
        if scale not in SCALES:
            problems.append(f"{key}.scale must be one of {sorted(SCALES)}; got {scale!r}")
            continue
        tally_n, tally_d = item.get("numerator_tally"), item.get("denominator_tally")
        if tally_n is not None or tally_d is not None:
            if tally_n not in tallies or tally_d not in tallies:
                problems.append(f"{key}: numerator_tally and denominator_tally must both name "
                                f"tallies {sorted(tallies)}; got {tally_n!r}, {tally_d!r}")
                continue
        else:
            numerator = item.get("numerator")
            denominator = item.get("denominator", ["*"])
            for part, patterns in (("numerator", numerator), ("denominator", denominator)):
                if not isinstance(patterns, list) or not select(patterns, ids):
                    problems.append(f"{key}.{part} must be glob patterns matching compartments "
                                    f"{list(ids)}; got {patterns!r}")
        attrs = tuple((k, str(item[k])) for k in ("comment", "population_group") if k in item)
        out[name] = Output(name, item.get("long_name", name), scale,
                           tuple(item.get("numerator", ())),
                           tuple(item.get("denominator", ("*",))), tally_n, tally_d, attrs)
    return out


def _rate(text, parameters, key, power, problems) -> RateExpr | None:
    if not isinstance(text, str) or not text.strip():
        problems.append(f"{key} must be an expression such as 'beta' or '1/dur_x'; got {text!r}")
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
            if number <= 0:
                problems.append(f"{key}: factor must be a positive number; got {term!r}")
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


def _tally(names, tallies, key, problems) -> tuple[str, ...]:
    names = [] if names is None else [names] if isinstance(names, str) else names
    for name in names:
        if name not in tallies:
            problems.append(f"{key} must name entries of tallies {sorted(tallies)}; "
                            f"got {name!r}")
    return tuple(name for name in names if name in tallies)


def _ref(value, allowed, key, problems):
    if value not in allowed:
        problems.append(f"{key} must be a declared compartment {sorted(allowed)}; got {value!r}")
        return None
    return value


def _as_list(value, key, problems):
    if not isinstance(value, list):
        problems.append(f"{key} must be an array of tables; got {type(value).__name__}")
        return []
    return value


def _check_table(item, allowed, key, problems) -> bool:
    if not isinstance(item, dict):
        problems.append(f"{key} must be a table; got {item!r}")
        return False
    _unknown(item, allowed, f"{key}.", problems)
    return True


def _unknown(item, allowed, prefix, problems):
    for extra in sorted(set(item) - allowed):
        problems.append(f"{prefix}{extra} is not a known key; valid keys: {sorted(allowed)}")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
