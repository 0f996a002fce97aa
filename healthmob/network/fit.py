"""Mean-field equivalents of network epidemics (numpy and scipy only).

* :func:`transmissibility`: probability ``T`` that an infected node transmits across one
  contact before it stops being infectious, from the spec's chain of infected stages.
* :func:`network_final_size`: the generating-function final size on a configuration network
  with the given degrees (bond percolation with occupation ``T``).
* :func:`growth_rate`: the mean-field early growth rate, the dominant eigenvalue of the
  linearised model at the disease-free state; :func:`scale_for_growth` inverts it.
* :func:`attack_fraction` / :func:`scale_for_attack`: the mean-field share of people
  infected by the maximum time, and its inverse.
* :func:`fit_growth_rate`, :func:`peak_time`: read a growth rate and a peak time off a curve.

A *scale* multiplies every infection rate of the model: the mean-field transmission that
matches a network is ``scale * beta``.

References
----------
Newman MEJ (2002). Spread of epidemic disease on networks. Phys Rev E 66:016128.
Kenah E, Robins JM (2007). Second look at the spread of epidemics on networks. Phys Rev E
76:036113 (the final-size formula holds for random infectious periods).
Diekmann O, Heesterbeek JAP, Roberts MG (2010). J R Soc Interface 7:873-885.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from ..disease.compile import CompiledModel
from ..disease.reproduction import infected_states, new_infections
from .config import CONTACT_SCALINGS


def per_contact_rates(compiled: CompiledModel, mean_degree: float,
                      contact_scaling: str = "mean_degree") -> np.ndarray:
    """Per-contact transmission rate (1/day) of each infection for unit infectiousness:
    ``beta / <k>`` (``"mean_degree"``) or ``beta`` itself (``"none"``)."""
    if contact_scaling not in CONTACT_SCALINGS:
        raise ValueError(f"contact_scaling must be one of {CONTACT_SCALINGS}; "
                         f"got {contact_scaling!r}")
    scale = 1.0 / mean_degree if contact_scaling == "mean_degree" and mean_degree > 0 else 1.0
    return compiled.inf_rate[0] * scale


def transmissibility(compiled: CompiledModel, per_contact: float, infection: int = 0) -> float:
    """P(an infected node transmits across one given contact) for infection ``infection``.

    The node starts in the infection's target and moves along the spec's transitions
    (deaths end it); in compartment ``c`` it transmits at rate ``per_contact * w_c``.
    ``T = a (-(Q - diag(rho)))^-1 rho`` over the states reachable from the target, ``rho``
    the transmission hazards (absorption into "transmitted" of a phase-type chain).
    """
    q = compiled.generator(0)
    rho = per_contact * compiled.inf_weight[infection]
    start = compiled.inf_target[infection]
    reach = {start}
    frontier = [start]
    while frontier:
        i = frontier.pop()
        for j in np.flatnonzero(q[i] > 0):
            if j != i and j not in reach:
                reach.add(j)
                frontier.append(j)
    states = np.array(sorted(i for i in reach if -q[i, i] + rho[i] > 0))
    if start not in states:
        return 0.0
    m = q[np.ix_(states, states)] - np.diag(rho[states])
    h = np.linalg.solve(-m, rho[states])
    return float(np.clip(h[list(states).index(start)], 0.0, 1.0))


def network_final_size(degrees: np.ndarray, t: float, initial_fraction: float = 0.0,
                       tol: float = 1e-12) -> float:
    """Final share infected on a configuration network with these degrees (one per node).

    ``theta = 1 - T (1 - (1 - eps) G1(theta))`` and ``z = 1 - (1 - eps) G0(theta)``, ``eps``
    the share infected at the start (at random), G0/G1 the degree and excess-degree
    generating functions of the empirical degrees. With ``eps = 0``, the large outbreak.
    """
    k = np.asarray(degrees, dtype=float)
    if k.sum() == 0:
        return float(initial_fraction)
    values, counts = np.unique(k, return_counts=True)
    p = counts / counts.sum()
    mean = float((values * p).sum())
    keep = 1.0 - initial_fraction

    def g1(x):
        return float((values * p * x ** np.maximum(values - 1, 0)).sum() / mean)

    theta = 0.0
    for _ in range(100_000):
        new = 1.0 - t * (1.0 - keep * g1(theta))
        if abs(new - theta) < tol:
            theta = new
            break
        theta = new
    return float(1.0 - keep * (p * theta ** values).sum())


def network_r0(degrees: np.ndarray, t: float) -> float:
    """Network basic reproduction number ``T (<k^2> - <k>) / <k>``."""
    k = np.asarray(degrees, dtype=float)
    return float(t * ((k ** 2).mean() - k.mean()) / k.mean()) if k.mean() > 0 else 0.0


def linearised(compiled: CompiledModel, scale: float = 1.0) -> np.ndarray:
    """Jacobian over the infected states with everyone else susceptible (1/day)."""
    states = infected_states(compiled)
    jac = compiled.generator(0).T + scale * new_infections(compiled).T
    return jac[np.ix_(states, states)]


def growth_rate(compiled: CompiledModel, scale: float = 1.0) -> float:
    """Mean-field exponential growth rate (1/day) with every infection rate times ``scale``."""
    return float(np.max(np.linalg.eigvals(linearised(compiled, scale)).real))


def scale_for_growth(compiled: CompiledModel, rate: float) -> float:
    """The ``scale`` whose mean-field growth rate is ``rate`` (nan when unreachable)."""
    if not np.isfinite(rate) or growth_rate(compiled, 0.0) >= rate:
        return float("nan")
    hi = 1.0
    while growth_rate(compiled, hi) < rate:
        hi *= 2.0
        if hi > 1e6:
            return float("nan")
    return float(brentq(lambda s: growth_rate(compiled, s) - rate, 0.0, hi, xtol=1e-10))


def attack_fraction(compiled: CompiledModel, x0: np.ndarray, t_max: float, scale: float = 1.0,
                    rtol: float = 1e-8) -> float:
    """Mean-field share of people ever infected by ``t_max``: those not in the first
    infection's source at the start plus every infection until ``t_max``, over N."""
    x0 = np.asarray(x0, dtype=float)
    n = x0.sum()
    start = (n - x0[compiled.inf_source[0]]) / n
    rates = compiled.inf_rate * scale

    def rhs(_t, y):
        x = y[None, :-1]
        force = rates * (x @ compiled.inf_weight.T) / max(x.sum(), 1e-300)
        dx = compiled.derivative(x, force)[0]
        return np.append(dx, (x[0, compiled.inf_source] * force[0]).sum())

    sol = solve_ivp(rhs, (0.0, t_max), np.append(x0, 0.0), method="LSODA", rtol=rtol,
                    atol=1e-9 * n)
    return float(start + sol.y[-1, -1] / n)


