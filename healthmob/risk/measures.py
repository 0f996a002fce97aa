"""Compartment masks of the risk stage, from the model's ``[arrivals]`` measures and its
diseases (numpy only).

A measure (``tb_active``, ``hiv_in_window``...) is a set of compartments of one disease; a
disease knows who is infected with it and which compartments each of its tests detects
(:class:`healthmob.disease.spec.Disease`, lifted to a product's compartments).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..disease.spec import ModelSpec


@dataclass(frozen=True)
class Masks:
    """Boolean masks over the compartments (length C)."""

    measures: dict[str, np.ndarray]
    infected: dict[str, np.ndarray]
    """Per disease: infected with it."""
    detectable: dict[str, dict[str, np.ndarray]]
    """Per disease, per test: the compartments the test detects."""
    symptomatic: np.ndarray

    @classmethod
    def of(cls, spec: ModelSpec) -> Masks:
        ids = spec.compartment_ids

        def mask(states) -> np.ndarray:
            return np.isin(ids, states)

        return cls({name: mask(m.states) for name, m in spec.arrivals.items()},
                   {name: mask(d.infected) for name, d in spec.diseases.items()},
                   {name: {t: mask(s) for t, s in d.detectable.items()}
                    for name, d in spec.diseases.items()},
                   np.array([c.symptomatic for c in spec.compartments]))

    @property
    def names(self) -> list[str]:
        """The measures, in the model's order."""
        return list(self.measures)

    def stack(self) -> np.ndarray:
        """(measure, compartment) as floats, for one matrix product per batch."""
        return np.array([self.measures[name] for name in self.names], dtype=float)
