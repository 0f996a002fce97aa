"""Parameters that change over time: compiled models that apply one after another.

A history run (:mod:`healthmob.history`) refits transmission and programme parameters every
year; the engines, the birthplace account and the risk stage then need the model that
applies at a given day. A :class:`Schedule` holds piecewise-constant models: ``models[k]``
applies from ``starts[k]`` (days since the start of the run) until the next start. A run
without changing parameters has one piece.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .compile import CompiledModel


@dataclass(frozen=True)
class Schedule:
    """Piecewise-constant compiled models.

    Attributes
    ----------
    starts : ndarray, shape (S,)
        Day (since the start of the run) from which each model applies; ``starts[0] = 0``,
        increasing.
    models : tuple of CompiledModel
        One per piece, compiled for the same places.
    """

    starts: np.ndarray
    models: tuple

    @classmethod
    def constant(cls, compiled: CompiledModel) -> Schedule:
        """One model for the whole run."""
        return cls(np.zeros(1), (compiled,))

    @property
    def first(self) -> CompiledModel:
        return self.models[0]

    def index_at(self, day: float) -> int:
        """Piece that applies at ``day`` (the later piece at a boundary)."""
        return int(np.clip(np.searchsorted(self.starts, day, side="right") - 1, 0,
                           len(self.models) - 1))

    def at(self, day: float) -> CompiledModel:
        """The model that applies at ``day``."""
        return self.models[self.index_at(day)]

    def pieces(self, t0: float, t1: float) -> list[tuple[float, float, CompiledModel]]:
        """``(lo, hi, model)`` for each piece overlapping ``[t0, t1]``, in order; consecutive
        models with the same rates are one piece (a projection that holds its parameters is
        integrated in one go, not restarted every year)."""
        edges = [t0, *[s for s in self.starts[1:] if t0 < s < t1], t1]
        out = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            model = self.at(lo)
            if out and _same_rates(out[-1][2], model):
                out[-1] = (out[-1][0], hi, out[-1][2])
            else:
                out.append((lo, hi, model))
        return out


def _same_rates(a: CompiledModel, b: CompiledModel) -> bool:
    """True when ``a`` and ``b`` give the same dynamics (every rate array equal)."""
    if a is b:
        return True
    pairs = [(a.tr_rate, b.tr_rate), (a.inf_rate, b.inf_rate), (a.inf_weight, b.inf_weight),
             (a.birth_rate, b.birth_rate)]
    if (a.growth_rate is None) != (b.growth_rate is None):
        return False
    if a.growth_rate is not None:
        pairs.append((a.growth_rate, b.growth_rate))
    return all(np.array_equal(x, y) for x, y in pairs)
