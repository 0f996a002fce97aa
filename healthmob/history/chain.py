"""One year of the coupled world for given forces of infection: what the history fit solves.

With the force of infection of each place held at a value ``phi`` for a year (the unknown
of :mod:`healthmob.calibration.fit`, not ``beta``), every place's chain is linear: per month
its state is carried by one matrix exponential of its generator (transitions, infections at
``phi``, deaths re-entering as births, births beyond deaths where the population grows, and
moving away on the relocation layers), batched
over places. Migrants arrive from the other places' states at the start of each month, half
before and half after the month's step (a second-order splitting of the coupling), with the
composition each relocation layer gives them. Observables are averaged over the 13 monthly
states of the year (trapezoid), as WHO and UNAIDS annual estimates are.

:func:`beta_from_force` then turns the fitted forces into transmission rates of the engine,
solving the visiting coupling of :class:`healthmob.engine.coupling.Coupling` for ``beta``:
local transmission is what remains of a place's force of infection after the infection its
residents meet abroad.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg import expm
from scipy.sparse.linalg import spsolve

from ..calibration.fit import Calibrator
from ..disease.observables import observe
from ..engine.coupling import Coupling
from ..units import DAYS_PER_YEAR

MONTHS = 12


@dataclass(frozen=True)
class YearResult:
    """What one year of the chain gives.

    Attributes
    ----------
    end : ndarray, shape (P, C)
        Persons at the end of the year.
    observed : ndarray, shape (P, n_targets)
        Each target's observable averaged over the year.
    infectious_share : ndarray, shape (P, n_targets)
        Mean over the year of the weighted infectious share of each transmission target's
        infections among the people present (nan for programme targets).
    """

    end: np.ndarray
    observed: np.ndarray
    infectious_share: np.ndarray


class WorldChain:
    """The linear chains of every place for one year (module docstring).

    Parameters
    ----------
    calibrator : Calibrator
        Its compiled unit models give how each unknown enters the rates.
    coupling : Coupling
        Relocation (who moves where) and visiting (for the infectious share).
    """

    def __init__(self, calibrator: Calibrator, coupling: Coupling):
        self.cal, self.coupling = calibrator, coupling
        base = calibrator.base
        self.n_places, self.n_comp = base.n_places, base.n_compartments
        self.target = np.where(base.tr_target >= 0, base.tr_target, base.birth_target)
        self.out_rates = coupling.relocation_out_rates(self.n_comp)

    def generators(self, values: np.ndarray, growth: np.ndarray | None = None):
        """Generators (P, C, C) of every place for the unknowns ``values`` (P, n), with
        their transition rates (P, T) and forces of infection (P, K) (1/day). ``growth``
        (P,): births beyond deaths per person per day, into the birth compartment."""
        cal, n, c = self.cal, self.n_places, self.n_comp
        tr_rate = cal.base.tr_rate.copy()
        force = np.zeros((n, len(cal.spec.infections)))
        for j, (unit, group, trans) in enumerate(zip(cal.units, cal.groups,
                                                     cal.is_transmission)):
            if trans:
                force[:, group] += values[:, j, None] * unit.inf_rate[:, group]
            else:
                tr_rate += values[:, j, None] * (unit.tr_rate - cal.base.tr_rate)
        q = np.zeros((n, c, c))
        places = np.arange(n)[:, None]
        np.add.at(q, (places, cal.base.tr_source[None], self.target[None]), tr_rate)
        np.add.at(q, (places, cal.base.inf_source[None], cal.base.inf_target[None]), force)
        q[:, np.arange(c), np.arange(c)] = 0.0
        q[:, np.arange(c), np.arange(c)] = -q.sum(axis=2) - self.out_rates
        if growth is not None:
            q[:, :, cal.base.birth_target] += growth[:, None]
        return q, tr_rate, force

    def net_migration(self, x: np.ndarray) -> np.ndarray:
        """Net arrivals by relocation per resident per day (P,) in state ``x``."""
        total = x.sum(axis=1)
        return np.divide(self.coupling.relocation_flux(x).sum(axis=1), total,
                         out=np.zeros_like(total), where=total > 0)

    def year(self, x0: np.ndarray, values: np.ndarray, growth: np.ndarray | None = None,
             days: float = DAYS_PER_YEAR) -> YearResult:
        """Carry ``x0`` (P, C) through one year at the unknowns ``values`` (P, n) and the
        births beyond deaths ``growth`` (P,; 1/day)."""
        q, tr_rate, force = self.generators(values, growth)
        h = days / MONTHS
        step = expm(np.transpose(q, (0, 2, 1)) * h)  # column form: x_next = E @ x
        states = [x0]
        x = x0
        for _ in range(MONTHS):
            half = 0.5 * h * self.coupling.relocation_inflow(x)
            x = np.einsum("pij,pj->pi", step, x + half) + half
            states.append(x)
        states = np.array(states)
        weights = np.full(MONTHS + 1, 1.0 / MONTHS)
        weights[[0, -1]] *= 0.5
        base = self.cal.base
        flows = (states[:, :, base.tr_source] * tr_rate[None]) @ base.tally_tr \
            + (states[:, :, base.inf_source] * force[None]) @ base.tally_inf
        observed = np.stack([np.tensordot(weights, observe(self.cal.spec, t.observable, states,
                                                            flows), axes=1)
                             for t in self.cal.targets], axis=1)
        share = np.full(observed.shape, np.nan)
        for j, (unit, group, trans) in enumerate(zip(self.cal.units, self.cal.groups,
                                                     self.cal.is_transmission)):
            if trans:
                k = int(np.argmax(group))
                share[:, j] = np.tensordot(weights, np.stack(
                    [self.coupling.present_share(unit, s, k) for s in states]), axes=1)
        return YearResult(x, observed, share)


def beta_from_force(coupling: Coupling, unit_rate: np.ndarray, phi: np.ndarray,
                    share: np.ndarray, low: float) -> tuple[np.ndarray, np.ndarray]:
    """Transmission rates whose engine force of infection is ``phi * unit_rate``.

    Residents of place i feel ``home_i * sum_j (delta_ij + away_ij) L_j`` with
    ``L_j = beta_j * unit_rate_j * share_j`` (:meth:`Coupling.force`); this solves that
    linear system for ``beta``. Where the infection residents meet abroad already exceeds
    ``phi``, ``beta`` is ``low`` and the place is returned as ``capped``.

    Parameters
    ----------
    coupling : Coupling
    unit_rate : ndarray, shape (P,)
        Transmission rate of the group's first infection at ``beta = 1``.
    phi : ndarray, shape (P,)
        Fitted force per unit rate.
    share : ndarray, shape (P,)
        Mean weighted infectious share of the people present in each place.
    low : float
        Smallest allowed ``beta`` (base units).
    """
    home = 1.0 / (1.0 + coupling.away_total)
    rhs = phi * unit_rate / home
    system = sp.identity(len(phi), format="csc") + sp.csc_matrix(coupling.away)
    local = np.atleast_1d(spsolve(system, rhs))
    denominator = unit_rate * share
    beta = np.divide(local, denominator, out=np.full_like(local, low), where=denominator > 0)
    capped = beta < low
    return np.maximum(beta, low), capped
