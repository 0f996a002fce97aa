"""The sparse Jacobian the implicit solvers (BDF, Radau) of the deterministic engine use.

The right-hand side is ``dx/dt = x Q_p(lambda_p)`` in each place ``p`` (the chain of one
individual, transitions and infections at the current force of infection ``lambda``, deaths
re-entering as births when the model replaces them, births beyond deaths), plus relocation
(departures ``-out * x``, arrivals from other places). The Jacobian given here is the
block-diagonal part: ``Q_p(lambda_p)^T`` per place, the departures on the diagonal and the
births beyond deaths. Two terms are left out, both slow against the steps' ``1/h``: the
change of the force of infection with the state (transmission acts over months, not days)
and relocation arrivals (at most a few per 1,000 a year). An approximate Jacobian changes
how fast the solver's Newton iterations converge, never the solution it accepts: the
local error test is on the converged step, and scipy re-evaluates the Jacobian whenever
Newton's convergence slows (Hairer and Wanner 1996, IV.8).

Why: the model's fastest states (the HIV test window, 6 stages of about 3 days; the first
weeks of TB infection) make an explicit method take steps of about 5 days over decades
whose outputs change over months (docs/performance.md has the counts). The block Jacobian
has no fill across places; ordered by the minimum-degree ordering of one place's block
(``A + A^T``, the same in every place), SuperLU factors the world's 26,040 states with about
2 entries per non-zero, where scipy's default (COLAMD) gives 15 and takes 3 times longer.

References
----------
Hairer E, Wanner G (1996). Solving Ordinary Differential Equations II: Stiff and
Differential-Algebraic Problems. 2nd ed. Springer (IV.8, inexact Jacobians in Newton
iterations).
Shampine LF, Reichelt MW (1997). The MATLAB ODE suite. SIAM J Sci Comput 18:1-22 (the
NDF/BDF scheme of scipy's BDF).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.integrate import BDF, Radau
from scipy.sparse.linalg import splu

from ..disease.compile import CompiledModel
from .coupling import Coupling

IMPLICIT_METHODS = ("BDF", "Radau")
"""solve_ivp methods that are given :class:`ChainJacobian` (sparse, ordered factorisation)."""


class ChainJacobian:
    """The block-diagonal Jacobian (module docstring) as a function of the state.

    Parameters
    ----------
    compiled : CompiledModel
        Compiled for ``P`` places (rates per day).
    coupling : Coupling
        Gives the force of infection and the relocation departure rates.

    Attributes
    ----------
    ordering : ndarray of int, shape (P C,)
        A fill-reducing symmetric ordering of the state (the minimum-degree ordering of one
        place's block, the same in every place), for :class:`SparseBDF`.
    """

    def __init__(self, compiled: CompiledModel, coupling: Coupling):
        n_places, n_comp = compiled.n_places, compiled.n_compartments
        source, target = compiled.tr_source, compiled.tr_target
        alive = target >= 0
        self._reborn = compiled.replace_deaths and compiled.birth_target >= 0
        self._births = None
        every = np.arange(n_comp)
        # (row, column) of each block's entries, in the order __call__ stacks the values
        pairs = [(target[alive], source[alive]), (source, source)]
        if self._reborn:
            pairs.append((np.full(int((~alive).sum()), compiled.birth_target), source[~alive]))
        pairs += [(compiled.inf_target, compiled.inf_source),
                  (compiled.inf_source, compiled.inf_source), (every, every)]
        if compiled.birth_target >= 0 and (compiled.growth_rate is not None
                                           or not compiled.replace_deaths):
            pairs.append((np.full(n_comp, compiled.birth_target), every))
            rate = (compiled.growth_rate if compiled.growth_rate is not None
                    else compiled.birth_rate)
            self._births = np.repeat(np.broadcast_to(np.asarray(rate, dtype=float),
                                                     (n_places,))[:, None], n_comp, axis=1)
        base = (np.arange(n_places) * n_comp)[:, None]
        self._rows = np.concatenate([(base + r).ravel() for r, _ in pairs])
        self._cols = np.concatenate([(base + c).ravel() for _, c in pairs])
        self._departures = (coupling.relocation_out_rates(n_comp) if coupling.relocation.nnz
                            else np.zeros((n_places, n_comp)))
        self._alive = alive
        self._compiled, self._coupling = compiled, coupling
        self._size = n_places * n_comp
        rows = np.concatenate([r for r, _ in pairs])
        cols = np.concatenate([c for _, c in pairs])
        pattern = sp.csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_comp, n_comp))
        block = np.argsort(splu(pattern + n_comp * sp.identity(n_comp, format="csc"),
                                permc_spec="MMD_AT_PLUS_A").perm_c)
        self.ordering = (base + block[None, :]).ravel()

    def __call__(self, x: np.ndarray) -> sp.csc_matrix:
        """The Jacobian (1/day) at state ``x`` (P, C): a (P C, P C) CSC matrix in the
        engine's flat order (place-major)."""
        compiled = self._compiled
        force = self._coupling.force(compiled, x)
        rate = compiled.tr_rate
        values = [rate[:, self._alive], -rate]
        if self._reborn:
            values.append(rate[:, ~self._alive])
        values += [force, -force, -self._departures]
        if self._births is not None:
            values.append(self._births)
        data = np.concatenate([v.ravel() for v in values])
        return sp.csc_matrix((data, (self._rows, self._cols)), shape=(self._size, self._size))


def _ordered_factorisation(solver, ordering: np.ndarray | None) -> None:
    """Make ``solver`` (scipy's BDF or Radau, sparse Jacobian) factor ``A`` symmetrically
    permuted by ``ordering`` (module docstring: 3 times faster than scipy's default, with
    an eighth of the fill); left as it is without an ordering or if scipy changes the
    hooks (``lu``, ``solve_lu``)."""
    if ordering is None or not all(hasattr(solver, a) for a in ("lu", "solve_lu", "nlu")):
        return

    def lu(matrix):
        solver.nlu += 1
        permuted = sp.csc_matrix(matrix)[ordering][:, ordering].tocsc()
        return splu(permuted, permc_spec="NATURAL", relax=1, panel_size=1)

    def solve_lu(factors, b):
        solved = factors.solve(b[ordering])
        out = np.empty_like(solved)
        out[ordering] = solved
        return out

    solver.lu, solver.solve_lu = lu, solve_lu


class SparseBDF(BDF):
    """scipy's BDF factoring in a given ``ordering`` (:class:`ChainJacobian`)."""

    def __init__(self, *args, ordering: np.ndarray | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        _ordered_factorisation(self, ordering)


class SparseRadau(Radau):
    """scipy's Radau factoring in a given ``ordering``."""

    def __init__(self, *args, ordering: np.ndarray | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        _ordered_factorisation(self, ordering)


SOLVER_CLASSES = {"BDF": SparseBDF, "Radau": SparseRadau}
