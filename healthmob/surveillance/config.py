"""The ``[surveillance]`` section of a run config, and the checks it gets before a run.

``observed`` names an observed table (a CSV of ``docs/surveillance.md`` relative to the
config's folder, or a shipped table: ``who-notifications``, ``england-wales``); empty, the
run has no surveillance stage. The table is read and checked against the run's places and
whole years when the config is loaded, so that a bad table stops the run before its folder
exists.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ..checks import Section, Text, setting
from ..errors import DataError
from .observed import SHIPPED, observed_file, read_observed, within_run
from .rows import check_places_and_years, check_strata, run_years


@dataclass(frozen=True)
class SurveillanceConfig(Section):
    """``[surveillance]``: the observed notifications the run is compared with."""

    observed: str = setting("", Text())


def check_observed(value: str, places: dict[str, float], bands: list[str], start: dt.date,
                   duration_days: float, base_dir: Path | None) -> str | None:
    """The first problem of an observed table for a run of these places (id -> population),
    entry bands and dates (None when there is none): unreadable, a row outside the run's
    places or whole years, a count above the place's population, a stratum the model cannot
    count. Countries of birth are checked once the run is prepared
    (:func:`check_observed_strata`: they depend on its origin groups)."""
    try:
        path = observed_file(value, base_dir)
        table = read_observed(path)
    except DataError as exc:
        return str(exc)
    if value in SHIPPED:
        return None
    try:
        check_places_and_years(table, path, set(places), run_years(start, duration_days))
        check_strata(table, path, list(places), bands, None)
    except DataError as exc:
        return str(exc)
    population = table["reporting_place"].map(places)
    above = (table["count"] > population).to_numpy().nonzero()[0]
    if len(above):
        row = int(above[0])
        return (f"{path}: row {table['row'].iloc[row]}: count {table['count'].iloc[row]:.0f} "
                f"is more than "
                f"the {population.iloc[row]:,.0f} people of {table['reporting_place'].iloc[row]}")
    return None


def check_observed_strata(value: str, base_dir: Path | None, places: list[str],
                          bands: list[str], origin_labels) -> None:
    """Raise DataError for a row whose stratum the prepared run cannot count
    (:func:`~healthmob.surveillance.expected.check_strata`); a shipped table is cut to the
    run's places first."""
    path = observed_file(value, base_dir)
    table = read_observed(path)
    if value in SHIPPED:
        table = within_run(table, places)
    check_strata(table, path, places, bands, origin_labels)
