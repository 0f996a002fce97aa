"""Flow models for volumes that data do not give: gravity and radiation.

Numeric core (numpy only). Every function works on places given as arrays of populations
(persons) and distances (km); the caller decides which pairs may carry flow. Flows are in
the units of the outflow or total the caller supplies (persons/day throughout healthmob).
The formulas are those of Simini et al. 2012 (radiation) and the normalised gravity
model (Masucci et al. 2013).

References
----------
Zipf GK (1946). The P1 P2/D hypothesis: on the intercity movement of persons. Am Sociol Rev
11:677-686 (gravity law).
Simini F, Gonzalez MC, Maritan A, Barabasi A-L (2012). A universal model for mobility and
migration patterns. Nature 484:96-100 (radiation model).
Masucci AP, Serras J, Johansson A, Batty M (2013). Gravity versus radiation models: on the
importance of scale and heterogeneity in commuting flows. Phys Rev E 88:022812 (finite-size
correction of the radiation model).
"""

from __future__ import annotations

import numpy as np

KERNELS = ("power", "exponential")


def gravity_weights(population_origin, population_destination, distance_km, *,
                    kernel: str = "power", exponent_origin: float = 1.0,
                    exponent_destination: float = 1.0, exponent_distance: float = 2.0,
                    scale_km: float = 100.0) -> np.ndarray:
    """Unnormalised gravity weights of origin-destination pairs (elementwise).

    ``w = N_i**exponent_origin * N_j**exponent_destination * f(d)`` with the power-law kernel
    ``f(d) = d**-exponent_distance`` or the exponential kernel ``f(d) = exp(-d / scale_km)``.

    Parameters
    ----------
    population_origin, population_destination : array_like
        Populations of the origin and destination of each pair (persons, >= 0).
    distance_km : array_like
        Distance of each pair (km, > 0 for the power kernel).
    kernel : {"power", "exponential"}
        Distance-decay kernel.
    exponent_origin, exponent_destination : float
        Population exponents (omega_1, omega_2).
    exponent_distance : float
        gamma of the power kernel (dimensionless).
    scale_km : float
        delta of the exponential kernel (km).

    Returns
    -------
    ndarray
        One weight per pair (arbitrary units: normalise with :func:`scale_to_total` or
        :func:`constrain_outflows`).

    References
    ----------
    Zipf 1946; Balcan et al. 2009 PNAS 106:21484 (exponential kernel for commuting).
    """
    if kernel not in KERNELS:
        raise ValueError(f"gravity: kernel must be one of {KERNELS}; got {kernel!r}")
    n_i = np.asarray(population_origin, dtype=float)
    n_j = np.asarray(population_destination, dtype=float)
    d = np.asarray(distance_km, dtype=float)
    if kernel == "power":
        if np.any(d <= 0):
            raise ValueError("gravity: distance_km must be > 0 for the power kernel")
        decay = d ** -exponent_distance
    else:
        decay = np.exp(-d / scale_km)
    return n_i ** exponent_origin * n_j ** exponent_destination * decay


def scale_to_total(weights, total: float) -> np.ndarray:
    """Scale weights so that they sum to ``total`` (all zero stays zero)."""
    weights = np.asarray(weights, dtype=float)
    s = weights.sum()
    return weights * (total / s) if s > 0 else np.zeros_like(weights)


def constrain_outflows(weights, origin, outflow) -> np.ndarray:
    """Production-constrained flows: each origin's pairs share its outflow by weight.

    ``T_ij = M_i * w_ij / sum_k w_ik`` (the normalised gravity model).

    Parameters
    ----------
    weights : array_like, shape (K,)
        Weight of each pair.
    origin : array_like of int, shape (K,)
        Origin index of each pair.
    outflow : array_like, shape (N,)
        Total out of each origin M_i (persons/day). An origin whose pairs all have zero
        weight sends nothing.

    Returns
    -------
    ndarray, shape (K,)
        Flow of each pair; the flows out of each origin with a positive weight sum to its
        outflow.
    """
    weights = np.asarray(weights, dtype=float)
    origin = np.asarray(origin, dtype=np.intp)
    outflow = np.asarray(outflow, dtype=float)
    row_sum = np.bincount(origin, weights=weights, minlength=len(outflow))
    share = np.divide(weights, row_sum[origin], out=np.zeros_like(weights),
                      where=row_sum[origin] > 0)
    return outflow[origin] * share


