"""Co-infection models: compose component specs into their product state space.

A product spec (``models/tb_hiv.toml``) names its ``components`` (other model files) and
adds what only the combination knows: population-level transitions (background mortality,
declared once), births, rate ``modifiers`` (e.g. TB activation multiplied by a relative risk
in some HIV stages) and ``tally_splits`` (e.g. TB incidence among HIV-positive people). The
result is an ordinary flat spec table, validated by :func:`healthmob.disease.parse.parse_model`.

Compartment ids of the product are the component ids joined by ``_`` (``LE_C1``: early
latent TB, first chronic HIV stage). Transitions and infections of each component act in
every state of the others; component transitions from ``*`` are population-level and are
dropped (the product declares them once).
"""

from __future__ import annotations

import fnmatch
import itertools
import math

from ..checks import must_be, report_unknown, unknown_key
from ..errors import ModelSpecError, join_problems
from .spec import ArrivalMeasure, Disease, ModelSpec, select

PRODUCT_KEYS = {"name", "long_name", "description", "authors", "references", "components",
                "transitions", "births", "tallies", "parameters", "outputs", "modifiers",
                "tally_splits", "parameter_sets", "infected", "selection"}
SEPARATOR = "_"


MAX_COMPARTMENTS = 2_000
"""The most compartments a product may have (the product of its components'): the engines
hold dense arrays of places x compartments and compartments x compartments (tb_hiv: 120)."""


def compose(table: dict, components: list[ModelSpec], where: str) -> dict:
    """Flatten a product spec table into an ordinary spec table.

    Parameters
    ----------
    table : dict
        The product spec as parsed from TOML.
    components : list of ModelSpec
        The loaded component specs, in the order of ``table["components"]``.
    where : str
        File name for error messages.

    Returns
    -------
    dict
        A flat spec table (compartments, transitions, infections, births, tallies,
        outputs, parameters) for :func:`healthmob.disease.parse.parse_model`.
    """
    problems = [f"{unknown_key(k, PRODUCT_KEYS)} (a product spec)"
                for k in sorted(set(table) - PRODUCT_KEYS)]
    size = math.prod(len(c.compartments) for c in components)
    if size > MAX_COMPARTMENTS:
        raise ModelSpecError(f"{where}: components must make at most {MAX_COMPARTMENTS:,} "
                             f"compartments; got {size:,} ("
                             + " x ".join(f"{len(c.compartments)} of {c.name}"
                                          for c in components) + ")")
    names = [c.name for c in components]
    for spec in components:
        for cid in spec.compartment_ids:
            if SEPARATOR in cid:
                problems.append(f"component {spec.name!r}: compartment id {cid!r} must not "
                                f"contain {SEPARATOR!r} in a product")
    parameters = _merge_parameters(components, table.get("parameters", {}), problems)
    modifiers = _check_rules(table.get("modifiers", []), "modifiers", names, problems,
                             {"component", "transitions", "where", "multiply"})
    splits = _check_rules(table.get("tally_splits", []), "tally_splits", names, problems,
                          {"tally", "name", "where", "long_name"})
    if problems:
        raise ModelSpecError(join_problems(where, problems))
    transitions, infections = _product_flows(components, modifiers, splits)
    tallies = {name: text for spec in components for name, text in spec.tallies.items()}
    for split in splits:
        tallies[split["name"]] = split.get("long_name", split["name"])
    tallies.update(table.get("tallies", {}))
    flat = {key: table[key] for key in ("name", "long_name", "description", "authors")
            if key in table}
    flat["references"] = list(table.get("references", [])) + [
        ref for spec in components for ref in spec.references]
    flat.update(compartments=_product_compartments(components),
                transitions=list(table.get("transitions", [])) + transitions,
                infections=infections, tallies=tallies,
                outputs={**_product_outputs(components), **table.get("outputs", {})},
                parameters=parameters,
                selection=_product_selection(components, table.get("selection", {})))
    if "births" in table:
        flat["births"] = table["births"]
    flat["infected"] = table.get("infected") or [
        _lift(p, k, len(components)) for k, spec in enumerate(components)
        for p in (spec.infected if not any(x.startswith("!") for x in spec.infected)
                  else _negations_lifted(spec))]
    flat["parameter_sets"] = {}
    for sets in [spec.parameter_sets for spec in components] + [
            table.get("parameter_sets", {})]:
        for set_name, values in sets.items():
            flat["parameter_sets"].setdefault(set_name, {}).update(values)
    return flat


