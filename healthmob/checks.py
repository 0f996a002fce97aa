"""Checks of user tables: constraints as data, one function, one message template.

Every config section declares its keys as data: a frozen dataclass (:class:`Section`) whose
fields are :func:`setting` s, each with its default and a :class:`Constraint`. One function,
:func:`check_table`, checks a parsed TOML table against such keys and reports every problem
in one of three shapes (docs/architecture.md; scikit-learn's ``_parameter_constraints`` is
the model)::

    <where>.<key> must be <constraint>; got <value>
    <where>.<key> is not a known key; valid keys: [...]
    <where>.<key> is required

(a name that is not a key, such as a compartment, reads ``is not a known compartment;
valid compartments: [...]``). Problems are collected in a list so that a file reports all
of them at once; the caller raises one error naming the file.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from . import units as _units


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""Default of a key that has none: leaving it out is a problem."""


def label(where: str, key: str) -> str:
    """``where.key`` (just ``key`` at the top level of a file)."""
    return f"{where}.{key}" if where else str(key)


def must_be(where: str, text: str, value) -> str:
    """The one message for a bad value: ``<where> must be <text>; got <value>``."""
    return f"{where} must be {text}; got {value!r}"


def unknown_key(where: str, valid, what: str = "key") -> str:
    """The one message for a name nobody knows (a key, a compartment, a parameter...), with
    the valid names: ``<where> is not a known <what>; valid <what>s: [...]``."""
    return f"{where} is not a known {what}; valid {what}s: {sorted(valid, key=str)}"


def is_number(value) -> bool:
    """True for a finite int or float that is not a bool (TOML ``true`` is no number)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


RUN_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")


class Constraint:
    """What a value must be: its description for messages, a test, and a conversion."""

    text = "any value"

    def accepts(self, value) -> bool:
        """Whether ``value`` satisfies the constraint."""
        return True

    def convert(self, value):
        """The value as stored in a section (arrays become tuples)."""
        return value


@dataclasses.dataclass(frozen=True)
class Number(Constraint):
    """A finite number (not a bool), optionally an integer, within bounds."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    integer: bool = False

    @property
    def text(self) -> str:
        kind = "an integer" if self.integer else "a number"
        if self.low is not None and self.high is not None:
            return f"{kind} in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"
        if self.low is not None:
            return f"{kind} {'>' if self.low_open else '>='} {self.low:g}"
        return kind

    def accepts(self, value) -> bool:
        if not is_number(value) or (self.integer and not isinstance(value, int)):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or value <= self.high


@dataclasses.dataclass(frozen=True)
class OneOf(Constraint):
    """One of a fixed set of names."""

    options: tuple

    @property
    def text(self) -> str:
        return f"one of {list(self.options)}"

    def accepts(self, value) -> bool:
        return isinstance(value, str) and value in self.options


@dataclasses.dataclass(frozen=True)
class Text(Constraint):
    """A string (non-empty when ``nonempty``)."""

    nonempty: bool = False

    @property
    def text(self) -> str:
        return "a non-empty string" if self.nonempty else "a string"

    def accepts(self, value) -> bool:
        return isinstance(value, str) and (bool(value.strip()) or not self.nonempty)


class RunName(Constraint):
    """A run name: letters, digits, ``-``, ``_`` and ``.``, not starting with ``.``, at most
    100 characters (it names a folder inside the output folder, never a path)."""

    text = ("a run name: letters, digits, '-', '_' and '.', not starting with '.', at most "
            "100 characters")

    def accepts(self, value) -> bool:
        return isinstance(value, str) and RUN_NAME.fullmatch(value) is not None


@dataclasses.dataclass(frozen=True)
class Seed(Number):
    """A root seed: an integer in [0, 2^64) (what numpy's seed sequence and NetCDF take)."""

    low: float | None = 0
    high: float | None = 2**64 - 1
    integer: bool = True

    @property
    def text(self) -> str:
        return "an integer in [0, 2^64)"


SEED = Seed()


class Flag(Constraint):
    """TOML ``true`` or ``false`` (never a string such as ``"no"``)."""

    text = "true or false"

    def accepts(self, value) -> bool:
        return isinstance(value, bool)


class Strings(Constraint):
    """An array of strings, stored as a tuple."""

    text = "an array of strings"

    def accepts(self, value) -> bool:
        return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)

    def convert(self, value):
        return tuple(value)


@dataclasses.dataclass(frozen=True)
class Numbers(Constraint):
    """A non-empty array of numbers, each satisfying ``each``; stored as a tuple."""

    each: Number = Number()

    @property
    def text(self) -> str:
        return f"a non-empty array of {self.each.text.replace('a number', 'numbers', 1)}"

    def accepts(self, value) -> bool:
        return isinstance(value, (list, tuple)) and bool(value) and all(
            self.each.accepts(v) for v in value)

    def convert(self, value):
        return tuple(value)


class Duration(Constraint):
    """A positive duration such as ``"20 years"`` (:func:`healthmob.units.parse_duration`)."""

    text = "a duration '<number> <day|week|month|year>' > 0"

    def accepts(self, value) -> bool:
        try:
            days = _units.parse_duration(value) if isinstance(value, str) else 0.0
        except ValueError:
            return False
        return math.isfinite(days) and days > 0


