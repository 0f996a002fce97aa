"""Basic reproduction number from the next-generation matrix of a compiled model.

References
----------
Diekmann O, Heesterbeek JAP, Roberts MG (2010). The construction of next-generation matrices
for compartmental epidemic models. J R Soc Interface 7:873-885.
"""

from __future__ import annotations

import numpy as np

from .calibration import stationary
from .model import CompiledModel


def next_generation_matrix(model: CompiledModel, place: int = 0) -> tuple[np.ndarray, list]:
    """Next-generation matrix at the disease-free equilibrium of one place.

    ``K[a, i]`` is the expected number of new infections entering infected state ``i``
    caused by one person who entered infected state ``a``: the expected time in each
    infected state, ``(-Q_II)^-1``, times the per-capita rate of new infections caused there.

    Returns
    -------
    (ndarray, list of str)
        The matrix over infected states and the ids of those states.
    """
    free = stationary(model.generator(place, births_close=True))
    infected = np.flatnonzero(free <= 1e-12)
    q_ii = model.generator(place)[np.ix_(infected, infected)]
    sojourn = np.linalg.inv(-q_ii)
    new = np.zeros((model.n_compartments, model.n_compartments))
    for k in range(len(model.inf_source)):
        new[:, model.inf_target[k]] += (model.inf_rate[place, k] * model.inf_weight[k]
                                        * free[model.inf_source[k]])
    ngm = sojourn @ new[np.ix_(infected, infected)]
    return ngm, [model.compartments[i] for i in infected]


def basic_reproduction_number(model: CompiledModel, place: int = 0) -> float:
    """R0: the spectral radius of the next-generation matrix."""
    ngm, _ = next_generation_matrix(model, place)
    return float(np.max(np.abs(np.linalg.eigvals(ngm))))