def gravity(population, distance_km, *, outflow=None, total: float | None = None,
            **kernel_options) -> np.ndarray:
    """Dense gravity flow matrix between all places (zero diagonal).

    Parameters
    ----------
    population : array_like, shape (N,)
        Persons per place.
    distance_km : array_like, shape (N, N)
        Distances between places (km); the diagonal is ignored.
    outflow : array_like, shape (N,), optional
        Production constraint: row i sums to ``outflow[i]`` (persons/day).
    total : float, optional
        Scale all flows to sum to ``total`` instead. Without either, the raw weights
        (theta = 1) are returned.
    **kernel_options
        ``kernel``, exponents and ``scale_km`` of :func:`gravity_weights`.

    Returns
    -------
    ndarray, shape (N, N)
        Flow from row to column.
    """
    population = np.asarray(population, dtype=float)
    n = len(population)
    i, j = np.nonzero(~np.eye(n, dtype=bool))
    d = np.asarray(distance_km, dtype=float)[i, j]
    w = gravity_weights(population[i], population[j], d, **kernel_options)
    if outflow is not None:
        w = constrain_outflows(w, i, outflow)
    elif total is not None:
        w = scale_to_total(w, total)
    out = np.zeros((n, n))
    out[i, j] = w
    return out


def radiation_shares(population, distance_row, origin: int, *,
                     finite_size: bool = True) -> np.ndarray:
    """Radiation-model share of the trips out of one origin going to every place.

    ``p_ij = N_i N_j / ((N_i + s_ij)(N_i + N_j + s_ij))`` where ``s_ij`` is the population
    closer to i than j (excluding i and j). Places at the same distance from i are ranked by
    index, so ``s_ij`` is well defined and the shares telescope: without the correction they
    sum to ``1 - N_i / N_tot``; with the finite-size correction (divide by
    ``1 - N_i / N_tot``) they sum to exactly 1.

    Parameters
    ----------
    population : array_like, shape (N,)
        Persons per place.
    distance_row : array_like, shape (N,)
        Distance from the origin to every place (km; the origin's own entry is ignored).
    origin : int
        Index of the origin.
    finite_size : bool
        Apply the correction of Masucci et al. (2013).

    Returns
    -------
    ndarray, shape (N,)
        Share of the origin's trips going to each place; 0 at the origin.

    References
    ----------
    Simini et al. 2012 Nature 484:96, eq. 1; Masucci et al. 2013 Phys Rev E 88:022812.
    """
    population = np.asarray(population, dtype=float)
    d = np.asarray(distance_row, dtype=float).copy()
    n_i = population[origin]
    others = np.delete(np.arange(len(population)), origin)
    order = others[np.argsort(d[others], kind="stable")]
    pop_sorted = population[order]
    s = np.concatenate(([0.0], np.cumsum(pop_sorted)[:-1]))  # population ranked before j
    with np.errstate(divide="ignore", invalid="ignore"):
        p = n_i * pop_sorted / ((n_i + s) * (n_i + pop_sorted + s))
    p = np.nan_to_num(p)
    if finite_size:
        n_tot = population.sum()
        p = p / (1.0 - n_i / n_tot) if n_tot > n_i else np.zeros_like(p)
    shares = np.zeros(len(population))
    shares[order] = p
    return shares


def radiation(population, distance_km, outflow, *, finite_size: bool = True) -> np.ndarray:
    """Dense radiation flow matrix: ``T_ij = M_i p_ij`` (zero diagonal).

    Parameters
    ----------
    population : array_like, shape (N,)
        Persons per place.
    distance_km : array_like, shape (N, N)
        Distances between places (km).
    outflow : array_like, shape (N,)
        Trips out of each place M_i (persons/day).
    finite_size : bool
        Masucci et al. (2013) correction; with it every row sums to its outflow.

    Returns
    -------
    ndarray, shape (N, N)
        Flow from row to column.

    References
    ----------
    Simini et al. 2012; Masucci et al. 2013 (see the module docstring).
    """
    population = np.asarray(population, dtype=float)
    distance_km = np.asarray(distance_km, dtype=float)
    outflow = np.asarray(outflow, dtype=float)
    out = np.empty((len(population), len(population)))
    for i in range(len(population)):
        out[i] = outflow[i] * radiation_shares(population, distance_km[i], i,
                                               finite_size=finite_size)
    return out
