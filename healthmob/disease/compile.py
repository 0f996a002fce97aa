"""Compile a :class:`~healthmob.disease.spec.ModelSpec` into arrays that every engine shares.

One mathematical object (docs/architecture.md): per place, a continuous-time Markov chain
over an individual's compartments (spontaneous transitions, deaths, births) plus infection
events whose per-capita rate is a force of infection. Everything here is per day and uses
numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..checks import must_be, unknown_key
from ..errors import ModelSpecError
from .spec import ALL, DEATH, ModelSpec


@dataclass(frozen=True)
class CompiledModel:
    """Array form of a disease model over ``n_places`` places (rates per day).

    Attributes
    ----------
    spec : ModelSpec
        The spec it was compiled from.
    values : dict of str to ndarray
        Parameter values in base units, each of shape ``(n_places,)``.
    tr_source, tr_target : ndarray of int, shape (T,)
        Compartment indices of each spontaneous transition; ``tr_target`` is -1 for death.
    tr_rate : ndarray, shape (n_places, T)
        Per-capita rates (1/day).
    inf_source, inf_target : ndarray of int, shape (K,)
        Compartment indices of each infection.
    inf_rate : ndarray, shape (n_places, K)
        Transmission rates (1/day): the force on ``inf_source`` is
        ``inf_rate * (inf_weight @ x) / N``.
    inf_weight : ndarray, shape (K, C)
        Infectiousness weight of every compartment for each infection.
    change_tr, change_inf : ndarray, shape (T, C) and (K, C)
        Change of the state vector per unit flow (-1 at the source, +1 at the target).
    birth_target : int
        Compartment receiving births, or -1 without births.
    birth_rate : ndarray, shape (n_places,)
        Per-capita birth rate (1/day); ignored when ``replace_deaths``.
    replace_deaths : bool
        Births equal deaths at every instant (stationary population).
    tally_tr, tally_inf : ndarray, shape (T, n_tally) and (K, n_tally)
        Which flows count towards each tally.
    weight_groups : ndarray, shape (G, C)
        The distinct rows of ``inf_weight``; ``inf_group[k]`` is the row of infection k.
        Engines weigh infectious people once per group, not once per infection.
    sparse_change_tr, sparse_change_inf : scipy.sparse.csr_array
        ``change_tr`` and ``change_inf`` in sparse form (two entries per row).
    growth_rate : ndarray, shape (n_places,), optional
        Births beyond those replacing deaths, per person per day (1/day), when
        ``replace_deaths``: a history start gives them so that populations follow the
        observed totals (:mod:`healthmob.history`). None: no growth.
    """

    spec: ModelSpec
    n_places: int
    values: dict
    tr_source: np.ndarray
    tr_target: np.ndarray
    tr_rate: np.ndarray
    inf_source: np.ndarray
    inf_target: np.ndarray
    inf_rate: np.ndarray
    inf_weight: np.ndarray
    change_tr: np.ndarray
    change_inf: np.ndarray
    birth_target: int
    birth_rate: np.ndarray
    replace_deaths: bool
    tally_names: tuple[str, ...]
    tally_tr: np.ndarray
    tally_inf: np.ndarray
    weight_groups: np.ndarray
    inf_group: np.ndarray
    sparse_change_tr: sp.csr_array
    sparse_change_inf: sp.csr_array
    growth_rate: np.ndarray | None = None

    @property
    def compartments(self) -> tuple[str, ...]:
        """Compartment ids, in state-vector order."""
        return self.spec.compartment_ids

    @property
    def n_compartments(self) -> int:
        """Number of compartments."""
        return len(self.spec.compartments)

    @property
    def is_death(self) -> np.ndarray:
        """Boolean mask of the transitions that end in death."""
        return self.tr_target < 0

    def transition_flows(self, x: np.ndarray) -> np.ndarray:
        """Spontaneous flows (persons/day), shape ``(P, T)``, for state ``x`` of shape (P, C)."""
        return x[:, self.tr_source] * self.tr_rate

    def infectious(self, x: np.ndarray) -> np.ndarray:
        """Weighted infectious people of each infection, shape (P, K)."""
        return (x @ self.weight_groups.T)[:, self.inf_group]

    def local_force(self, x: np.ndarray) -> np.ndarray:
        """Per-capita force of infection (1/day) of each infection, shape (P, K), no mobility."""
        total = x.sum(axis=1, keepdims=True)
        return self.inf_rate * self.infectious(x) / np.where(total > 0, total, 1.0)

    def birth_flow(self, x: np.ndarray, tr_flows: np.ndarray) -> np.ndarray:
        """Births (persons/day) per place, shape (P,)."""
        if self.birth_target < 0:
            return np.zeros(x.shape[0])
        if self.replace_deaths:
            births = tr_flows[:, self.is_death].sum(axis=1)
            return births if self.growth_rate is None else births + self.growth_rate * x.sum(
                axis=1)
        return self.birth_rate * x.sum(axis=1)

    def derivative(self, x: np.ndarray, force: np.ndarray) -> np.ndarray:
        """dx/dt (persons/day) of the disease dynamics given the force of infection."""
        tr_flows = self.transition_flows(x)
        dx = (self.sparse_change_tr.T @ tr_flows.T).T
        dx += (self.sparse_change_inf.T @ (x[:, self.inf_source] * force).T).T
        if self.birth_target >= 0:
            dx[:, self.birth_target] += self.birth_flow(x, tr_flows)
        return dx

    def tally_rates(self, x: np.ndarray, force: np.ndarray) -> np.ndarray:
        """Tallied flows (persons/day), shape (P, n_tally)."""
        return (self.transition_flows(x) @ self.tally_tr
                + (x[:, self.inf_source] * force) @ self.tally_inf)

    def generator(self, place: int = 0, force: np.ndarray | None = None,
                  births_close: bool = False) -> np.ndarray:
        """Generator matrix (1/day) of one individual's chain in one place.

        Parameters
        ----------
        place : int
            Place whose parameter values are used.
        force : ndarray, shape (K,), optional
            Per-capita force of each infection; zero when omitted.
        births_close : bool
            When true, deaths re-enter at the birth compartment (the chain of a stationary
            population); otherwise death is left out, so rows of dying states sum to < 0
            (a sub-generator).

        Returns
        -------
        ndarray, shape (C, C)
            ``Q[i, j]`` is the rate from ``i`` to ``j``; rows sum to zero for a closed chain.
        """
        n = self.n_compartments
        rates = self.tr_rate[place]
        source, target = self.tr_source, self.tr_target
        if births_close and self.birth_target >= 0:
            target = np.where(target >= 0, target, self.birth_target)
        into = target >= 0
        cells = [source[into] * n + target[into], source * (n + 1)]
        values = [rates[into], -rates]
        if force is not None:
            force = np.asarray(force, dtype=float)
            cells += [self.inf_source * n + self.inf_target, self.inf_source * (n + 1)]
            values += [force, -force]
        return np.bincount(np.concatenate(cells), weights=np.concatenate(values),
                           minlength=n * n).reshape(n, n)


def compile_model(spec: ModelSpec, n_places: int = 1,
                  overrides: dict | None = None) -> CompiledModel:
    """Compile ``spec`` for ``n_places`` places.

    Parameters
    ----------
    spec : ModelSpec
        A validated model.
    n_places : int
        Number of places; parameters are broadcast to shape ``(n_places,)``.
    overrides : dict, optional
        Parameter values **in base units** (per day, days, dimensionless), scalars or arrays
        of shape ``(n_places,)``, replacing the spec's values.

    Returns
    -------
    CompiledModel
    """
    values = parameter_arrays(spec, n_places, overrides)
    index = {cid: i for i, cid in enumerate(spec.compartment_ids)}
    n_comp = len(index)
    tallies = tuple(spec.tallies)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # rates_problem
        tr_source, tr_target, tr_rate, tally_rows = _transitions(spec, values, index, n_places)
        inf_rate = _stack([f.rate.evaluate(values) for f in spec.infections], n_places)
    inf_source = np.array([index[f.source] for f in spec.infections], dtype=int)
    inf_target = np.array([index[f.target] for f in spec.infections], dtype=int)
    inf_weight = _infectiousness(spec, values, index)
    births = spec.births
    birth_rate = np.zeros(n_places)
    if births is not None and births.rate is not None:
        birth_rate = np.broadcast_to(births.rate.evaluate(values), (n_places,)).astype(float)
    weight_groups, inf_group = np.unique(inf_weight, axis=0, return_inverse=True)
    change_tr = _change_matrix(tr_source, tr_target, n_comp)
    change_inf = _change_matrix(inf_source, inf_target, n_comp)
    return CompiledModel(
        spec=spec, n_places=n_places, values=values,
        tr_source=tr_source, tr_target=tr_target, tr_rate=tr_rate,
        inf_source=inf_source, inf_target=inf_target, inf_rate=inf_rate,
        inf_weight=inf_weight, change_tr=change_tr, change_inf=change_inf,
        birth_target=index[births.target] if births is not None else -1,
        birth_rate=birth_rate,
        replace_deaths=bool(births is not None and births.replace_deaths),
        tally_names=tallies,
        tally_tr=_tally_matrix(tally_rows, tallies),
        tally_inf=_tally_matrix([f.tally for f in spec.infections], tallies),
        weight_groups=weight_groups.reshape(-1, n_comp),
        inf_group=inf_group.ravel(),
        sparse_change_tr=sp.csr_array(change_tr),
        sparse_change_inf=sp.csr_array(change_inf),
    )


MAX_RATE_PER_DAY = 1e4
"""The largest rate a config's parameters may give a model (1/day; a time scale of 8.6 s,
far below any step a run takes). Beyond it, e.g. a rate of 1e308 or a zero divisor, the
solvers fail without naming the cause. (Fits may try larger values on their way: only the
config's own values are checked, by :func:`rates_problem`.)"""


def _check_rates(spec: ModelSpec, sources, targets, tr_rate, inf_rate) -> None:
    """Every transition and infection rate finite, >= 0 and at most MAX_RATE_PER_DAY, or a
    ModelSpecError naming it and the parameters it is computed from."""
    ids = spec.compartment_ids
    rows = [(f"transition {ids[s]} -> {'death' if t < 0 else ids[t]}", tr.rate, tr_rate[:, i])
            for i, (s, t, tr) in enumerate(zip(sources, targets, _expanded(spec)))]
    rows += [(f"infection {f.source} -> {f.target}", f.rate, inf_rate[:, k])
             for k, f in enumerate(spec.infections)]
    for what, expression, rate in rows:
        if not (np.all(np.isfinite(rate)) and rate.min() >= 0
                and rate.max() <= MAX_RATE_PER_DAY):
            worst = rate[~np.isfinite(rate)] if not np.all(np.isfinite(rate)) else rate
            raise ModelSpecError(f"model {spec.name!r}: " + must_be(
                f"the rate of {what} (from parameters {sorted(expression.names())})",
                f"finite, >= 0 and at most {MAX_RATE_PER_DAY:g} per day",
                float(worst.flat[np.argmax(np.abs(np.nan_to_num(worst, nan=np.inf)))])))


def rates_problem(spec: ModelSpec, overrides: dict) -> str | None:
    """Why ``spec`` with ``overrides`` (base units) has a rate out of range (see
    :data:`MAX_RATE_PER_DAY`), or None: a config's check before anything runs."""
    n_places = max((np.size(v) for v in overrides.values()), default=1)
    try:
        model = compile_model(spec, n_places, overrides)
        _check_rates(spec, model.tr_source, model.tr_target, model.tr_rate, model.inf_rate)
    except ModelSpecError as exc:
        return str(exc)
    return None


def _expanded(spec: ModelSpec) -> list:
    """The transitions as :func:`_transitions` lists them (``*`` once per compartment)."""
    return [tr for tr in spec.transitions
            for _ in (spec.compartment_ids if tr.source == ALL else (tr.source,))]


def parameter_arrays(spec: ModelSpec, n_places: int, overrides: dict | None) -> dict:
    """Every parameter in base units as an array of shape ``(n_places,)``, overrides applied
    (each must be declared, finite and >= 0)."""
    values = {name: np.full(n_places, value) for name, value in spec.base_values().items()}
    for name, value in (overrides or {}).items():
        if name not in values:
            raise ModelSpecError(f"model {spec.name!r}: {unknown_key(name, values, 'parameter')}")
        value = np.broadcast_to(np.asarray(value, dtype=float), (n_places,)).copy()
        if not np.all(np.isfinite(value)) or value.min() < 0:
            raise ModelSpecError(f"model {spec.name!r}: "
                                 + must_be(f"parameter {name}", "finite and >= 0", value))
        values[name] = value
    return values


def _transitions(spec: ModelSpec, values: dict, index: dict, n_places: int):
    """Source, target (-1 for death), rates (P, T) and tallies of every transition, with
    transitions from ``*`` expanded to every compartment."""
    sources, targets, rates, tally_rows = [], [], [], []
    for tr in spec.transitions:
        for src in (spec.compartment_ids if tr.source == ALL else (tr.source,)):
            sources.append(index[src])
            targets.append(-1 if tr.target == DEATH else index[tr.target])
            rates.append(tr.rate.evaluate(values))
            tally_rows.append(tr.tally)
    return (np.array(sources, dtype=int), np.array(targets, dtype=int),
            _stack(rates, n_places), tally_rows)


def _infectiousness(spec: ModelSpec, values: dict, index: dict) -> np.ndarray:
    """Infectiousness weight of every compartment for each infection, shape (K, C)."""
    weights = np.zeros((len(spec.infections), len(index)))
    for k, f in enumerate(spec.infections):
        for cid, weight in f.sources.items():
            if isinstance(weight, str):
                if np.ptp(values[weight]) > 0:
                    raise ModelSpecError(f"model {spec.name!r}: infectiousness weight {weight} "
                                         "must be the same in every place")
                weight = values[weight][0]
            weights[k, index[cid]] = weight
    return weights


def _tally_matrix(rows: list, tallies: tuple) -> np.ndarray:
    out = np.zeros((len(rows), len(tallies)))
    for i, names in enumerate(rows):
        for name in names:
            out[i, tallies.index(name)] = 1.0
    return out


def _stack(columns: list, n_places: int) -> np.ndarray:
    out = np.zeros((n_places, len(columns)))
    for k, column in enumerate(columns):
        out[:, k] = column
    return out


def _change_matrix(source: np.ndarray, target: np.ndarray, n_comp: int) -> np.ndarray:
    change = np.zeros((len(source), n_comp))
    change[np.arange(len(source)), source] -= 1.0
    alive = target >= 0
    change[np.arange(len(source))[alive], target[alive]] += 1.0
    return change
