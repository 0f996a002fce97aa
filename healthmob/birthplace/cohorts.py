"""The cohort account of the foreign-born: arrival cohorts carried through the model's chain.

Numeric core (numpy/scipy). In a destination j, the people born abroad form cohorts by
origin group g and completed years since entry s (0, 1, ..., ``n_slots - 2``, and one open
slot for the rest). Over a year in which the destination's force of infection is lambda, a
cohort's state (a row vector x over the compartments) follows the chain of an individual in
j, leaving it by death and by return migration:

    dx/dt = x G,    G = Q_j(lambda) - h_j I

with ``Q_j`` the sub-generator of ``CompiledModel.generator`` (deaths leave; births are
native-born, so they do not re-enter the cohort) and ``h_j`` the return hazard. Over a year
of length D, ``x(D) = x(0) E`` and the tallied flows are ``x(0) M A`` with

    E = exp(G D),   M = int_0^D exp(G s) ds,   A[c, k] = rate of tally k per person in c,

``E`` from the matrix exponential of half the year, squared, and ``M = G^-1 (E - I)``
(solved for the half year, ``M_h``; the year's is ``M_h + E_h M_h``, its first half plus
its second, carried by ``E_h``).
Arrivals during the year enter at mid-year (slot 0), with their composition at departure.
At the end of the year every cohort moves up one slot; the open slot keeps its members.
The account is linear, so it is exact for a force of infection constant within each year;
the force is the destination's own (from the metapopulation run, which carries the
migrants and so feeds them back into transmission).

References
----------
Van Loan CF (1978). Computing integrals involving the matrix exponential. IEEE Trans Autom
Control 23:395-404.
Moler C, Van Loan C (2003). Nineteen dubious ways to compute the exponential of a matrix,
twenty-five years later. SIAM Rev 45:3-49 (scaling and squaring, used by scipy's expm).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import expm

from ..units import DAYS_PER_YEAR


@dataclass(frozen=True)
class YearPropagator:
    """``E`` and ``M`` of one destination and year (year and half year)."""

    full: np.ndarray       # E over the year, (C, C)
    integral: np.ndarray   # M over the year, (C, C)
    half: np.ndarray       # E over half a year
    half_integral: np.ndarray  # M over half a year


def propagator(generator: np.ndarray, days: float = DAYS_PER_YEAR) -> YearPropagator:
    """:class:`YearPropagator` of the sub-generator ``generator`` (1/day) over ``days``.

    ``E`` is the matrix exponential of half the step, squared. ``M = G^-1 (E - I)`` when
    every compartment is left at a positive rate (background mortality, returns: ``G`` is
    strictly diagonally dominant, so invertible); when some compartment is never left (a
    model without deaths, a destination nobody returns from), ``M`` is the upper right block
    of ``exp([[G, I], [0, 0]] t)`` (Van Loan 1978).

    Parameters
    ----------
    generator : ndarray, shape (C, C)
        ``G`` of the module docstring, every row summing to zero or below.
    days : float
        Length of the step.
    """
    n = generator.shape[0]
    half = expm(generator * (days / 2.0))
    full = half @ half
    eye = np.eye(n)
    if np.all(generator.sum(axis=1) < -1e-15 * np.abs(np.diag(generator)).max(initial=1.0)):
        half_integral = np.linalg.solve(generator, half - eye)
        return YearPropagator(full, half_integral + half @ half_integral, half, half_integral)
    block = np.zeros((2 * n, 2 * n))
    block[:n, :n], block[:n, n:] = generator, eye
    half_block = expm(block * (days / 2.0))
    full_block = half_block @ half_block
    return YearPropagator(full, full_block[:n, n:], half, half_block[:n, n:])


def propagators(generators: np.ndarray, days: float = DAYS_PER_YEAR) -> list[YearPropagator]:
    """:func:`propagator` of each generator of a stack (B, C, C), the matrix exponentials and
    the solves for ``M`` computed together (batched calls are several times faster than B
    single ones)."""
    half = expm(generators * (days / 2.0))
    full = half @ half
    eye = np.eye(generators.shape[1])
    scale = np.abs(np.diagonal(generators, axis1=1, axis2=2)).max(axis=1, initial=1.0)
    left = np.all(generators.sum(axis=2) < -1e-15 * scale[:, None], axis=1)
    out: list = [None] * len(generators)
    if left.any():
        half_integral = np.linalg.solve(generators[left], half[left] - eye)
        integral = half_integral + half[left] @ half_integral
        for i, k in enumerate(np.flatnonzero(left)):
            out[k] = YearPropagator(full[k], integral[i], half[k], half_integral[i])
    for k in np.flatnonzero(~left):
        out[k] = propagator(generators[k], days)
    return out


def tally_matrix(compiled, place: int, force: np.ndarray) -> np.ndarray:
    """``A`` (C, n_tally): tallied flows per person per day in each compartment.

    Parameters
    ----------
    compiled : CompiledModel
    place : int
    force : ndarray, shape (K,)
        Per-capita force of each infection (1/day).
    """
    n_comp = compiled.n_compartments
    out = np.zeros((n_comp, compiled.tally_tr.shape[1]))
    np.add.at(out, compiled.tr_source, compiled.tr_rate[place][:, None] * compiled.tally_tr)
    np.add.at(out, compiled.inf_source, force[:, None] * compiled.tally_inf)
    return out


@dataclass
class CohortYear:
    """What a year of the account gives for one destination.

    Attributes
    ----------
    population : ndarray, shape (G, S)
        Persons in each group and slot at the start of the year.
    tallies : ndarray, shape (G, S, n_tally)
        Tallied flows of the year (persons per year) by group and slot (arrivals of the
        year in slot 0).
    arrivals : ndarray, shape (G,)
        Persons arriving during the year.
    """

    population: np.ndarray
    tallies: np.ndarray
    arrivals: np.ndarray


def advance_year(cohorts: np.ndarray, arrivals: np.ndarray, step: YearPropagator,
                 tallies: np.ndarray) -> tuple[np.ndarray, CohortYear]:
    """One year of a destination's cohorts.

    Parameters
    ----------
    cohorts : ndarray, shape (G, S, C)
        Persons by group, slot and compartment at the start of the year.
    arrivals : ndarray, shape (G, C)
        Persons arriving during the year by group and compartment at departure.
    step : YearPropagator
    tallies : ndarray, shape (C, n_tally)
        :func:`tally_matrix` of the destination and year.

    Returns
    -------
    next_cohorts : ndarray, shape (G, S, C)
        At the start of the next year, every cohort one slot older.
    year : CohortYear
    """
    counted = cohorts @ (step.integral @ tallies)  # (C, n_tally) first: half the work
    counted[:, 0] += arrivals @ (step.half_integral @ tallies)
    after = cohorts @ step.full
    after[:, 0] += arrivals @ step.half
    older = np.zeros_like(after)
    older[:, 1:] = after[:, :-1]
    older[:, -1] += after[:, -1]
    year = CohortYear(cohorts.sum(axis=2), counted, arrivals.sum(axis=1))
    return older, year
