"""Deterministic metapopulation engine: integrate dx/dt with scipy.integrate.solve_ivp.

Error control is solve_ivp's adaptive step: each step keeps the local error estimate below
``atol + rtol * |x|`` (persons) in every place and compartment. The default ``rtol = 1e-6``
keeps the SIR final size within 1e-6 of the analytic value (tests/regression). The default
method is BDF with the block Jacobian of :mod:`healthmob.engine.jacobian`: the models' fast
stages (the HIV test window) make explicit methods take steps of a few days.
"""

from __future__ import annotations

import logging

import numpy as np

from ..clock import Pace
from ..disease.compile import CompiledModel
from ..disease.schedule import Schedule
from ..errors import RunError
from .coupling import Coupling
from .trajectory import Trajectory

log = logging.getLogger(__name__)


def simulate_deterministic(compiled: CompiledModel, x0: np.ndarray, times: np.ndarray,
                           coupling: Coupling | None = None, method: str = "BDF",
                           rtol: float = 1e-6, atol: float = 1e-6,
                           schedule: Schedule | None = None) -> Trajectory:
    """Integrate the metapopulation ODE and report the state at ``times``.

    Parameters
    ----------
    compiled : CompiledModel
        Compiled for ``P`` places.
    x0 : ndarray, shape (P, C)
        Initial persons per place and compartment.
    times : ndarray
        Output times (days since start), increasing, starting at 0.
    coupling : Coupling, optional
        Mobility coupling; none by default.
    method : str
        Any solve_ivp method. ``"BDF"`` (the default) and ``"Radau"`` are given the sparse
        Jacobian of :class:`~healthmob.engine.jacobian.ChainJacobian`; the explicit methods
        (``"RK45"``...) take steps bounded by the model's fastest rate.
    rtol, atol : float
        Relative and absolute (persons) tolerances of the adaptive step.
    schedule : Schedule, optional
        Parameters that change over time (``compiled`` is then ignored): each piece is
        integrated with its own model, from the state where the previous one ended.

    Returns
    -------
    Trajectory
    """
    n_places, n_comp = x0.shape
    coupling = coupling or Coupling.none(n_places)
    schedule = schedule or Schedule.constant(compiled)
    times = np.asarray(times, dtype=float)
    state = np.empty((len(times), n_places, n_comp))
    state[0] = x0
    x, n_evaluations = x0.ravel().astype(float), 0
    progress = (Pace(), float(times[-1]))
    for lo, hi, model in schedule.pieces(float(times[0]), float(times[-1])):
        inside = (times > lo) & (times <= hi)
        at, x, n = _integrate(model, coupling, x, (lo, hi), times[inside], method, rtol, atol,
                              progress)
        state[inside] = at.reshape(-1, n_places, n_comp)
        n_evaluations += n
    tallies = np.stack([schedule.at(t).tally_rates(s, coupling.force(schedule.at(t), s))
                        for t, s in zip(times, state)])
    log.info("solve_ivp %s: %d right-hand-side evaluations for %d places x %d compartments",
             method, n_evaluations, n_places, n_comp)
    return Trajectory(times, state, tallies, n_evaluations)


def _integrate(compiled: CompiledModel, coupling: Coupling, x: np.ndarray,
               span: tuple[float, float], t_eval: np.ndarray, method: str, rtol: float,
               atol: float, progress: tuple[Pace, float]):
    """solve_ivp of one piece from ``x`` (flat) at ``span[0]`` to ``span[1]``: the states at
    ``t_eval`` (n, P * C), the state at ``span[1]`` and the number of evaluations; a
    progress line (day reached of the run's last day) when ``progress``'s pace is due."""
    lo, hi = span
    n_places = compiled.n_places
    pace, last_day = progress

    def rhs(t, flat):
        if pace.due():
            log.info("deterministic engine: day %.0f of %.0f", t, last_day)
        state = flat.reshape(n_places, -1)
        dx = compiled.derivative(state, coupling.force(compiled, state))
        return (dx + coupling.relocation_flux(state)).ravel()

    from scipy.integrate import solve_ivp  # 0.16 s to import: deterministic runs only

    from .jacobian import SOLVER_CLASSES, ChainJacobian

    options = {}
    if method in SOLVER_CLASSES:
        jacobian = ChainJacobian(compiled, coupling)
        options = {"jac": lambda t, flat: jacobian(flat.reshape(n_places, -1)),
                   "ordering": jacobian.ordering}
    grid = np.union1d(t_eval, [hi])
    solution = solve_ivp(rhs, (lo, hi), x, method=SOLVER_CLASSES.get(method, method),
                         t_eval=grid, rtol=rtol, atol=atol, **options)
    if not solution.success:
        raise RunError(f"deterministic engine: solve_ivp ({method}) failed: {solution.message}")
    return solution.y[:, np.isin(grid, t_eval)].T, solution.y[:, -1].copy(), solution.nfev
