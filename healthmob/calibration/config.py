"""The ``[initial]`` section: how each place's state at day 0 is obtained.

``method = "endemic"`` (:class:`EndemicStart`) fits the parameters of ``targets`` so that each
place's endemic state matches its data (:mod:`healthmob.calibration.initial`);
``method = "history"`` (:class:`HistoryStart`) starts there at the first year of an observed
series and refits every year to it (:mod:`healthmob.history`);
``method = "fractions"`` (:class:`FractionStart`) splits each population by fixed shares and
moves ``seeds`` in. Keys: docs/config.md.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from ..checks import (
    REQUIRED,
    Flag,
    Number,
    OneOf,
    Section,
    Strings,
    Table,
    Tables,
    Text,
    check_table,
    must_be,
    setting,
    unknown_key,
)
from ..disease.spec import ModelSpec
from .fit import Target

METHODS = ("endemic", "history", "fractions")
PROJECTIONS = ("hold", "trend")
"""After the fitted years: every yearly parameter held at its last fitted value, or its
log-linear trend over the last ``trend_years`` fitted years continued (within its bounds)."""
DEFAULT_TARGETS = ({"observable": "tb_incidence", "column": "tb_incidence_per_100k",
                    "parameter": "beta"},)
"""The endemic start's default: fit ``beta`` to the places' WHO TB incidence."""


@dataclass(frozen=True)
class EndemicStart(Section):
    """``method = "endemic"``: every place at its endemic state, fitted to its data.

    ``targets`` are fitted in priority order; a place without data takes the median of its
    ``fallback`` group; ``cache`` reads a calibration cached for the same inputs.
    """

    method: str = setting("endemic", OneOf(("endemic",)))
    targets: tuple = setting(DEFAULT_TARGETS, Tables())
    fallback: str = setting("subregion", Text())
    cache: bool = setting(True, Flag())


@dataclass(frozen=True)
class HistoryStart(Section):
    """``method = "history"``: endemic at the start, then refitted year by year.

    The start is fitted as :class:`EndemicStart` to the ``observed`` series' values of the
    start year; then every year up to ``fit_until`` the parameters named in ``yearly``
    (default: every target's) are fitted again, all places at once with mobility on, so the
    run follows the series; after ``fit_until`` they follow ``projection``.
    """

    method: str = setting("history", OneOf(("history",)))
    targets: tuple = setting(DEFAULT_TARGETS, Tables())
    fallback: str = setting("subregion", Text())
    cache: bool = setting(True, Flag())
    observed: str | None = setting(None, Text(nonempty=True))
    yearly: tuple | None = setting(None, Strings())
    fit_until: int | None = setting(None, Number(low=1900, high=2100, integer=True))
    projection: str = setting("hold", OneOf(PROJECTIONS))
    trend_years: int = setting(8, Number(low=2, high=50, integer=True))

    @property
    def yearly_parameters(self) -> tuple:
        """The parameters refitted every year."""
        return tuple(self.yearly) if self.yearly is not None else tuple(
            t.parameter for t in self.targets)


@dataclass(frozen=True)
class Seed(Section):
    """One entry of ``[initial] seeds``: move ``count`` people of ``place`` from compartment
    ``from`` (default: the model's first) into ``compartment``."""

    place: str = setting(REQUIRED, Text())
    compartment: str = setting(REQUIRED, Text())
    count: float = setting(REQUIRED, Number(low=0))
    source: str | None = setting(None, Text(), key="from")


@dataclass(frozen=True)
class FractionStart(Section):
    """``method = "fractions"``: each place split by ``fractions``, then ``seeds`` moved."""

    method: str = setting("fractions", OneOf(("fractions",)))
    fractions: dict = setting({}, Table())
    seeds: tuple = setting((), Tables())


InitialConfig = EndemicStart | HistoryStart | FractionStart


def parse_initial(table, spec: ModelSpec | None, places: pd.DataFrame | None,
                  problems: list[str]) -> InitialConfig:
    """Check ``[initial]`` against the model and the places; fill its defaults.

    ``spec`` and ``places`` are None when they could not be read (their own problems are
    reported elsewhere); the checks that need them are then left out.
    """
    if not isinstance(table, dict):
        problems.append(must_be("initial", "a table", table))
        table = {}
    method = check_table({"method": table["method"]} if "method" in table else {},
                         {"method": ("fractions", OneOf(METHODS))}, "initial",
                         problems)["method"]
    if method in ("endemic", "history"):
        given = table.get("targets", DEFAULT_TARGETS)
        kind = EndemicStart if method == "endemic" else HistoryStart
        start = kind.from_table({**table, "method": method}, "initial", problems)
        if not Tables().accepts(given):  # reported; the default targets are not checked
            return start
        columns = places if method == "endemic" else None  # history: the observed table's
        targets = tuple(_target(t, f"initial.targets[{i}]", spec, columns, problems)
                        for i, t in enumerate(start.targets))
        if not targets:
            problems.append("initial.targets must list at least one target")
        start = dataclasses.replace(start, targets=targets)
        if method == "history":
            fitted = [t.parameter for t in targets]
            for name in start.yearly_parameters:
                if name not in fitted:
                    problems.append(must_be("initial.yearly", f"parameters of the targets "
                                            f"{fitted}", name))
        return start
    start = FractionStart.from_table({**table, "method": method}, "initial", problems)
    seeds = tuple(Seed.from_table(s, f"initial.seeds[{i}]", problems)
                  for i, s in enumerate(start.seeds))
    if spec is not None:
        _check_fractions(start.fractions, spec, problems)
        for i, seed in enumerate(seeds):
            _check_seed(seed, f"initial.seeds[{i}]", spec, places, problems)
        if places is not None and not problems:
            _check_seed_counts(seeds, start.fractions, spec, places, problems)
    return FractionStart(fractions=start.fractions, seeds=seeds)


def _check_seed_counts(seeds, fractions: dict, spec: ModelSpec, places, problems) -> None:
    """Each seed moves at most the people its compartment holds at its place, after the
    fractions and the seeds before it (as :func:`.initial.fraction_start` moves them)."""
    ids = list(spec.compartment_ids)
    population = dict(zip(places["id"], places["population"]))
    held: dict = {}
    for i, seed in enumerate(seeds):
        source = seed.source or ids[0]
        there = held.get((seed.place, source),
                         float(population[seed.place]) * float(fractions.get(source, 0.0)))
        if seed.count > there * (1 + 1e-12):
            problems.append(must_be(f"initial.seeds[{i}].count", f"at most the {there:,.0f} "
                                    f"people in compartment {source} of {seed.place} (its "
                                    "population times its fraction, less earlier seeds)",
                                    seed.count))
        held[(seed.place, source)] = there - min(seed.count, there)
        into = (seed.place, seed.compartment)
        held[into] = held.get(into, float(population[seed.place]) * float(
            fractions.get(seed.compartment, 0.0))) + min(seed.count, there)


def _target(entry: dict, key: str, spec, places, problems) -> Target:
    found = len(problems)
    target = Target.from_table(entry, key, problems)
    if (target.column is None) == (target.value is None):
        problems.append(must_be(key, "a table with observable, parameter and one of column "
                                     "or value", entry))
    if spec is not None and len(problems) == found:
        observables = sorted(spec.tallies) + sorted(spec.outputs)
        if target.observable not in observables:
            problems.append(must_be(f"{key}.observable", f"a tally or output of model "
                                    f"{spec.name!r} {observables}", target.observable))
        if target.parameter not in spec.parameters:
            problems.append(must_be(f"{key}.parameter", f"a parameter of model "
                                    f"{spec.name!r}", target.parameter))
    if places is not None and target.column is not None \
            and target.column not in places.columns:
        problems.append(must_be(f"{key}.column", f"a column of the places table "
                                f"{list(places.columns)}", target.column))
    return target


def _check_fractions(fractions: dict, spec: ModelSpec, problems: list[str]) -> None:
    compartments = spec.compartment_ids
    share_ok = Number(0, 1)
    for cid, share in fractions.items():
        key = f"initial.fractions.{cid}"
        if cid not in compartments:
            problems.append(unknown_key(key, compartments, "compartment"))
        elif not share_ok.accepts(share):
            problems.append(must_be(key, share_ok.text, share))
    total = sum(v for v in fractions.values() if share_ok.accepts(v))
    valid = all(cid in compartments and share_ok.accepts(v) for cid, v in fractions.items())
    if fractions and valid and abs(total - 1.0) > 1e-9:
        problems.append(must_be("initial.fractions", "shares that sum to 1", total))
    if not fractions:
        problems.append(f"initial.fractions must give the share of each compartment, "
                        f"e.g. {{ {compartments[0]} = 1.0 }}")


def _check_seed(seed: Seed, key: str, spec: ModelSpec, places, problems) -> None:
    if places is not None and seed.place is not None and seed.place not in set(places["id"]):
        problems.append(must_be(f"{key}.place", "a place id", seed.place))
    compartments = list(spec.compartment_ids)
    for name, value in (("compartment", seed.compartment), ("from", seed.source)):
        if value is not None and value not in compartments:
            problems.append(must_be(f"{key}.{name}", f"a compartment {compartments}", value))
