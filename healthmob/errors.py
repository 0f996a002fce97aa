"""Exception hierarchy.

Every error a user can cause (a bad config, model spec, geometry or table) is a
:class:`HealthmobError`. The CLI turns these into one line on stderr and exit code 2;
anything else is a bug and keeps its traceback. Messages follow one shape::

    <where>: <name> must be <constraint>; got <value>
"""

from __future__ import annotations


class HealthmobError(Exception):
    """Base class for errors caused by user input."""


class ConfigError(HealthmobError, ValueError):
    """A run configuration (``configs/*.toml``) is invalid."""


class ModelSpecError(HealthmobError, ValueError):
    """A disease model specification (``models/*.toml``) is invalid."""


class DataError(HealthmobError, ValueError):
    """A data table, geometry or corridor layer is invalid."""


class RunError(HealthmobError, RuntimeError):
    """A run directory cannot be created, resumed or rebuilt."""


class SchemaError(RuntimeError):
    """An output dataset does not conform to the schema (:mod:`healthmob.schema`).

    A bug in healthmob, never a user error: it is not a :class:`HealthmobError`, so the CLI
    shows its traceback.
    """


def join_problems(where: str, problems: list[str]) -> str:
    """Format several problems found in one file as a single message.

    Parameters
    ----------
    where : str
        The file (or object) the problems were found in.
    problems : list of str
        One message per problem, each already naming its key or row.

    Returns
    -------
    str
        ``"<where>: <problem>"`` for one problem; otherwise a count followed by the problems
        separated by ``"; "`` so that the message stays on one line.
    """
    if len(problems) == 1:
        return f"{where}: {problems[0]}"
    return f"{where}: {len(problems)} problems: " + "; ".join(problems)
