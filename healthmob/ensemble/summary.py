"""Combined ensemble results: layout, per-member variables and quantiles across members.

numpy and xarray only. :mod:`healthmob.ensemble` streams these pieces into ``results.nc``
one member (or one block of places) at a time, so memory does not grow with the number of
members. Variables (CF): ``population (scenario, member, time, place, compartment)``,
``total_population (scenario, member, time, place)``, one ``(scenario, member, time, place)``
variable per model tally (cases per 100,000 population per year) and per model output
(prevalences, coverage, shares: :func:`healthmob.disease.observables.observe`, as in a
deterministic ``results.nc``), and their quantiles
across members ``<name>_quantile (scenario, quantile, time, place[, compartment])``
(float32: 7 significant digits).
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np

from .. import __version__
from ..disease.observables import attrs_of, observe
from ..schema import CONVENTIONS
from .members import member_path, read_member
from .plan import EnsemblePlan

PLACE_BLOCK_BYTES = 16 * 2**20
"""Target size of the member slices read at once to compute quantiles (bytes)."""
MEMBER_DIMS = ("scenario", "member", "time", "place")
QUANTILE_DIMS = ("scenario", "quantile", "time", "place")


def skeleton(plan: EnsemblePlan) -> tuple[dict, dict, dict]:
    """Coordinates, variable layout and global attributes of the combined results.

    Returns
    -------
    coords : dict
        name -> (dims, values, attrs).
    variables : dict
        name -> (dims, dtype, attrs, kind) with kind ``"member"`` (one block per member) or
        ``"quantile"`` (one block per scenario and block of places).
    attrs : dict
        Global attributes.
    """
    return _coords(plan), _variables(plan), _attrs(plan)


def _coords(plan: EnsemblePlan) -> dict:
    labels = plan.labels
    start = np.datetime64(labels.start, "ns")
    times = start + (np.asarray(plan.times) * 86400e9).astype("timedelta64[ns]")
    coords = {
        "scenario": (("scenario",), np.arange(plan.n_scenarios),
                     {"long_name": "index of the parameter-sweep scenario"}),
        "member": (("member",), np.arange(plan.members),
                   {"long_name": "index of the ensemble member (its random stream)"}),
        "time": (("time",), times, {"long_name": "time", "standard_name": "time"}),
        "compartment": (("compartment",), np.array(plan.spec.compartment_ids, dtype=str),
                        {"long_name": "compartment id of the disease model"}),
    }
    if plan.members >= 2:
        coords["quantile"] = (("quantile",), np.asarray(labels.quantiles, dtype=float),
                              {"long_name": "quantile across ensemble members", "units": "1"})
    place_coords = labels.place_coords or {
        "place": ("place", np.array([str(i) for i in range(plan.x0.shape[0])]),
                  {"long_name": "place id"})}
    for name, (dims, values, attrs) in place_coords.items():
        coords[name] = ((dims,) if isinstance(dims, str) else dims, values, attrs)
    for name, (values, units) in labels.sweep.items():
        coords[f"sweep_{name}"] = (("scenario",), np.asarray(values, dtype=float), {
            "units": units, "long_name": f"model parameter {name} in this scenario"})
    return coords


def _variables(plan: EnsemblePlan) -> dict:
    state_dtype = plan.state_dtype
    variables = {
        "population": (MEMBER_DIMS + ("compartment",), state_dtype,
                       {"units": "1", "long_name": "number of people by place and compartment"},
                       "member"),
        "total_population": (MEMBER_DIMS, state_dtype,
                             {"units": "1", "long_name": "number of people in the place"},
                             "member"),
        "population_quantile": (QUANTILE_DIMS + ("compartment",), np.float32, {
            "units": "1", "long_name": "number of people by place and compartment: "
                                       "quantile across members"}, "quantile"),
    }
    interval = ("events in the output interval ending at the time stamp, divided by its "
                "length; the first time stamp holds the expected rate at the start")
    if plan.engine == "deterministic":
        interval = "instantaneous rate at the time stamp"
    for name in _observables(plan):
        attrs = attrs_of(plan.spec, name)
        if name in plan.spec.tallies:
            attrs["comment"] = interval
        variables[name] = (MEMBER_DIMS, np.float64, attrs, "member")
        variables[f"{name}_quantile"] = (QUANTILE_DIMS, np.float32, {
            **attrs, "long_name": f"{attrs['long_name']}: quantile across members"}, "quantile")
    if plan.members < 2:  # quantiles of one member are that member
        variables = {k: v for k, v in variables.items() if v[3] != "quantile"}
    return variables


def _attrs(plan: EnsemblePlan) -> dict:
    spec, given = plan.spec, plan.labels.attrs
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    attrs = {
        "title": f"healthmob ensemble: {spec.long_name}",
        "source": f"healthmob {__version__}",
        "history": f"{now} {given.get('history', 'healthmob ensemble')}",
        "Conventions": CONVENTIONS,
        "references": " | ".join(spec.references),
        "model": spec.name,
        "model_sha256": spec.sha256,
        "engine": plan.engine,
        "seed": plan.seed,
        "members": plan.members,
        "scenarios": plan.n_scenarios,
        "step_days": plan.dt,
        "seeding": "member m of scenario s draws from numpy.random.SeedSequence(seed, "
                   "spawn_key=(s, m)) = SeedSequence(seed).spawn(S)[s].spawn(M)[m] (PCG64)",
        "plan_sha256": plan.fingerprint,
    }
    attrs.update({k: v for k, v in given.items() if k != "history"})
    return attrs


def member_variables(plan: EnsemblePlan, folder, scenario: int, member: int) -> dict:
    """The ``member`` variables of one member: name -> array without the first two dims."""
    path = member_path(folder, scenario, member)
    state = read_member(path, "state")
    tally = read_member(path, "tally_rate")
    out = {"population": state, "total_population": state.sum(axis=2, dtype=state.dtype)}
    out.update({name: observe(plan.spec, name, state, tally) for name in _observables(plan)})
    return out


def quantile_variables(plan: EnsemblePlan, folder, scenario: int, places: slice) -> dict:
    """Quantiles across members for a block of places: name -> (quantile, time, block...)."""
    quantiles = np.asarray(plan.labels.quantiles)
    states, values = [], {name: [] for name in _observables(plan)}
    for member in range(plan.members):
        path = member_path(folder, scenario, member)
        state = read_member(path, "state", places)
        tally = read_member(path, "tally_rate", places)
        states.append(state)
        for name, value in values.items():
            value.append(observe(plan.spec, name, state, tally))
    out = {"population_quantile": np.quantile(np.stack(states).astype(float), quantiles,
                                              axis=0).astype(np.float32)}
    with warnings.catch_warnings():   # an output with no denominator in every member: nan
        warnings.simplefilter("ignore", RuntimeWarning)
        for name, value in values.items():
            out[f"{name}_quantile"] = np.nanquantile(np.stack(value), quantiles,
                                                     axis=0).astype(np.float32)
    return out


def place_blocks(plan: EnsemblePlan) -> list[slice]:
    """Blocks of places whose member slices fit :data:`PLACE_BLOCK_BYTES` together."""
    n_places = plan.x0.shape[0]
    per_place = (plan.members * len(plan.times) * 8
                 * (plan.x0.shape[1] + 1 + len(_observables(plan))))
    size = int(max(1, min(n_places, PLACE_BLOCK_BYTES // max(per_place, 1))))
    return [slice(i, min(i + size, n_places)) for i in range(0, n_places, size)]


def _observables(plan: EnsemblePlan) -> list[str]:
    """The model's tallies (per 100,000 per year) and outputs (prevalences, shares...)."""
    return [*plan.spec.tallies, *plan.spec.outputs]
