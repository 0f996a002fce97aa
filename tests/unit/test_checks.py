"""The one validation mechanism (healthmob/checks.py) and how a scenario uses it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from healthmob.checks import (
    REQUIRED,
    Duration,
    Flag,
    Number,
    Numbers,
    OneOf,
    Section,
    Strings,
    check_table,
    is_number,
    setting,
)
from healthmob.errors import ConfigError
from healthmob.scenario import parse_scenario


def test_numbers_are_finite_and_never_booleans():
    assert is_number(1) and is_number(0.5)
    assert not any(is_number(v) for v in (True, False, math.nan, math.inf, "1", None))


@pytest.mark.parametrize("constraint, good, bad, text", [
    (Number(low=0, low_open=True), [1e-9, 3], [0, -1, True], "a number > 0"),
    (Number(0, 1), [0, 1, 0.5], [1.5, -0.1, math.nan], "a number in [0, 1]"),
    (Number(low=1, integer=True), [1, 7], [0, 1.0, "2"], "an integer >= 1"),
    (OneOf(("a", "b")), ["a"], ["c", 1], "one of ['a', 'b']"),
    (Flag(), [True, False], ["no", 0], "true or false"),
    (Strings(), [[], ["x"]], ["x", [1]], "an array of strings"),
    (Numbers(Number(0, 1)), [[0.5]], [[], [2], [True]],
     "a non-empty array of numbers in [0, 1]"),
    (Duration(), ["20 years", "1 day"], ["0 days", "nan days", 3, "soon"],
     "a duration '<number> <day|week|month|year>' > 0"),
])
def test_constraints_accept_and_describe(constraint, good, bad, text):
    assert all(constraint.accepts(v) for v in good)
    assert not any(constraint.accepts(v) for v in bad)
    assert constraint.text == text


@dataclass(frozen=True)
class Example(Section):
    size: int = setting(REQUIRED, Number(low=1, integer=True))
    mode: str = setting("fast", OneOf(("fast", "slow")))
    tags: tuple = setting((), Strings())
    source: str | None = setting(None, OneOf(("x",)), key="from")


def test_one_function_reports_every_problem_in_one_shape():
    problems = []
    filled = check_table({"mode": "medium", "colour": 1}, Example.keys(), "example", problems)
    assert problems == [
        "example.colour is not a known key; valid keys: ['from', 'mode', 'size', 'tags']",
        "example.size is required",
        "example.mode must be one of ['fast', 'slow']; got 'medium'"]
    assert filled == {"size": None, "mode": "fast", "tags": (), "from": None}


def test_a_value_that_is_not_a_table_is_one_problem():
    problems = []
    Example.from_table(3, "example", problems)
    assert problems == ["example must be a table; got 3"]


def test_sections_fill_defaults_and_write_back_what_the_file_says():
    problems = []
    section = Example.from_table({"size": 2, "tags": ["a"], "from": "x"}, "example", problems)
    assert problems == []
    assert section == Example(size=2, mode="fast", tags=("a",), source="x")
    assert section.to_table() == {"size": 2, "mode": "fast", "tags": ["a"], "from": "x"}


def test_a_scenario_reports_every_bad_section_at_once(places_csv):
    table = {"name": "bad", "model": "seir", "seed": True, "colour": 1,
             "places": {"source": str(places_csv)}, "time": "soon", "solver": {"rtol": 0},
             "initial": {"method": "fractions", "fractions": {"S": 1.0}},
             "risk": {"policies": {"x": 3}}, "ensemble": {"members": 0, "sweep": 3},
             "mobility": {"layers": "air"}, "cluster": {"kind": "lsf"}}
    with pytest.raises(ConfigError) as info:
        parse_scenario(table)
    message = str(info.value)
    for expected in ("colour is not a known key", "seed must be an integer in [0, 2^64); got True",
                     "time must be a table; got 'soon'", "solver.rtol must be a number > 0",
                     "risk.policies.x must be a table; got 3",
                     "ensemble.members must be an integer >= 1; got 0",
                     "ensemble.sweep must be a table; got 3",
                     "mobility.layers must be an array of strings; got 'air'",
                     "cluster.kind must be one of ['slurm', 'pbs']; got 'lsf'"):
        assert expected in message, expected
    assert message.startswith("<config>: 9 problems: ")


def test_the_config_as_run_reads_back_to_the_same_scenario(small_config):
    from healthmob.scenario import load_scenario

    scenario = load_scenario(small_config)
    again = parse_scenario(scenario.to_table())
    assert again.to_table() == scenario.to_table()
    assert again.time == scenario.time and again.initial == scenario.initial
