"""Stochastic metapopulation engine: a binomial chain (tau-leap) over the compiled model.

Each step of length ``dt`` (one day by default), in every place and compartment at once:

1. the force of infection is taken from the state at the start of the step
   (:meth:`~healthmob.engine.coupling.Coupling.force`, so visiting mixes people where they
   are);
2. every exit from a compartment competes: transitions, infections and relocation with total
   hazard ``h``; the number leaving is one binomial draw with probability ``1 - exp(-h dt)``;
3. the leavers are split between the exits in proportion to their rates (conditional
   binomials, i.e. a multinomial);
4. relocated people are split between destinations in proportion to the per-capita
   relocation rates of their origin (one multinomial per place and compartment);
5. deaths are replaced by as many births when the model says so; otherwise births are
   Poisson with mean ``birth_rate * N * dt``.

People are integers and never negative; without births and deaths the total is conserved
exactly. Only numpy and scipy are used: no Python loop over places.

Mean presence. In the plain chain binomial an infectious person who leaves during a step
still counts for the whole of it, so each infectious period is lengthened by about
``dt / 2`` and R0 by a factor of about ``1 + gamma dt / 2`` (+13% for gamma = 0.25/day and
daily steps: the SIR final size at R0 = 2 comes out 0.855 instead of 0.797). With
``mean_presence`` the people present at the start of a step are weighted by the share of
the step they are expected to stay, so each person's expected exposure is exact,
``1 / gamma``, and the final size matches z = 1 - exp(-R0 z) at daily steps
(docs/ensembles.md); what remains of the step is a delay of about ``dt / 2`` per
generation. The final size depends on the infectious period only through its mean (Ball
and Donnelly 1995).

References
----------
Ball F, Donnelly P (1995). Strong approximations for epidemic models. Stoch Proc Appl
55:1-21.
Gillespie DT (2001). Approximate accelerated stochastic simulation of chemically reacting
systems. J Chem Phys 115:1716-1733 (tau-leaping).
Abbey H (1952). An examination of the Reed-Frost theory of epidemics. Hum Biol 24:201-233
(the chain-binomial form).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..disease.compile import CompiledModel
from ..errors import RunError
from .channels import Channels, plan_channels
from .coupling import Coupling
from .trajectory import Trajectory

log = logging.getLogger(__name__)


class _Force:
    """The force of infection of :meth:`Coupling.force`, on compartment-major state.

    Same formula (GLEaM visiting), with the transposed sparse matrices built once per run
    rather than once per call, and, when nobody is born, dies or relocates, the people
    present in each place computed once; ``tests/unit/test_stochastic.py`` checks that both
    agree.
    """

    def __init__(self, compiled: CompiledModel, coupling: Coupling, static_totals: bool = False):
        # infections that share infectiousness weights are weighed once (model groups)
        groups = getattr(compiled, "weight_groups", None)
        if groups is None:
            groups, inverse = np.unique(compiled.inf_weight, axis=0, return_inverse=True)
            groups, inverse = groups.reshape(-1, compiled.n_compartments), inverse.ravel()
        else:
            inverse = compiled.inf_group
        self.groups = np.asarray(groups)                        # (G, C)
        self.group_of = np.asarray(inverse)                     # (K,)
        self.inf_rate = np.ascontiguousarray(compiled.inf_rate.T)  # (K, P)
        self.visiting = coupling.has_visiting
        self.static_totals = static_totals
        self._divisor = None
        if self.visiting:
            self.home = 1.0 / (1.0 + coupling.away_total)
            self.away = sp.csr_array(coupling.away)
            self.away_t = sp.csr_array(coupling.away.T)

    def _present(self, per_place: np.ndarray) -> np.ndarray:
        """People of each place at home, plus the visitors they receive (1-D)."""
        at_home = per_place * self.home
        return at_home + self.away_t @ at_home

    def __call__(self, state: np.ndarray, presence: np.ndarray | None = None) -> np.ndarray:
        """Per-capita force (1/day), shape (K, P), for ``state`` of shape (C, P).

        ``presence`` (C, P), when given, scales each compartment's infectiousness by the
        share of the step its current members are expected to stay.
        """
        weighted = self.groups @ (state if presence is None else state * presence)  # (G, P)
        divisor = self._divisor
        if divisor is None:
            total = self._present(state.sum(axis=0)) if self.visiting else state.sum(axis=0)
            divisor = np.where(total > 0, total, 1.0)
            if self.static_totals:
                self._divisor = divisor
        if not self.visiting:
            return self.inf_rate * (weighted / divisor)[self.group_of]
        present = np.empty_like(weighted)
        for g, row in enumerate(weighted):
            present[g] = self._present(row) / divisor
        local = self.inf_rate * present[self.group_of]                             # (K, P)
        if len(local) == 1:
            return ((local[0] + self.away @ local[0]) * self.home)[None, :]
        return ((local.T + self.away @ local.T) * self.home[:, None]).T


@dataclass(frozen=True)
class _Destinations:
    """Relocation destinations of the origins that send to about as many places.

    Each origin's destinations are ordered by decreasing share and right-aligned, so the
    last slot is a real one and the multinomial's sequential binomials exhaust the movers
    early; origins are grouped by their number of destinations, rounded up to a power of
    two, so that few slots are padding (one multinomial call per group and step).
    """

    pvals: np.ndarray    # (R, L) destination shares per origin
    rows: np.ndarray     # (R,) origins of the group
    columns: np.ndarray  # (R, L) destination of each slot (0 for padding)


def _destinations(coupling: Coupling) -> tuple[_Destinations, ...] | None:
    matrix = sp.csr_array(coupling.relocation)
    if matrix.nnz == 0:
        return None
    matrix.sort_indices()
    lengths = np.diff(matrix.indptr)
    sending = np.flatnonzero(lengths > 0)
    width_of = 2 ** np.ceil(np.log2(lengths[sending])).astype(int)
    groups = []
    for width in np.unique(width_of):
        rows = sending[width_of == width]
        pvals = np.zeros((len(rows), width))
        columns = np.zeros((len(rows), width), dtype=int)
        for slot, row in enumerate(rows):  # once per run, not per step
            lo, hi = matrix.indptr[row], matrix.indptr[row + 1]
            order = np.argsort(-matrix.data[lo:hi], kind="stable")
            pvals[slot, width - (hi - lo):] = matrix.data[lo:hi][order] / matrix.data[lo:hi].sum()
            columns[slot, width - (hi - lo):] = matrix.indices[lo:hi][order]
        groups.append(_Destinations(pvals, rows, columns))
    return tuple(groups)


def simulate_stochastic(compiled: CompiledModel, x0: np.ndarray, times: np.ndarray,
                        coupling: Coupling | None = None,
                        rng: np.random.Generator | None = None,
                        dt: float = 1.0, mean_presence: bool = True,
                        state_dtype=np.int64) -> Trajectory:
    """Simulate one realisation of the metapopulation chain and report it at ``times``.

    Parameters
    ----------
    compiled : CompiledModel
        Compiled for ``P`` places (rates per day).
    x0 : ndarray, shape (P, C)
        Initial persons per place and compartment (non-negative whole numbers).
    times : ndarray
        Output times (days since the start), increasing, starting at 0.
    coupling : Coupling, optional
        Mobility coupling; none by default.
    rng : numpy.random.Generator, optional
        The stream of this realisation (one per ensemble member; the seeding rule is in
        :mod:`healthmob.engine.seeds`). A fresh unseeded generator when omitted.
    dt : float
        Longest step (days). Each interval between output times is cut into
        ``ceil(interval / dt)`` equal steps.
    mean_presence : bool
        Weight the infectious people present at the start of a step by the share of the
        step they are expected to stay, ``(1 - exp(-h dt)) / (h dt)`` with ``h`` their
        hazard of leaving by transition or relocation (see Notes). False gives the plain
        chain binomial, which counts them for the whole step.
    state_dtype : numpy dtype
        Integer type of the returned state (int32 halves the memory when every count fits;
        the engine itself always counts in int64).

    Returns
    -------
    Trajectory
        ``state`` holds persons (``state_dtype``), shape (n_t, P, C); ``tally_rates[i]`` is
        the number of tallied events in the interval ending at ``times[i]`` divided by its length
        (persons/day), comparable with the deterministic engine's rates; ``tally_rates[0]``
        is the expected rate at the start. ``n_evaluations`` counts steps.

    The mean-presence correction is explained in the module docstring.
    """
    state = _whole_people(compiled, x0)
    if compiled.growth_rate is not None:
        raise RunError("stochastic engine: births beyond deaths (growth_rate, a history "
                       "start) are not simulated; use the deterministic engine")
    times = np.asarray(times, dtype=float)
    if not dt > 0:
        raise RunError(f"stochastic engine: dt must be > 0; got {dt}")
    if times.ndim != 1 or times[0] != 0 or np.any(np.diff(times) <= 0):
        raise RunError("stochastic engine: times must start at 0 and increase")
    rng = rng if rng is not None else np.random.default_rng()
    coupling = coupling or Coupling.none(compiled.n_places)
    plan = plan_channels(compiled, coupling)
    destinations = _destinations(coupling)
    birth_rate = None
    if compiled.birth_target >= 0 and not compiled.replace_deaths and np.any(
            compiled.birth_rate > 0):
        birth_rate = compiled.birth_rate
    static_totals = (destinations is None and birth_rate is None
                     and (compiled.replace_deaths or len(plan.death_channels) == 0))
    force_of = _Force(compiled, coupling, static_totals)
    x0 = np.asarray(x0)
    first_rates = compiled.tally_rates(x0.astype(float), coupling.force(compiled, x0)).T
    out_state, out_tally, n_steps = _advance(
        plan, destinations, force_of, state, times, rng, dt, mean_presence, birth_rate,
        state_dtype, first_rates)
    log.debug("stochastic engine: %d steps for %d places x %d compartments", n_steps,
              compiled.n_places, compiled.n_compartments)
    return Trajectory(times, out_state.transpose(0, 2, 1), out_tally.transpose(0, 2, 1),
                      n_steps)


def _whole_people(compiled: CompiledModel, x0) -> np.ndarray:
    """``x0`` (P, C) as int64 counts, compartment-major (C, P); checked."""
    x0 = np.asarray(x0)
    shape = (compiled.n_places, compiled.n_compartments)
    if x0.shape != shape:
        raise RunError(f"stochastic engine: x0 must have shape {shape}; got {x0.shape}")
    state = np.ascontiguousarray(np.rint(x0).astype(np.int64).T)
    if np.any(state < 0) or np.any(np.abs(x0.T - state) > 1e-9):
        raise RunError("stochastic engine: x0 must hold non-negative whole numbers of people")
    return state


def _advance(plan, destinations, force_of, state, times, rng, dt, mean_presence, birth_rate,
             state_dtype, first_rates):
    """Step ``state`` through every output interval; return the states, the tallied rates
    per interval (persons/day) and the number of steps."""
    n_comp, n_places = state.shape
    out_state = np.empty((len(times), n_comp, n_places), dtype=state_dtype)
    out_tally = np.empty((len(times), plan.n_tally, n_places))
    out_state[0] = state
    out_tally[0] = first_rates
    rates = plan.channel_rates.copy()
    tally = np.zeros((plan.n_tally, n_places), dtype=np.int64)
    presence = {}
    n_steps = 0
    for i in range(1, len(times)):
        span = times[i] - times[i - 1]
        n_sub = max(1, int(np.ceil(span / dt - 1e-9)))
        tally[:] = 0
        h = span / n_sub
        if mean_presence and h not in presence:
            presence[h] = _presence(plan, n_comp, h)
        for _ in range(n_sub):
            force = force_of(state, presence.get(h))
            _step(plan, destinations, state, force, rates, h, rng, birth_rate, tally)
        n_steps += n_sub
        out_state[i] = state
        np.divide(tally, span, out=out_tally[i])
    return out_state, out_tally, n_steps


def _presence(plan: Channels, n_comp: int, h: float) -> np.ndarray:
    """Expected share of a step of ``h`` days that the people present at its start stay.

    ``(1 - exp(-r h)) / (r h)`` per compartment and place, with ``r`` the hazard of leaving
    by transitions and relocation (infection hazards are left out: they change each step).
    """
    presence = np.ones((n_comp, plan.base_hazard.shape[1]))
    rows = np.arange(n_comp)[plan.exit_cols]
    rh = plan.base_hazard * h
    presence[rows] = np.where(rh > 1e-12, -np.expm1(-rh) / np.where(rh > 0, rh, 1.0),
                              1.0 - rh / 2)
    return presence


def _step(plan: Channels, destinations, state, force, rates, h, rng, birth_rate, tally):
    """Advance ``state`` (C, P) in place by one step of ``h`` days; add events to ``tally``."""
    hazard = plan.base_hazard.copy()
    for k, row in enumerate(plan.inf_exit):
        hazard[row] += force[k]
    leaving = rng.binomial(state[plan.exit_cols], -np.expm1(-hazard * h))
    if plan.split_steps:
        rates[plan.infection_rows] = force
        # rates by (rank, exit row); rest[r] = rate of all exits of rank >= r of the row
        rest = np.zeros((len(plan.split_steps) + 1, len(plan.last_channel), rates.shape[1]))
        rest[plan.channel_rank, plan.channel_col] = rates
        for rank in range(len(rest) - 2, -1, -1):
            rest[rank] += rest[rank + 1]
        counts = np.empty(rates.shape, dtype=np.int64)
        remaining = leaving.copy()
        for rank, (chans, cols) in enumerate(plan.split_steps):
            total = rest[rank, cols]
            share = np.divide(rates[chans], total, out=np.zeros_like(total), where=total > 0)
            drawn = rng.binomial(remaining[cols], np.minimum(share, 1.0))
            counts[chans] = drawn
            remaining[cols] -= drawn
        counts[plan.last_channel] = remaining
    else:
        counts = leaving[plan.channel_col]
    if birth_rate is not None:
        births = rng.poisson(birth_rate * state.sum(axis=0) * h)  # N at the step's start
    state[plan.exit_cols] -= leaving
    if plan.into is None:
        for target, channel in plan.targets:
            state[target] += counts[channel]
    else:  # exact: counts are whole numbers far below 2**53
        state += (plan.into @ counts).astype(np.int64)
    if plan.into_tally is None:
        for k, channel in plan.tally_pairs:
            tally[k] += counts[channel]
    else:
        tally += (plan.into_tally @ counts).astype(np.int64)
    if plan.replace_deaths and plan.birth_target >= 0 and len(plan.death_channels):
        state[plan.birth_target] += counts[plan.death_channels].sum(axis=0)
    if birth_rate is not None:
        state[plan.birth_target] += births
    if destinations is not None:
        _relocate(counts[plan.reloc_channels], destinations, state, rng)


def _relocate(movers: np.ndarray, destinations: tuple, state: np.ndarray, rng) -> None:
    """Add the relocated people ``movers`` (C, P) to ``state`` at their destinations, one
    multinomial per origin and compartment that sends anyone."""
    n_comp, n_places = state.shape
    cells, splits = [], []
    for group in destinations:
        sent = movers[:, group.rows]                      # (C, R)
        comp, slot = np.nonzero(sent)  # most compartments send nobody in a step
        if comp.size:
            splits.append(rng.multinomial(sent[comp, slot], group.pvals[slot]).ravel())
            cells.append((group.columns[slot] * n_comp + comp[:, None]).ravel())
    if cells:
        arrivals = np.bincount(np.concatenate(cells), weights=np.concatenate(splits),
                               minlength=n_places * n_comp)
        state += arrivals.reshape(n_places, n_comp).T.astype(np.int64)
