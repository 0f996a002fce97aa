"""What an engine returns, and the one rule for the times it reports."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Trajectory:
    """Engine output before labelling.

    Attributes
    ----------
    times : ndarray, shape (n_t,)
        Days since the start.
    state : ndarray, shape (n_t, P, C)
        Persons per place and compartment.
    tally_rates : ndarray, shape (n_t, P, n_tally)
        Tallied flows at each time (persons/day): instantaneous (deterministic engine) or
        events in the interval ending there per day (stochastic engine).
    n_evaluations : int
        Right-hand-side evaluations (deterministic) or steps (stochastic).
    """

    times: np.ndarray
    state: np.ndarray
    tally_rates: np.ndarray
    n_evaluations: int = 0


def output_times(duration_days: float, step_days: float) -> np.ndarray:
    """0, step, 2 step, ... up to ``duration_days``, ending exactly at ``duration_days``."""
    n = int(np.floor(duration_days / step_days + 1e-9))
    times = np.arange(n + 1) * step_days
    if times[-1] < duration_days - 1e-9:
        times = np.append(times, duration_days)
    return times