def _product_compartments(components: list[ModelSpec]) -> list[dict]:
    """Every combination of the components' compartments, ids joined by ``_``."""
    return [{
        "id": SEPARATOR.join(c.id for c in combo),
        "long_name": " / ".join(c.long_name for c in combo),
        "symptomatic": any(c.symptomatic for c in combo),
        "detectable_by": sorted({t for c in combo for t in c.detectable_by}),
    } for combo in itertools.product(*(c.compartments for c in components))]


def _product_flows(components: list[ModelSpec], modifiers: list, splits: list):
    """Each component's transitions and infections in every state of the others."""
    names = [c.name for c in components]
    transitions, infections = [], []
    for k, spec in enumerate(components):
        others = [c.compartment_ids for j, c in enumerate(components) if j != k]
        for context in itertools.product(*others):
            context_of = {names[j]: s for j, s in zip([j for j in range(len(names)) if j != k],
                                                       context)}
            for tr in spec.transitions:
                if tr.source == "*":
                    continue
                rate = tr.rate.text + "".join(
                    f" * {m['multiply']}" for m in modifiers
                    if m["component"] == spec.name and f"{tr.source}->{tr.target}"
                    in m["transitions"] and _matches(m["where"], context_of))
                target = tr.target if tr.target == "death" else _join(k, tr.target, context)
                transitions.append({
                    "from": _join(k, tr.source, context), "to": target, "rate": rate,
                    "tally": _split_tallies(tr.tally, splits, context_of)})
            for inf in spec.infections:
                infections.append({
                    "from": _join(k, inf.source, context), "to": _join(k, inf.target, context),
                    "rate": inf.rate.text,
                    "sources": {_join(k, cid, ctx): weight for cid, weight in inf.sources.items()
                                for ctx in itertools.product(*others)},
                    "tally": _split_tallies(inf.tally, splits, context_of)})
    return transitions, infections


def _product_outputs(components: list[ModelSpec]) -> dict:
    """The components' outputs, their patterns lifted to the product's compartments."""
    outputs = {}
    for k, spec in enumerate(components):
        for name, out in spec.outputs.items():
            entry = {"long_name": out.long_name, "scale": out.scale,
                     **{key: value for key, value in out.attrs}}
            if out.is_tally_ratio:
                entry.update(numerator_tally=out.numerator_tally,
                             denominator_tally=out.denominator_tally)
            else:
                entry.update(numerator=[_lift(p, k, len(components)) for p in out.numerator],
                             denominator=[_lift(p, k, len(components)) for p in out.denominator])
            outputs[name] = entry
    return outputs


def _lifted(states: tuple[str, ...], k: int, ids: tuple[str, ...]) -> tuple[str, ...]:
    """The product compartments whose ``k``-th component state is one of ``states``."""
    chosen = set(states)
    return tuple(cid for cid in ids if cid.split(SEPARATOR)[k] in chosen)


def lift_arrivals(components: list[ModelSpec], ids: tuple[str, ...]) -> dict:
    """The components' arrival measures over the product's compartments ``ids``."""
    return {name: ArrivalMeasure(name, m.disease, m.long_name, _lifted(m.states, k, ids))
            for k, spec in enumerate(components) for name, m in spec.arrivals.items()}


