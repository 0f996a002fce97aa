"""How mobility couples places: relocation and visiting.

Both engines (deterministic and stochastic) use this object. Per-capita rates are fixed
from the population at the start of the run, so relocation is linear in the state and
conserves the total number of people exactly.

References
----------
Balcan D, Goncalves B, Hu H, Ramasco JJ, Colizza V, Vespignani A (2010). Modeling the
spatial spread of infectious diseases: the GLobal Epidemic and Mobility computational model.
J Comput Sci 1:132-145 (time-scale separation of commuting, section 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..disease.compile import CompiledModel
from ..disease.selection import CorridorWeights
from ..mobility.matrix import Mobility


@dataclass(frozen=True)
class Coupling:
    """Per-capita mobility rates between places.

    Attributes
    ----------
    relocation : scipy.sparse.csr_array, shape (P, P)
        ``relocation[i, j]`` = persons/day moving from i to j per resident of i (1/day).
    relocation_out : ndarray, shape (P,)
        Row sums of ``relocation`` (1/day).
    away : scipy.sparse.csr_array, shape (P, P)
        ``away[i, j]`` = sigma_ij / tau: residents of i present in j per resident of i who is
        at home, from visiting layers (flow x mean stay / population; dimensionless).
    away_total : ndarray, shape (P,)
        Row sums of ``away``.
    """

    relocation: sp.csr_array
    relocation_out: np.ndarray
    away: sp.csr_array
    away_total: np.ndarray
    selected: tuple = ()
    """Relocation that does not move a random sample of its origin: ``(rates, weights)``
    pairs, ``rates`` (P, P) per-capita like ``relocation`` and ``weights`` (P, C) the
    relative propensity of each compartment to leave (``healthmob.disease.selection``), or
    a :class:`~healthmob.disease.selection.CorridorWeights` when it differs by corridor.
    The pairs' rates are part of ``relocation``; the flux moves them with their weights."""
    _operators: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        plain = self.relocation
        for rates, _ in self.selected:
            plain = plain - rates
        self._operators.update(relocation_in=_operator(sp.csr_array(plain).T),
                               relocation_plain_out=np.asarray(plain.sum(axis=1)).ravel(),
                               selected=[_selected(rates, weights)
                                         for rates, weights in self.selected],
                               away_in=_operator(self.away.T), away_out=_operator(self.away))

    @classmethod
    def none(cls, n_places: int) -> Coupling:
        """No mobility: independent places."""
        empty = sp.csr_array((n_places, n_places))
        return cls(empty, np.zeros(n_places), empty, np.zeros(n_places))

    @classmethod
    def from_mobility(cls, mobility: Mobility | None, population: np.ndarray,
                      weights: dict | None = None) -> Coupling:
        """Per-capita rates from flows (persons/day) and the starting population.

        Parameters
        ----------
        mobility : Mobility or None
            Layers with ``relocation`` or ``visiting`` coupling.
        population : ndarray, shape (P,)
            Residents per place at the start (persons); zero-population places send nobody.
        weights : dict of str to ndarray (P, C) or CorridorWeights, optional
            Per relocation layer, the relative propensity of each compartment to leave,
            normalised so that ``sum(weights * state) = population`` at the start (the
            layer's flow is kept; only who moves changes).
        """
        n = len(population)
        if mobility is None:
            return cls.none(n)
        inv = sp.diags_array(np.where(population > 0, 1.0 / np.maximum(population, 1e-300), 0.0))
        relocation = sp.csr_array(inv @ mobility.total_flow("relocation"))
        away = sp.csr_array((n, n))
        for layer in mobility.layers.values():
            if layer.coupling == "visiting":
                away = away + layer.flow * layer.stay_days
        away = sp.csr_array(inv @ away)
        selected = []
        for name, w in (weights or {}).items():
            layer = mobility.layers.get(name)
            if layer is not None and layer.coupling == "relocation" and layer.flow.nnz:
                rates = sp.csr_array(inv @ layer.flow)
                rates.setdiag(0.0)
                rates.eliminate_zeros()
                selected.append((rates, w if isinstance(w, CorridorWeights)
                                 else np.asarray(w, dtype=float)))
        for matrix in (relocation, away):
            matrix.setdiag(0.0)
            matrix.eliminate_zeros()
        return cls(relocation, np.asarray(relocation.sum(axis=1)).ravel(),
                   away, np.asarray(away.sum(axis=1)).ravel(), tuple(selected))

    @property
    def has_visiting(self) -> bool:
        """True when any visiting layer has a non-zero flow."""
        return self.away.nnz > 0

    def force(self, compiled: CompiledModel, x: np.ndarray) -> np.ndarray:
        """Force of infection felt by residents of each place (1/day), shape (P, K).

        With visiting layers, residents of i spend a fraction ``away[i, j] / (1 + a_i)`` of
        their time in j: infectious and total people present in j are mixed there, and the
        force felt by residents of i averages the forces where they are (GLEaM).
        """
        if not self.has_visiting:
            return compiled.local_force(x)
        home = 1.0 / (1.0 + self.away_total)
        present_infectious, present_total = self._present(compiled.infectious(x), x, home)
        local = compiled.inf_rate * present_infectious / np.where(
            present_total > 0, present_total, 1.0)[:, None]
        return (local + self._operators["away_out"] @ local) * home[:, None]

    def _present(self, infectious: np.ndarray, x: np.ndarray, home: np.ndarray):
        """Weighted infectious people (P, K) and all people (P,) present in each place:
        the residents at home plus the visitors from elsewhere."""
        away_in = self._operators["away_in"]
        infectious = infectious * home[:, None]
        total = x.sum(axis=1) * home
        return infectious + away_in @ infectious, total + away_in @ total

    def relocation_out_rates(self, n_comp: int) -> np.ndarray:
        """Per-capita rates (1/day) of moving away, by place and compartment (P, C)."""
        ops = self._operators
        out = np.repeat(ops["relocation_plain_out"][:, None], n_comp, axis=1)
        for selected in ops["selected"]:
            out = out + selected.out
        return out

    def relocation_inflow(self, x: np.ndarray) -> np.ndarray:
        """Arrivals (persons/day) by place and compartment from relocation, (P, C): the
        flux of :meth:`relocation_flux` plus the departures."""
        return self.relocation_flux(x) + self.relocation_out_rates(x.shape[1]) * x

    def present_share(self, compiled: CompiledModel, x: np.ndarray, k: int) -> np.ndarray:
        """Weighted infectious share of infection ``k`` among the people present in each
        place (P,): what multiplies a place's transmission rate in :meth:`force`."""
        infectious, total = compiled.infectious(x)[:, [k]], x.sum(axis=1)
        if self.has_visiting:
            infectious, total = self._present(infectious, x, 1.0 / (1.0 + self.away_total))
        return np.divide(infectious[:, 0], total, out=np.zeros_like(total), where=total > 0)

    def relocation_flux(self, x: np.ndarray) -> np.ndarray:
        """dx/dt (persons/day) from relocation: arrivals minus departures, per compartment."""
        if self.relocation.nnz == 0:
            return np.zeros_like(x)
        ops = self._operators
        flux = ops["relocation_in"] @ x - ops["relocation_plain_out"][:, None] * x
        for selected in ops["selected"]:
            flux += selected.inflow(x) - selected.out * x
        return flux


