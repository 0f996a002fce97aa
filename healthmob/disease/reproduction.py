"""Basic reproduction number and the linearised model at the disease-free state.

References
----------
Diekmann O, Heesterbeek JAP, Roberts MG (2010). The construction of next-generation matrices
for compartmental epidemic models. J R Soc Interface 7:873-885.
"""

from __future__ import annotations

import numpy as np

from .chains import stationary
from .compile import CompiledModel


def disease_free_state(compiled: CompiledModel, place: int = 0) -> np.ndarray:
    """Share of the population per compartment without infection: the stationary chain
    with deaths re-entering as births, or everyone in the first infection's source
    compartment for a model without births."""
    if compiled.birth_target >= 0:
        return stationary(compiled.generator(place, births_close=True))
    free = np.zeros(compiled.n_compartments)
    free[compiled.inf_source[0]] = 1.0
    return free


def infected_states(compiled: CompiledModel) -> np.ndarray:
    """Indices of infected compartments: reachable by transitions from an infection's
    target, and able to reach a compartment with positive infectiousness (so a recovered
    compartment is not one)."""
    n = compiled.n_compartments
    step = np.zeros((n, n), dtype=bool)
    for src, dst in zip(compiled.tr_source, compiled.tr_target):
        if dst >= 0:
            step[src, dst] = True
    reach = step | np.eye(n, dtype=bool)
    for _ in range(n):
        reach = reach | ((reach.astype(int) @ reach.astype(int)) > 0)
    infectious = (compiled.inf_weight.max(axis=0) > 0 if len(compiled.inf_source)
                  else np.zeros(n, bool))
    from_target = reach[compiled.inf_target].any(axis=0)
    to_infectious = reach[:, infectious].any(axis=1)
    return np.flatnonzero(from_target & to_infectious)


def new_infections(compiled: CompiledModel, place: int = 0) -> np.ndarray:
    """``F[j, i]``: new infections entering ``i`` per day caused by one person in ``j`` at
    the disease-free state (1/day)."""
    free = disease_free_state(compiled, place)
    new = np.zeros((compiled.n_compartments, compiled.n_compartments))
    for k in range(len(compiled.inf_source)):
        new[:, compiled.inf_target[k]] += (compiled.inf_rate[place, k] * compiled.inf_weight[k]
                                        * free[compiled.inf_source[k]])
    return new


def next_generation_matrix(compiled: CompiledModel, place: int = 0) -> tuple[np.ndarray, list]:
    """Next-generation matrix at the disease-free state of one place.

    ``K[a, i]`` is the expected number of new infections entering infected state ``i``
    caused by one person who entered infected state ``a``: the expected time in each
    infected state, ``(-Q_II)^-1``, times the rate of new infections caused there.

    Returns
    -------
    (ndarray, list of str)
        The matrix over infected states and the ids of those states.
    """
    infected = infected_states(compiled)
    q_ii = compiled.generator(place)[np.ix_(infected, infected)]
    ngm = np.linalg.inv(-q_ii) @ new_infections(compiled, place)[np.ix_(infected, infected)]
    return ngm, [compiled.compartments[i] for i in infected]


def basic_reproduction_number(compiled: CompiledModel, place: int = 0) -> float:
    """R0: the spectral radius of the next-generation matrix."""
    ngm, _ = next_generation_matrix(compiled, place)
    return float(np.max(np.abs(np.linalg.eigvals(ngm))))