def lift_diseases(components: list[ModelSpec], ids: tuple[str, ...]) -> dict:
    """Each component as a disease of the product (infected and detectable states lifted)."""
    out = {}
    for k, spec in enumerate(components):
        for d in spec.diseases.values():
            out[d.name] = Disease(d.name, _lifted(d.infected, k, ids),
                                  {t: _lifted(s, k, ids) for t, s in d.detectable.items()})
    return out


def _product_selection(components: list[ModelSpec], own: dict) -> dict:
    """The components' traveller categories, their factors' states lifted to the product's
    compartments and merged by category; the product's own categories are added."""
    out: dict = {}
    for k, spec in enumerate(components):
        for category, factors in spec.selection.items():
            entry = out.setdefault(category, {"factors": []})
            entry["factors"] += [{"states": [_lift(p, k, len(components)) for p in f.states],
                                  "ratio": f.ratio} for f in factors]
    for category, item in own.items():
        entry = out.setdefault(category, {"factors": []})
        if isinstance(item, dict):
            entry["factors"] += list(item.get("factors", []))
            entry.update({k: v for k, v in item.items() if k != "factors"})
    return out


def _join(k: int, state: str, context: tuple) -> str:
    parts = list(context)
    parts.insert(k, state)
    return SEPARATOR.join(parts)


def _lift(pattern: str, k: int, n: int) -> str:
    negate = pattern.startswith("!")
    parts = ["*"] * n
    parts[k] = pattern.lstrip("!")
    return ("!" if negate else "") + SEPARATOR.join(parts)


def _negations_lifted(spec: ModelSpec) -> list:
    """Patterns with exclusions cannot be lifted one by one (their union would undo the
    exclusion); lift the compartments they select instead."""
    return select(spec.infected, spec.compartment_ids)


def _matches(where: dict, context_of: dict) -> bool:
    return all(any(fnmatch.fnmatchcase(context_of.get(comp, ""), pattern) for pattern in patterns)
               for comp, patterns in where.items())


def _split_tallies(tally: tuple, splits: list, context_of: dict) -> list:
    names = list(tally)
    names += [s["name"] for s in splits if s["tally"] in tally and _matches(s["where"],
                                                                          context_of)]
    return names


def _merge_parameters(components, own: dict, problems: list) -> dict:
    merged = {}
    for spec in components:
        for name, p in spec.parameters.items():
            entry = {"value": p.value, "units": p.units, "source": p.source}
            if p.long_name:
                entry["long_name"] = p.long_name
            if p.range:
                entry["range"] = list(p.range)
            if name in merged and name not in own and (
                    merged[name]["value"], merged[name]["units"]) != (p.value, p.units):
                problems.append(f"parameters.{name} differs between components; declare it in "
                                "the product's [parameters] to choose")
            merged[name] = entry
    merged.update(own)
    return merged


def _check_rules(rules, key, names, problems, allowed) -> list:
    if not isinstance(rules, list):
        problems.append(must_be(key, "an array of tables", rules))
        return []
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            problems.append(must_be(f"{key}[{i}]", "a table", rule))
            continue
        report_unknown(rule, allowed, f"{key}[{i}]", problems)
        where = rule.get("where", {})
        if not isinstance(where, dict) or not set(where) <= set(names):
            problems.append(must_be(f"{key}[{i}].where", "a table of component = [patterns] "
                                    f"with components {names}", where))
            rule["where"] = {}
        if "component" in allowed and rule.get("component") not in names:
            problems.append(must_be(f"{key}[{i}].component", f"one of {names}",
                                    rule.get("component")))
    return [r for r in rules if isinstance(r, dict)]


def component_paths(table: dict) -> list:
    """The ``components`` entries of a product spec, checked to be a list of names."""
    components = table.get("components")
    if not isinstance(components, list) or len(components) < 2 or not all(
            isinstance(c, str) for c in components):
        raise ModelSpecError(must_be("components", "an array of at least two model names",
                                     components))
    return components