@dataclass(frozen=True)
class _Selected:
    """One selected relocation layer as the flux uses it: departures ``out * x`` (rates
    (P, C), 1/day) and arrivals ``into @ (weights * x)`` with weights per origin, or, with
    weights per corridor (``weights`` None), ``into`` the block matrix of every
    compartment's (P, P) per-capita rates, applied to the state compartment by compartment
    (a (C P, C P) CSR matrix: one product of about R x C entries; on the world's 8,777
    return corridors 0.56 ms against 1.19 ms for gathering, weighting and scattering the
    corridors' (R, C) rows, docs/performance.md)."""

    out: np.ndarray
    into: object
    weights: np.ndarray | None

    def inflow(self, x: np.ndarray) -> np.ndarray:
        """Arrivals (persons/day) by place and compartment (P, C)."""
        if self.weights is not None:
            return self.into @ (self.weights * x)
        n, n_comp = x.shape
        return (self.into @ x.T.ravel()).reshape(n_comp, n).T


def _selected(rates: sp.csr_array, weights) -> _Selected:
    """:class:`_Selected` of ``rates`` (P, P, 1/day) moving people with ``weights``."""
    if not isinstance(weights, CorridorWeights):
        weights = np.asarray(weights, dtype=float)
        return _Selected(np.asarray(rates.sum(axis=1)).ravel()[:, None] * weights,
                         _operator(rates.T), weights)
    rates = sp.csr_array(rates)
    n, n_comp = rates.shape[0], weights.fallback.shape[1]
    origin = np.repeat(np.arange(n), np.diff(rates.indptr))
    moving = rates.data[:, None] * weights.at(origin, rates.indices)      # (R, C)
    out = np.zeros((n, n_comp))
    np.add.at(out, origin, moving)
    block = np.arange(n_comp, dtype=np.int64)[None, :] * n
    index = np.int32 if n * n_comp < 2**31 else np.int64    # 32-bit indices read faster
    into = sp.csr_array((moving.ravel(), ((block + rates.indices[:, None]).ravel().astype(index),
                                          (block + origin[:, None]).ravel().astype(index))),
                        shape=(n * n_comp, n * n_comp))
    return _Selected(out, into, None)


DENSE_SHARE = 0.05
"""A coupling matrix with more than this share of non-zero entries (and at most 5,000
places) is multiplied as a dense array: the world's 217 x 217 visiting matrix is 60 % full,
and BLAS multiplies it by the (P, compartments) state about 4 times faster than a sparse
product (docs/performance.md)."""


def _operator(matrix):
    """The faster form of ``matrix`` for repeated products with (P, K) arrays."""
    n = matrix.shape[0]
    if 0 < n <= 5000 and matrix.nnz > DENSE_SHARE * n * n:
        return matrix.toarray()
    return sp.csr_array(matrix)
