"""The closed table of units that model specs and configs may use.

Rates and durations are converted once, at load, to the internal base unit of time, the
day; kernels never see a unit string. A unit not in :data:`UNITS` is an error that lists the
valid names.
"""

from __future__ import annotations

import re

DAYS_PER_YEAR = 365.25
"""Julian year (days): the conversion used for every 'year' in healthmob."""

PER_100K_YEAR = 1e5 * DAYS_PER_YEAR
"""Factor from a per-capita rate per day to a rate per 100,000 population per year."""

PER_100K_YEAR_UNITS = "1e-5 year-1"
"""CF (UDUNITS) spelling of 'per 100,000 population per year'."""

# name -> (factor to the base unit, power of time). Base units: day, dimensionless.
UNITS: dict[str, tuple[float, int]] = {
    "1": (1.0, 0),
    "dimensionless": (1.0, 0),
    "percent": (0.01, 0),
    "1/day": (1.0, -1),
    "1/week": (1.0 / 7.0, -1),
    "1/month": (12.0 / DAYS_PER_YEAR, -1),
    "1/year": (1.0 / DAYS_PER_YEAR, -1),
    "day": (1.0, 1),
    "week": (7.0, 1),
    "month": (DAYS_PER_YEAR / 12.0, 1),
    "year": (DAYS_PER_YEAR, 1),
}

CF_UNITS = {"1/day": "day-1", "1/week": "week-1", "1/month": "month-1", "1/year": "year-1",
            "day": "day", "week": "week", "month": "month", "year": "year", "1": "1",
            "dimensionless": "1", "percent": "percent"}
"""CF (UDUNITS) spelling of every unit of :data:`UNITS`."""

_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z]+?)s?\s*$")


def convert(value: float, units: str) -> tuple[float, int]:
    """Convert ``value`` given in ``units`` to the base units.

    Parameters
    ----------
    value : float
        The number as written in the spec or config.
    units : str
        A key of :data:`UNITS`.

    Returns
    -------
    (float, int)
        The value in base units (days, per day, or dimensionless) and the power of time
        (-1 for a rate, 1 for a duration, 0 for a dimensionless number).

    Raises
    ------
    KeyError
        If ``units`` is not in the table (callers turn it into a located error).
    """
    factor, power = UNITS[units]
    return value * factor, power


def parse_duration(text: str) -> float:
    """Parse a duration such as ``"20 years"`` or ``"7 day"`` into days.

    Raises
    ------
    ValueError
        If the text is not ``<number> <day|week|month|year>[s]``.
    """
    match = _DURATION.match(str(text))
    if not match or UNITS.get(match.group(2), (0, 0))[1] != 1:
        raise ValueError(f"must be '<number> <day|week|month|year>'; got {text!r}")
    return convert(float(match.group(1)), match.group(2))[0]
