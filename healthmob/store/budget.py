"""The memory budget a run is checked against before it starts (docs/config.md, ``[output]
memory_gb``): by default half of this machine's physical memory."""

from __future__ import annotations

import os

DEFAULT_SHARE = 0.5


def machine_memory_bytes() -> float:
    """Physical memory of this machine (bytes; 0 where the system does not say)."""
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0.0


def memory_budget(memory_gb: float) -> float:
    """The budget in bytes: ``memory_gb`` when given (> 0), else half the machine's memory
    (no limit where the machine's memory is unknown)."""
    if memory_gb > 0:
        return memory_gb * 1e9
    machine = machine_memory_bytes()
    return machine * DEFAULT_SHARE if machine > 0 else float("inf")