class Date(Constraint):
    """A TOML local date (``2022-01-01``), not a date-time."""

    text = "a date such as 2022-01-01"

    def accepts(self, value) -> bool:
        return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


class Table(Constraint):
    """A TOML table, kept as a dict for the stage to read."""

    text = "a table"

    def accepts(self, value) -> bool:
        return isinstance(value, dict)


class Tables(Constraint):
    """An array of tables, stored as a tuple of dicts."""

    text = "an array of tables"

    def accepts(self, value) -> bool:
        return isinstance(value, (list, tuple)) and all(isinstance(v, dict) for v in value)

    def convert(self, value):
        return tuple(value)


def setting(default=REQUIRED, constraint: Constraint | None = None, *, key: str = ""):
    """A dataclass field that is a config key: its default and what its value must be.

    ``key`` is the name in the file when it differs from the field's (``from``).
    """
    metadata = {"constraint": constraint or Constraint(), "key": key}
    if isinstance(default, (dict, list, set)):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default),
                                 metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def check_table(table, keys: Mapping[str, tuple], where: str,
                problems: list[str]) -> dict:
    """Check ``table`` against ``keys`` (name -> (default, constraint)); fill the defaults.

    Every problem is appended to ``problems`` in the shapes of the module docstring. A bad
    or missing value is replaced by its default (None for a required key), so that the
    caller can go on checking and report every problem at once.
    """
    if not isinstance(table, dict):  # reported once; its keys are not checked
        problems.append(must_be(where, "a table", table))
        return {key: None if default is REQUIRED else copy.deepcopy(default)
                for key, (default, _) in keys.items()}
    for extra in sorted(set(table) - set(keys), key=str):
        problems.append(unknown_key(label(where, extra), keys))
    out = {}
    for key, (default, constraint) in keys.items():
        fallback = None if default is REQUIRED else copy.deepcopy(default)
        if key not in table:
            if default is REQUIRED:
                problems.append(f"{label(where, key)} is required")
            out[key] = fallback
        elif not constraint.accepts(table[key]):
            problems.append(must_be(label(where, key), constraint.text, table[key]))
            out[key] = fallback
        else:
            out[key] = constraint.convert(table[key])
    return out


class Section:
    """Base of the typed config sections: frozen dataclasses whose fields are settings.

    Subclasses declare their keys as :func:`setting` fields; :meth:`from_table` checks a
    table with :func:`check_table` and builds the section; :meth:`to_table` gives it back as
    TOML data (``config.toml`` of a run). Fields without setting metadata are derived
    values filled by the stage (they are written only when ``WRITTEN`` lists them).
    """

    WRITTEN: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def keys(cls) -> dict[str, tuple]:
        """File key -> (default, constraint) of every setting of the section."""
        out = {}
        for f in dataclasses.fields(cls):
            if "constraint" not in f.metadata:
                continue
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            out[f.metadata["key"] or f.name] = (default, f.metadata["constraint"])
        return out

    @classmethod
    def from_table(cls, table, where: str, problems: list[str], **derived):
        """Check ``table`` and build the section (``derived``: the non-setting fields)."""
        values = check_table(table, cls.keys(), where, problems)
        names = {f.metadata["key"] or f.name: f.name for f in dataclasses.fields(cls)
                 if "constraint" in f.metadata}
        return cls(**{names[k]: v for k, v in values.items()}, **derived)

    def to_table(self) -> dict:
        """The section as TOML data: every setting, then the ``WRITTEN`` derived fields."""
        out = {}
        for f in dataclasses.fields(self):
            if "constraint" in f.metadata or f.name in self.WRITTEN:
                value = getattr(self, f.name)
                if value is not None:
                    out[f.metadata.get("key") or f.name] = tomlable(value)
        return out


def tomlable(value):
    """``value`` as TOML data: sections as tables, tuples as arrays, None left out."""
    if isinstance(value, Section):
        return value.to_table()
    if isinstance(value, Mapping):
        return {str(k): tomlable(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [tomlable(v) for v in value]
    return value


def report_unknown(item: dict, allowed, where: str, problems: list[str]) -> None:
    """Report every key of ``item`` that is not in ``allowed`` (``where`` its table)."""
    for extra in sorted(set(item) - set(allowed), key=str):
        problems.append(unknown_key(label(where, extra), allowed))


def is_table(item, where: str, problems: list[str], allowed=None) -> bool:
    """Whether ``item`` is a table (its keys outside ``allowed`` reported); else a problem."""
    if not isinstance(item, dict):
        problems.append(must_be(where, "a table", item))
        return False
    if allowed is not None:
        report_unknown(item, allowed, where, problems)
    return True


def table_list(value, where: str, problems: list[str]) -> list:
    """``value`` when it is an array; otherwise a problem and ``[]``."""
    if not isinstance(value, list):
        problems.append(must_be(where, "an array of tables", value))
        return []
    return value
