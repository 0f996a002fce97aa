"""The ``[birthplace]`` section: how the foreign-born are counted (docs/config.md).

``bands`` are the years-since-entry bands of the outputs, ``[lower, upper)`` in whole
years, contiguous from 0 and ending open (``inf``); ``top_origins`` the number of countries
of birth each destination reports by name (its largest stocks), or ``origins`` a fixed list
of them; the rest are grouped by ``region_column`` of the places table (the WHO region).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..checks import Flag, Number, Section, Strings, Text, must_be, setting

DEFAULT_BANDS = ((0.0, 2.0), (2.0, 5.0), (5.0, 10.0), (10.0, math.inf))
DEFAULT_REGION_COLUMN = "who_region"


@dataclass(frozen=True)
class BirthplaceConfig(Section):
    """``[birthplace]``: native- and foreign-born, by years since entry and country of birth."""

    enabled: bool = setting(True, Flag())
    bands: tuple = setting(DEFAULT_BANDS, None)
    top_origins: int = setting(10, Number(low=0, integer=True))
    origins: tuple = setting((), Strings())
    region_column: str | None = setting(None, Text(nonempty=True))
    """Places column of the regions of birth; None: ``who_region`` when the table has it
    (the world table does), else every unnamed origin is of an unknown region."""

    def regions_from(self, columns) -> str | None:
        """The column the regions are read from, or None when there is none."""
        if self.region_column is not None:
            return self.region_column
        return DEFAULT_REGION_COLUMN if DEFAULT_REGION_COLUMN in columns else None

    @property
    def n_slots(self) -> int:
        """Slots of the cohort account: one per completed year below the last finite band
        edge, plus the open slot."""
        return int(self.bands[-1][0]) + 1

    def band_of_slot(self) -> list[int]:
        """The band of each slot (slot s holds completed years since entry s)."""
        out = []
        for s in range(self.n_slots):
            out.append(next(k for k, (lo, hi) in enumerate(self.bands) if lo <= s < hi))
        return out

    def band_labels(self) -> list[str]:
        """``"0-1"``, ``"2-4"``, ..., ``"10+"`` (completed years since entry)."""
        return [f"{int(lo)}+" if math.isinf(hi) else f"{int(lo)}-{int(hi) - 1}"
                for lo, hi in self.bands]


def parse_birthplace(table, where: str, problems: list[str],
                     place_ids: set[str] | None = None,
                     columns: set[str] | None = None) -> BirthplaceConfig:
    """Check ``[birthplace]`` and fill its defaults.

    ``place_ids`` and ``columns`` (of the places table), when given, check ``origins`` and
    ``region_column``.
    """
    cfg = BirthplaceConfig.from_table(table, where, problems)
    bands = _bands(cfg.bands, f"{where}.bands", problems)
    for pid in cfg.origins:
        if place_ids is not None and pid not in place_ids:
            problems.append(f"{where}.origins: {pid!r} is not a place of the scenario")
    if columns is not None and cfg.region_column is not None \
            and cfg.region_column not in columns:
        problems.append(must_be(f"{where}.region_column", f"a column of the places table "
                                f"{sorted(columns)}", cfg.region_column))
    return BirthplaceConfig(cfg.enabled, bands, cfg.top_origins, cfg.origins,
                            cfg.region_column)


def _bands(value, where: str, problems: list[str]) -> tuple:
    """Bands as ``((lo, hi), ...)``: whole years, contiguous from 0, the last one open."""
    text = ("an array of [lower, upper] pairs of whole years, contiguous from 0 and ending "
            "with [n, inf], e.g. [[0, 2], [2, 5], [5, 10], [10, inf]]")
    try:
        bands = tuple((float(lo), float(hi)) for lo, hi in value)
    except (TypeError, ValueError):
        problems.append(must_be(where, text, value))
        return DEFAULT_BANDS
    finite = [b for pair in bands for b in pair if not math.isinf(b)]
    ok = (bands and bands[0][0] == 0 and math.isinf(bands[-1][1])
          and all(float(b).is_integer() for b in finite)
          and all(hi > lo for lo, hi in bands)
          and all(bands[k][1] == bands[k + 1][0] for k in range(len(bands) - 1))
          and len(bands) > 1 and bands[-1][0] <= 50)
    if not ok:
        gaps = [f"{bands[k][1]:g} != {bands[k + 1][0]:g}" for k in range(len(bands) - 1)
                if bands[k][1] != bands[k + 1][0]] if bands else []
        problems.append(must_be(where, text, [list(b) for b in bands])
                        + (f" (gap or overlap: {', '.join(gaps)})" if gaps else ""))
        return DEFAULT_BANDS
    return bands
