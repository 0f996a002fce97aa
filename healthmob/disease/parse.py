"""Load and validate ``models/*.toml`` into a :class:`~healthmob.disease.spec.ModelSpec`.

Validation collects every problem in the file and raises once (MetaWards style), each
problem naming its key. A product spec (``components = [...]``) is composed first
(:mod:`healthmob.disease.product`), then validated like any other.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path

from ..checks import is_number, is_table, must_be, report_unknown, table_list
from ..errors import ModelSpecError, join_problems
from ..store.resources import read_toml
from .parameters import IDENTIFIER, parse_parameters, parse_rate
from .product import component_paths, compose, lift_arrivals, lift_diseases
from .spec import (
    ALL,
    DEATH,
    SCALES,
    ArrivalMeasure,
    Births,
    Compartment,
    Disease,
    Infection,
    ModelSpec,
    Output,
    SelectionFactor,
    Transition,
    select,
)

MODEL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
TOP_KEYS = ("name", "long_name", "description", "authors", "references", "compartments",
            "transitions", "infections", "births", "tallies", "parameters", "outputs",
            "parameter_sets", "infected", "selection", "arrivals")
OUTPUT_KEYS = ("long_name", "numerator", "denominator", "numerator_tally",
               "denominator_tally", "scale", "comment", "population_group")
COMPARTMENT_KEYS = ("id", "long_name", "infectious", "symptomatic", "detectable_by")
TRANSITION_KEYS = ("from", "to", "rate", "tally")
INFECTION_KEYS = ("from", "to", "rate", "sources", "tally")
BIRTH_KEYS = ("to", "rate", "replace_deaths")
ARRIVAL_KEYS = ("states", "long_name")


def load_model(name_or_path: str | Path, base: Path | None = None, *,
               including: tuple[Path, ...] = ()) -> ModelSpec:
    """Load and validate a disease model.

    Parameters
    ----------
    name_or_path : str or Path
        A path to a TOML file, or the name of a shipped model (``"tb"``, ``"sir"``...).
    base : Path, optional
        Directory that relative paths are resolved against first.
    including : tuple of Path
        The product specs being composed that led here (a product may not include itself).

    Raises
    ------
    ModelSpecError
        Listing every problem found, each naming its key.
    """
    path, table, raw = read_toml(name_or_path, "models", ModelSpecError, base, "model file")
    sha256 = hashlib.sha256(raw).hexdigest()
    files = (path,)
    if isinstance(table, dict) and "components" in table:
        if path in including:
            raise ModelSpecError(f"{path}: components must not include the product itself "
                                 f"(through {[str(p) for p in including]})")
        try:
            names = component_paths(table)
        except ModelSpecError as exc:
            raise ModelSpecError(f"{path}: {exc}") from None
        components = [load_model(name, path.parent, including=(*including, path))
                      for name in names]
        digest = hashlib.sha256(raw)
        for spec in components:
            digest.update(spec.sha256.encode())
        sha256 = digest.hexdigest()
        files += tuple(f for spec in components for f in spec.files)
        table = compose(table, components, str(path))
        spec = parse_model(table, where=str(path), sha256=sha256, path=path)
        ids = spec.compartment_ids
        return replace(spec, files=files, arrivals=lift_arrivals(components, ids),
                       diseases=lift_diseases(components, ids))
    return replace(parse_model(table, where=str(path), sha256=sha256, path=path), files=files)


def parse_model(table: dict, where: str = "<model>", sha256: str = "",
                path: Path | None = None) -> ModelSpec:
    """Validate a parsed TOML table and build a :class:`ModelSpec` (see :func:`load_model`)."""
    problems: list[str] = []
    if not table:
        raise ModelSpecError(f"{where}: the model file is empty")
    report_unknown(table, TOP_KEYS, "", problems)
    name = table.get("name")
    if not isinstance(name, str) or not MODEL_NAME.match(name):
        problems.append(must_be("name", "a name of letters, digits, _ and - (starting with "
                                "a letter)", name))
    parameters = parse_parameters(table.get("parameters", {}), problems)
    compartments = _parse_compartments(table.get("compartments"), problems)
    ids = {c.id for c in compartments}
    tallies = table.get("tallies", {})
    if not isinstance(tallies, dict) or not all(isinstance(v, str) for v in tallies.values()):
        problems.append(must_be("tallies", "a table of name = long_name strings", tallies))
        tallies = {}
    transitions = _parse_transitions(table.get("transitions", []), ids, parameters, tallies,
                                     problems)
    infections = _parse_infections(table.get("infections", []), compartments, parameters,
                                   tallies, problems)
    births = _parse_births(table.get("births"), ids, parameters, problems)
    outputs = _parse_outputs(table.get("outputs", {}), tuple(c.id for c in compartments),
                             tallies, problems)
    if births is not None:
        _check_no_absorbing(compartments, transitions, infections, problems)
    parameter_sets = _parse_parameter_sets(table.get("parameter_sets", {}), parameters,
                                           problems)
    infected = _infected(table.get("infected"), compartments, infections, problems)
    selection = _parse_selection(table.get("selection", {}), tuple(c.id for c in compartments),
                                 parameters, problems)
    arrivals = _parse_arrivals(table.get("arrivals", {}), name, tuple(c.id for c in compartments),
                               problems)
    if problems:
        raise ModelSpecError(join_problems(where, problems))
    return ModelSpec(
        name=name, long_name=table.get("long_name", name), path=path, sha256=sha256,
        compartments=tuple(compartments), transitions=tuple(transitions),
        infections=tuple(infections), births=births, parameters=parameters,
        tallies=dict(tallies), references=tuple(table.get("references", ())),
        outputs=outputs, parameter_sets=parameter_sets, infected=infected,
        selection=selection, arrivals=arrivals,
        diseases={name: _disease(name, compartments, infected)})


def _parse_transitions(items, ids, parameters, tallies, problems) -> list[Transition]:
    out = []
    for i, item in enumerate(table_list(items, "transitions", problems)):
        key = f"transitions[{i}]"
        if not is_table(item, key, problems, TRANSITION_KEYS):
            continue
        source = _ref(item.get("from"), ids | {ALL}, f"{key}.from", problems)
        target = _ref(item.get("to"), ids | {DEATH}, f"{key}.to", problems)
        rate = parse_rate(item.get("rate"), parameters, f"{key}.rate", -1, problems)
        tally = _tally(item.get("tally"), tallies, f"{key}.tally", problems)
        if source == target and source is not None:
            problems.append(f"{key}: from and to must differ; got {source!r} twice")
        if None not in (source, target, rate):
            out.append(Transition(source, target, rate, tally))
    return out


def _parse_infections(items, compartments, parameters, tallies, problems) -> list[Infection]:
    ids = {c.id for c in compartments}
    out = []
    for i, item in enumerate(table_list(items, "infections", problems)):
        key = f"infections[{i}]"
        if not is_table(item, key, problems, INFECTION_KEYS):
            continue
        source = _ref(item.get("from"), ids, f"{key}.from", problems)
        target = _ref(item.get("to"), ids, f"{key}.to", problems)
        rate = parse_rate(item.get("rate"), parameters, f"{key}.rate", -1, problems)
        tally = _tally(item.get("tally"), tallies, f"{key}.tally", problems)
        weights = item.get("sources")
        if weights is None:
            weights = {c.id: c.infectious for c in compartments if c.infectious > 0}
        if not isinstance(weights, dict) or not weights:
            problems.append(must_be(f"{key}.sources", "a non-empty table of compartment = "
                                    "weight (or declare infectious weights on compartments)",
                                    weights))
            weights = {}
        for cid, weight in weights.items():
            _ref(cid, ids, f"{key}.sources", problems)
            named = isinstance(weight, str) and weight in parameters
            if named and parameters[weight].time_power != 0:
                problems.append(f"{key}.sources.{cid}: {weight} must be dimensionless")
            elif not named and (not is_number(weight) or weight < 0):
                problems.append(must_be(f"{key}.sources.{cid}", "a number >= 0 or a declared "
                                        "dimensionless parameter", weight))
        if None not in (source, target, rate) and weights:
            out.append(Infection(source, target, rate, dict(weights), tally))
    return out


def _check_no_absorbing(compartments, transitions, infections, problems) -> None:
    """With births, every compartment needs a way out, or people pile up there."""
    exits = {t.source for t in transitions} | {f.source for f in infections}
    if ALL in exits:
        exits = {c.id for c in compartments}
    absorbing = [c.id for c in compartments if c.id not in exits]
    if absorbing:
        problems.append(f"compartments {absorbing} have no way out (absorbing) although the "
                        "model has births, so people would pile up there; add a transition"
                        " such as background mortality from '*'")


def _parse_parameter_sets(table, parameters, problems) -> dict:
    if not isinstance(table, dict):
        problems.append(must_be("parameter_sets", "a table of tables", table))
        return {}
    for set_name, values in table.items():
        for pname, value in (values.items() if isinstance(values, dict) else ()):
            key = f"parameter_sets.{set_name}.{pname}"
            if pname not in parameters:
                problems.append(must_be(key, "a declared parameter", pname))
            elif not is_number(value) or value < 0:
                problems.append(must_be(key, f"a number >= 0 (in {parameters[pname].units})",
                                        value))
    return table


def _parse_compartments(items, problems) -> list[Compartment]:
    if not isinstance(items, list) or not items:
        problems.append(must_be("compartments", "a non-empty array of tables (arrays go "
                                "before the first [table] header)", items))
        return []
    out, seen = [], set()
    for i, item in enumerate(items):
        key = f"compartments[{i}]"
        if not is_table(item, key, problems, COMPARTMENT_KEYS):
            continue
        cid = item.get("id")
        if not isinstance(cid, str) or not IDENTIFIER.match(cid) or cid in (DEATH, ALL):
            problems.append(must_be(f"{key}.id", "an identifier other than 'death'", cid))
            continue
        if cid in seen:
            problems.append(f"{key}.id must be unique; got {cid!r} again")
            continue
        seen.add(cid)
        infectious = item.get("infectious", 0.0)
        if not is_number(infectious) or infectious < 0:
            problems.append(must_be(f"{key}.infectious", "a number >= 0", infectious))
            infectious = 0.0
        symptomatic = item.get("symptomatic", False)
        if not isinstance(symptomatic, bool):
            problems.append(must_be(f"{key}.symptomatic", "true or false", symptomatic))
        tests = item.get("detectable_by", [])
        if not isinstance(tests, list) or not all(isinstance(t, str) for t in tests):
            problems.append(must_be(f"{key}.detectable_by", "an array of test names", tests))
            tests = []
        out.append(Compartment(cid, item.get("long_name", cid), float(infectious),
                               bool(symptomatic), tuple(tests)))
    return out


def _parse_births(item, ids, parameters, problems) -> Births | None:
    if item is None:
        return None
    if not is_table(item, "births", problems, BIRTH_KEYS):
        return None
    target = _ref(item.get("to"), ids, "births.to", problems)
    replace = item.get("replace_deaths", False)
    if not isinstance(replace, bool):
        problems.append(must_be("births.replace_deaths", "true or false", replace))
        return None
    rate = None
    if "rate" in item:
        rate = parse_rate(item["rate"], parameters, "births.rate", -1, problems)
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
        problems.append(must_be("infected", f"glob patterns matching compartments {list(ids)}",
                                patterns))
        return ()
    return tuple(patterns)


def _disease(name: str, compartments, infected: tuple[str, ...]) -> Disease:
    ids = tuple(c.id for c in compartments)
    detectable: dict[str, list[str]] = {}
    for c in compartments:
        for test in c.detectable_by:
            detectable.setdefault(test, []).append(c.id)
    return Disease(name, tuple(select(infected, ids)),
                   {test: tuple(found) for test, found in detectable.items()})


def _parse_arrivals(table, disease, ids, problems) -> dict[str, ArrivalMeasure]:
    """``[arrivals.<name>]``: ``states`` (glob patterns) and ``long_name``."""
    if not isinstance(table, dict):
        problems.append(must_be("arrivals", "a table of tables", table))
        return {}
    out = {}
    for name, item in table.items():
        key = f"arrivals.{name}"
        if not is_table(item, key, problems, ARRIVAL_KEYS):
            continue
        states, long_name = item.get("states"), item.get("long_name")
        if not isinstance(states, list) or not all(isinstance(p, str) for p in states) or \
                not select(states, ids):
            problems.append(must_be(f"{key}.states", "glob patterns matching compartments "
                                    f"{list(ids)}", states))
        elif not isinstance(long_name, str) or not long_name:
            problems.append(must_be(f"{key}.long_name", "a non-empty string", long_name))
        else:
            out[name] = ArrivalMeasure(name, disease, long_name, tuple(select(states, ids)))
    return out


def _parse_outputs(table, ids, tallies, problems) -> dict[str, Output]:
    if not isinstance(table, dict):
        problems.append(must_be("outputs", "a table of tables", table))
        return {}
    out = {}
    for name, item in table.items():
        key = f"outputs.{name}"
        if not is_table(item, key, problems, OUTPUT_KEYS):
            continue
        scale = item.get("scale", "fraction")
        if scale not in SCALES:
            problems.append(must_be(f"{key}.scale", f"one of {sorted(SCALES)}", scale))
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
                    problems.append(must_be(f"{key}.{part}", "glob patterns matching "
                                            f"compartments {list(ids)}", patterns))
        attrs = tuple((k, str(item[k])) for k in ("comment", "population_group") if k in item)
        out[name] = Output(name, item.get("long_name", name), scale,
                           tuple(item.get("numerator", ())),
                           tuple(item.get("denominator", ("*",))), tally_n, tally_d, attrs)
    return out


def _parse_selection(table, ids, parameters, problems) -> dict:
    """``[selection.<category>]``: ``factors = [{states, ratio}, ...]`` and a description."""
    if not isinstance(table, dict):
        problems.append(must_be("selection", "a table of categories", table))
        return {}
    out = {}
    for category, item in table.items():
        key = f"selection.{category}"
        if not is_table(item, key, problems, ("description", "factors")):
            continue
        factors = []
        for k, factor in enumerate(table_list(item.get("factors", []), f"{key}.factors",
                                              problems)):
            where = f"{key}.factors[{k}]"
            if not is_table(factor, where, problems, ("states", "ratio")):
                continue
            states, ratio = factor.get("states"), factor.get("ratio")
            if not isinstance(states, list) or not select(states, ids):
                problems.append(must_be(f"{where}.states", "glob patterns matching "
                                        "compartments", states))
                continue
            if ratio not in parameters or parameters[ratio].units != "1":
                problems.append(must_be(f"{where}.ratio", "a dimensionless parameter of the "
                                        "model", ratio))
                continue
            factors.append(SelectionFactor(tuple(states), ratio))
        out[category] = tuple(factors)
    return out


def _tally(names, tallies, key, problems) -> tuple[str, ...]:
    names = [] if names is None else [names] if isinstance(names, str) else names
    for name in names:
        if name not in tallies:
            problems.append(must_be(key, f"an entry of tallies {sorted(tallies)}", name))
    return tuple(name for name in names if name in tallies)


def _ref(value, allowed, key, problems):
    if value not in allowed:
        problems.append(must_be(key, f"a declared compartment {sorted(allowed)}", value))
        return None
    return value
