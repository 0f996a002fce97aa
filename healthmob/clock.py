"""Pacing of progress lines: a long loop logs where it is at most every few seconds.

Deterministic runs, endemic fits and history fits can take minutes without a member to
count; their loops ask :meth:`Pace.due` on every pass (a clock read, about 50 ns) and log
one line when it says so.
"""

from __future__ import annotations

import time

PROGRESS_EVERY_SECONDS = 10.0
"""Wall time between two progress lines of one loop (s)."""


class Pace:
    """True at most once every ``seconds`` of wall time, counted from its creation."""

    def __init__(self, seconds: float = PROGRESS_EVERY_SECONDS):
        self.seconds = seconds
        self._last = time.monotonic()

    def due(self) -> bool:
        """Whether ``seconds`` have passed since the last True (or the creation)."""
        now = time.monotonic()
        if now - self._last < self.seconds:
            return False
        self._last = now
        return True