def scale_for_attack(compiled: CompiledModel, x0: np.ndarray, t_max: float,
                     attack: float) -> float:
    """The ``scale`` whose mean-field attack fraction by ``t_max`` is ``attack``."""
    if not np.isfinite(attack) or attack <= attack_fraction(compiled, x0, t_max, 0.0):
        return float("nan")
    hi = 1.0
    while attack_fraction(compiled, x0, t_max, hi) < attack:
        hi *= 2.0
        if hi > 1e4:
            return float("nan")
    return float(brentq(lambda s: attack_fraction(compiled, x0, t_max, s) - attack, 0.0, hi,
                        xtol=1e-6))


def fit_growth_rate(times: np.ndarray, infected: np.ndarray, cumulative: np.ndarray,
                    n_nodes: float, window=(0.02, 0.10)) -> float:
    """Exponential growth rate (1/day): least squares of ``log(infected)`` against time over
    the times when ``cumulative / n_nodes`` lies within ``window``.

    ``infected`` and ``cumulative`` are curves (e.g. ensemble means) at ``times``; nan when
    fewer than three points fall in the window.
    """
    share = np.asarray(cumulative, dtype=float) / n_nodes
    first = np.argmax(share >= window[0]) if np.any(share >= window[0]) else len(share)
    inside = np.zeros(len(share), dtype=bool)
    inside[first:] = share[first:] <= window[1]
    inside &= np.asarray(infected) > 0
    if inside.sum() < 3:
        return float("nan")
    slope = np.polyfit(np.asarray(times)[inside], np.log(np.asarray(infected)[inside]), 1)[0]
    return float(slope)


def peak_time(times: np.ndarray, curve: np.ndarray, level: float = 0.8) -> float:
    """Time of the maximum of ``curve`` (days): the vertex of a least-squares parabola
    through the points around the maximum that are at least ``level`` times it.

    Fitting the whole top of the curve, rather than taking its largest sample, keeps the
    estimate steady when the curve is a noisy stochastic prevalence with a flat top.
    """
    times, curve = np.asarray(times, dtype=float), np.asarray(curve, dtype=float)
    i = int(np.argmax(curve))
    lo, hi = i, i
    while lo > 0 and curve[lo - 1] >= level * curve[i]:
        lo -= 1
    while hi < len(curve) - 1 and curve[hi + 1] >= level * curve[i]:
        hi += 1
    if hi - lo < 2:
        return float(times[i])
    t = times[lo:hi + 1] - times[i]
    a, b, _ = np.polyfit(t, curve[lo:hi + 1], 2)
    if a >= 0:
        return float(times[i])
    return float(np.clip(times[i] - b / (2 * a), times[lo], times[hi]))
