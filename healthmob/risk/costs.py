"""``[costs]``: unit costs of screening and preventive treatment (docs/risk.md).

The defaults are UK costs from the literature, each with its source; their price years
differ and none is inflated, so a ministry should give its own (``[costs]`` in a config).
A test without a unit cost makes the policies that use it report no cost (NaN), never 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checks import Number, Section, Table, Text, must_be, setting

DEFAULT_TESTS = {"cxr": 23.24, "igra": 25.67}
"""GBP per person tested: chest X-ray and QuantiFERON, Hardy et al. 2010 Thorax 65:178
(unit costs of the 2007 London pilot of new-entrant screening)."""
DEFAULT_PREVENTIVE_TREATMENT = 192.86
"""GBP per person starting 3 months of rifampicin and isoniazid, with monitoring: the
micro-costing of LTBI testing and treatment in secondary care in England (medRxiv 2025,
doi:10.1101/2025.01.29.25321354; a preprint)."""


@dataclass(frozen=True)
class CostsConfig(Section):
    """``[costs]``: ``currency``, ``tests`` (cost per person tested, by test),
    ``preventive_treatment`` (cost per person starting it)."""

    currency: str = setting("GBP", Text(nonempty=True))
    tests: dict = setting(DEFAULT_TESTS, Table())
    preventive_treatment: float = setting(DEFAULT_PREVENTIVE_TREATMENT, Number(low=0))

    def test_cost(self, test: str) -> float:
        """Cost per person tested with ``test`` (NaN when none is given)."""
        return float(self.tests.get(test, np.nan))


def parse_costs(table, problems: list[str], where: str = "costs") -> CostsConfig:
    """Check ``[costs]``: every unit cost a finite number >= 0."""
    cfg = CostsConfig.from_table(table, where, problems)
    for test, value in cfg.tests.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not np.isfinite(value) or value < 0:
            problems.append(must_be(f"{where}.tests.{test}", "a number >= 0 (cost per person "
                                    f"tested, in {cfg.currency})", value))
    return cfg
