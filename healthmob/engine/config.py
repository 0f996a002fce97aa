"""The engine's config sections: ``[time]``, ``[solver]`` and the ``engine`` key.

Keys and defaults are the fields below (docs/config.md); :mod:`healthmob.checks` checks them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .. import units as _units
from ..checks import Date, Duration, Number, OneOf, Section, setting

ENGINES = ("deterministic", "stochastic")
"""``deterministic``: :mod:`healthmob.engine.ode`; ``stochastic``:
:mod:`healthmob.engine.binomial` (members through :mod:`healthmob.ensemble`)."""
SOLVER_METHODS = ("RK45", "RK23", "DOP853", "LSODA", "Radau", "BDF")
POSITIVE = Number(low=0, low_open=True)


@dataclass(frozen=True)
class TimeConfig(Section):
    """``[time]``: calendar date of day 0, length of the run and output interval."""

    start: dt.date = setting(dt.date(2022, 1, 1), Date())
    duration: str = setting("1 year", Duration())
    step: str = setting("1 day", Duration())

    @property
    def duration_days(self) -> float:
        """Length of the simulation (days)."""
        return _units.parse_duration(self.duration)

    @property
    def step_days(self) -> float:
        """Output interval (days)."""
        return _units.parse_duration(self.step)


@dataclass(frozen=True)
class SolverConfig(Section):
    """``[solver]``: the deterministic engine's scipy.integrate.solve_ivp options."""

    method: str = setting("BDF", OneOf(SOLVER_METHODS))
    rtol: float = setting(1e-6, POSITIVE)
    atol: float = setting(1e-6, POSITIVE)
