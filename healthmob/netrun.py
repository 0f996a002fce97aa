"""Network ensembles from a ``[network]`` config: run, summarise, fit, write.

:func:`run_network` runs every network type's members (:func:`healthmob.network.
run_network_member`, mapped serially or on the executors of :mod:`healthmob.ensemble`),
compares them with the mean-field engine, fits the mean-field transmission rate that matches
each network's early growth and its final size (:mod:`healthmob.netfit`), and writes
``network.nc`` (CF) and ``network_fit.csv`` atomically. :func:`calibrate_transmission` gives
a place's transmission parameter from a network calibration. Docs: docs/networks.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from . import __version__, netfit
from . import units as _units
from .atomic import atomic_path, write_text_atomic
from .deterministic import simulate_deterministic
from .errors import ConfigError, join_problems
from .model import CompiledModel, compile_model
from .netconfig import FITS, parameter_overrides, validate_network_config
from .network import initial_state, member_seeds, run_network_member
from .schema import CONVENTIONS, check_dataset
from .spec import ModelSpec, load_model

log = logging.getLogger(__name__)

FIT_COLUMNS = {
    # column: (long_name, CF units)
    "n_nodes": ("nodes of each network", "1"),
    "members": ("ensemble members", "1"),
    "mean_degree": ("mean degree over members", "1"),
    "mean_excess_degree": ("mean excess degree <k^2>/<k> - 1 over members", "1"),
    "per_contact_rate_per_day": ("per-contact transmission rate of the first infection",
                                 "day-1"),
    "transmission_rate_per_day": ("mean-field transmission rate of the first infection (spec)",
                                  "day-1"),
    "attack_fraction": ("share ever infected by max_time, ensemble mean", "1"),
    "attack_fraction_sd": ("share ever infected by max_time, standard deviation over members",
                           "1"),
    "attack_fraction_mean_field": ("share ever infected by max_time, mean-field engine", "1"),
    "attack_fraction_generating_function": (
        "final share infected from degree generating functions (bond percolation)", "1"),
    "peak_time_days": ("time of the peak of the ensemble-mean infectious prevalence", "day"),
    "peak_time_mean_field_days": ("time of the peak of infectious prevalence, mean-field",
                                  "day"),
    "growth_rate_per_day": ("early exponential growth rate of the ensemble-mean infected",
                            "day-1"),
    "growth_rate_mean_field_per_day": ("mean-field early growth rate (dominant eigenvalue)",
                                       "day-1"),
    "r0_mean_field": ("basic reproduction number of the mean-field model", "1"),
    "r0_network": ("network basic reproduction number T (<k^2> - <k>) / <k>", "1"),
    "transmissibility": ("probability of transmission across one contact", "1"),
    "fitted_transmission_rate_growth_per_day": (
        "mean-field transmission rate whose growth rate equals the network's", "day-1"),
    "fitted_transmission_rate_final_size_per_day": (
        "mean-field transmission rate whose attack fraction equals the network's", "day-1"),
    "r0_fitted_growth": ("mean-field R0 with the growth-fitted transmission rate", "1"),
    "r0_fitted_final_size": ("mean-field R0 with the final-size-fitted transmission rate",
                             "1"),
    "events": ("stochastic events over all members", "1"),
}
"""Columns of ``network_fit.csv`` (after ``network`` and ``type``); the same variables, with
dim ``network``, are in ``network.nc``."""


@dataclass
class NetworkEnsembles:
    """Members of every network type, before summarising."""

    resolved: dict
    spec: ModelSpec
    overrides: dict
    times: np.ndarray
    x0: np.ndarray
    members: dict  # network name -> list of member dicts

    @property
    def model(self) -> CompiledModel:
        """The mean-field model (one place) with the config's parameters."""
        return compile_model(self.spec, 1, self.overrides)


def resolve_network_config(table: dict, *, base_dir: Path | None = None,
                           where: str = "network") -> dict:
    """Validate a ``[network]`` table (defaults filled) or raise one :class:`ConfigError`."""
    resolved, problems = validate_network_config(table, where, base_dir=base_dir)
    if problems:
        raise ConfigError(join_problems(where, problems))
    return resolved


def run_network_ensembles(table: dict, *, base_dir: Path | None = None,
                          only: list[str] | None = None, progress=None) -> NetworkEnsembles:
    """Run the members of every network in ``table`` (a ``[network]`` section).

    Member ``m`` of the ``t``-th network (config order) is seeded with
    ``SeedSequence(seed, spawn_key=(t, m))``; ``only`` restricts to some networks (their
    seeds do not change).
    """
    resolved = resolve_network_config(table, base_dir=base_dir)
    spec = load_model(resolved["model"], base_dir)
    overrides = parameter_overrides(resolved, spec)
    max_time = _units.parse_duration(resolved["max_time"])
    step = _units.parse_duration(resolved["step"])
    times = np.append(np.arange(0.0, max_time - 1e-9 * max_time, step), max_time)
    n_nodes = resolved["n_nodes"]
    x0 = initial_state(spec, n_nodes, resolved["initial_infected"],
                       resolved["initial_compartment"])
    tasks, owners = [], []
    for t, (name, net) in enumerate(resolved["networks"].items()):
        if only is not None and name not in only:
            continue
        params = {**net, "n_nodes": n_nodes, "times": times, "x0": x0,
                  "overrides": overrides, "contact_scaling": resolved["contact_scaling"]}
        for seed_seq in member_seeds(resolved["seed"], t, resolved["members"]):
            tasks.append((spec, params, seed_seq))
            owners.append(name)
    t0 = time.perf_counter()
    results = _map_members(tasks, resolved, progress)
    log.info("network: %d member(s) in %.2f s", len(tasks), time.perf_counter() - t0)
    members: dict = {}
    for name, result in zip(owners, results):
        members.setdefault(name, []).append(result)
    return NetworkEnsembles(resolved, spec, overrides, times, x0, members)


def _map_members(tasks: list, resolved: dict, progress) -> list:
    """Run the tasks serially, on a local dask cluster, or on a scheduler (ensemble.py)."""
    if resolved["executor"] == "serial" and not resolved["scheduler"]:
        out = []
        for i, task in enumerate(tasks):
            out.append(run_network_member(*task))
            if progress is not None:
                progress(i + 1, len(tasks))
        return out
    from . import ensemble

    kind = "address" if resolved["scheduler"] else "local"
    with ensemble._client(kind, workers=resolved["workers"], host=resolved["host"],
                          cluster=None, scheduler=resolved["scheduler"] or None) as client:
        futures = client.map(run_network_member, *zip(*tasks), pure=False)
        return client.gather(futures)


def summarise(runs: NetworkEnsembles) -> tuple[list[dict], dict]:
    """One row of :data:`FIT_COLUMNS` per network, and the mean-field reference curves."""
    model, times, x0 = runs.model, runs.times, runs.x0
    n_nodes = float(x0.sum())
    infectious = np.flatnonzero(model.inf_weight.max(axis=0) > 0)
    infected = netfit.infected_states(model)
    trajectory = simulate_deterministic(model, x0[None].astype(float), times, method="LSODA",
                                        rtol=1e-8, atol=1e-8)
    mf_state = trajectory.state[:, 0]
    reference = {
        "state": mf_state,
        "attack": netfit.attack_fraction(model, x0, times[-1]),
        "peak": netfit.peak_time(times, mf_state[:, infectious].sum(axis=1)),
        "growth": netfit.growth_rate(model),
        "r0": netfit.reproduction_number(model),
    }
    beta = float(model.inf_rate[0, 0])
    start = n_nodes - x0[model.inf_source[0]]
    rows = []
    for t, (name, members) in enumerate(runs.members.items()):
        net = runs.resolved["networks"][name]
        state = np.stack([m["state"] for m in members]).astype(float)
        ever = start + np.stack([m["cumulative"][:, 0] for m in members]).astype(float)
        attack = ever[:, -1] / n_nodes
        mean_state = state.mean(axis=0)
        growth = netfit.fit_growth_rate(times, mean_state[:, infected].sum(axis=1),
                                        ever.mean(axis=0), n_nodes,
                                        runs.resolved["growth_window"])
        per_contact = float(np.mean([m["per_contact"][0] for m in members]))
        degrees = _pooled_degrees(members)
        transmissibility = netfit.transmissibility(model, per_contact)
        gf = (netfit.network_final_size(degrees, transmissibility, start / n_nodes)
              if runs.spec.births is None else float("nan"))
        s_growth = netfit.scale_for_growth(model, growth)
        s_attack = netfit.scale_for_attack(model, x0, times[-1], float(attack.mean()))
        rows.append({
            "network": name, "type": net["type"], "n_nodes": int(n_nodes),
            "members": len(members),
            "mean_degree": float(np.mean([m["degree"]["mean_degree"] for m in members])),
            "mean_excess_degree": float(np.mean([m["degree"]["mean_excess_degree"]
                                                 for m in members])),
            "per_contact_rate_per_day": per_contact,
            "transmission_rate_per_day": beta,
            "attack_fraction": float(attack.mean()),
            "attack_fraction_sd": float(attack.std(ddof=1)) if len(attack) > 1 else 0.0,
            "attack_fraction_mean_field": reference["attack"],
            "attack_fraction_generating_function": gf,
            "peak_time_days": netfit.peak_time(times, mean_state[:, infectious].sum(axis=1)),
            "peak_time_mean_field_days": reference["peak"],
            "growth_rate_per_day": growth,
            "growth_rate_mean_field_per_day": reference["growth"],
            "r0_mean_field": reference["r0"],
            "r0_network": netfit.network_r0(degrees, transmissibility),
            "transmissibility": transmissibility,
            "fitted_transmission_rate_growth_per_day": s_growth * beta,
            "fitted_transmission_rate_final_size_per_day": s_attack * beta,
            "r0_fitted_growth": s_growth * reference["r0"],
            "r0_fitted_final_size": s_attack * reference["r0"],
            "events": int(sum(m["events"] for m in members)),
        })
        log.info("network %s: attack %.4f (mean field %.4f), peak %.2f d (%.2f), growth "
                 "%.4f/d (%.4f)", name, rows[-1]["attack_fraction"], reference["attack"],
                 rows[-1]["peak_time_days"], reference["peak"], growth, reference["growth"])
    return rows, reference


def _pooled_degrees(members: list) -> np.ndarray:
    width = max(len(m["degree_counts"]) for m in members)
    counts = sum(np.pad(m["degree_counts"], (0, width - len(m["degree_counts"])))
                 for m in members)
    return np.repeat(np.arange(width), counts)


def network_dataset(runs: NetworkEnsembles, rows: list[dict], reference: dict,
                    name: str = "") -> xr.Dataset:
    """``network.nc``: members' states, the mean-field reference and the fit per network."""
    names = list(runs.members)
    compartments = runs.members[names[0]][0]["compartments"]
    n_members = max(len(v) for v in runs.members.values())
    shape = (len(names), n_members, len(runs.times), len(compartments))
    population = np.full(shape, -1, dtype=np.int32)
    ever = np.full(shape[:3], -1, dtype=np.int32)
    start = int(runs.x0.sum() - runs.x0[runs.spec.compartment_ids.index(
        runs.spec.infections[0].source)])
    member_vars = {key: np.full(shape[:2], np.nan) for key in
                   ("mean_degree", "mean_excess_degree", "per_contact_rate")}
    for i, key in enumerate(names):
        for m, result in enumerate(runs.members[key]):
            population[i, m] = result["state"]
            ever[i, m] = start + result["cumulative"][:, 0]
            member_vars["mean_degree"][i, m] = result["degree"]["mean_degree"]
            member_vars["mean_excess_degree"][i, m] = result["degree"]["mean_excess_degree"]
            member_vars["per_contact_rate"][i, m] = result["per_contact"][0]
    mf = reference["state"]
    if len(compartments) > mf.shape[1]:  # the network's "dead": everyone missing
        mf = np.concatenate([mf, runs.x0.sum() - mf.sum(axis=1, keepdims=True)], axis=1)
    data = {
        "population": (("network", "member", "time", "compartment"), population,
                       {"units": "1", "long_name": "persons per compartment",
                       }),
        "ever_infected": (("network", "member", "time"), ever,
                          {"units": "1", "long_name": "persons ever infected (initial "
                           "infections included)",}),
        "population_mean_field": (("time", "compartment"), mf,
                                  {"units": "1", "long_name": "persons per compartment, "
                                   "mean-field (deterministic) engine"}),
        "member_mean_degree": (("network", "member"), member_vars["mean_degree"],
                               {"units": "1", "long_name": "mean degree of the member's "
                                "network"}),
        "member_mean_excess_degree": (("network", "member"), member_vars["mean_excess_degree"],
                                      {"units": "1", "long_name": "mean excess degree "
                                       "<k^2>/<k> - 1 of the member's network"}),
        "member_per_contact_rate": (("network", "member"), member_vars["per_contact_rate"],
                                    {"units": "day-1", "long_name": "per-contact "
                                     "transmission rate of the first infection"}),
    }
    for column, (long_name, units) in FIT_COLUMNS.items():
        values = np.array([row[column] for row in rows])
        data[column] = (("network",), values, {"units": units, "long_name": long_name})
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    config = json.dumps(runs.resolved, sort_keys=True, default=str)
    ds = xr.Dataset(
        {key: xr.Variable(dims, values, attrs) for key, (dims, values, attrs) in data.items()},
        coords={
            "network": ("network", names, {"long_name": "network name in the config"}),
            "network_type": ("network", [rows[i]["type"] for i in range(len(names))],
                             {"long_name": "network generator"}),
            "member": ("member", np.arange(n_members), {"long_name": "ensemble member"}),
            "time": ("time", runs.times, {"units": "day",
                                          "long_name": "days since the start of the epidemic"}),
            "compartment": ("compartment", list(compartments),
                            {"long_name": "disease compartment"}),
        },
        attrs={
            "title": f"healthmob network ensembles{': ' + name if name else ''}",
            "source": f"healthmob {__version__} (epydemic Gillespie dynamics)",
            "history": f"{now} healthmob network",
            "Conventions": CONVENTIONS,
            "model": runs.spec.name,
            "model_sha256": runs.spec.sha256,
            "config_sha256": hashlib.sha256(config.encode()).hexdigest(),
            "seed": runs.resolved["seed"],
            "members": runs.resolved["members"],
            "contact_scaling": runs.resolved["contact_scaling"],
            "seeding": "member m of the t-th network: SeedSequence(seed, spawn_key=(t, m))",
        },
    )
    return ds


def fit_table_csv(rows: list[dict]) -> str:
    """``network_fit.csv`` text: one row per network, columns of :data:`FIT_COLUMNS`."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, ["network", "type", *FIT_COLUMNS], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buffer.getvalue()


def run_network(table: dict, output_dir: Path, *, base_dir: Path | None = None,
                name: str = "", progress=None) -> list[Path]:
    """Run a ``[network]`` section and write ``network.nc`` and ``network_fit.csv``.

    Parameters
    ----------
    table : dict
        The ``[network]`` section (validated here; defaults filled).
    output_dir : Path
        Existing folder the two files are written to (atomically).
    base_dir : Path, optional
        Folder a model path is resolved against (the config's folder).
    name : str
        Config name, for the dataset title.
    progress : callable, optional
        ``progress(done, total)`` after each member (serial executor).

    Returns
    -------
    list of Path
        ``[network.nc, network_fit.csv]``.
    """
    output_dir = Path(output_dir)
    runs = run_network_ensembles(table, base_dir=base_dir, progress=progress)
    rows, reference = summarise(runs)
    ds = network_dataset(runs, rows, reference, name)
    problems = check_dataset(ds)
    assert not problems, problems  # a bug here, never a user error
    nc_path, csv_path = output_dir / "network.nc", output_dir / "network_fit.csv"
    with atomic_path(nc_path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
    write_text_atomic(csv_path, fit_table_csv(rows))
    return [nc_path, csv_path]


def transmission_parameter(spec: ModelSpec) -> str:
    """The parameter a network calibration sets: the first rate parameter (units 1/time,
    multiplying) of the first infection's rate, which every infection's rate must use."""
    for pname, _, power in spec.infections[0].rate.factors:
        if pname is not None and power == 1 and spec.parameters[pname].time_power == -1:
            if all(pname in inf.rate.names() for inf in spec.infections):
                return pname
    raise ConfigError(f"model {spec.name!r}: no transmission parameter (units 1/time) is "
                      "shared by every infection's rate; a network calibration cannot set it")


def calibrate_transmission(table: dict, fit: str = "growth", network: str | None = None, *,
                           base_dir: Path | None = None) -> dict[str, float]:
    """Transmission parameter fitted to a network ensemble, in base units (per day).

    Parameters
    ----------
    table : dict
        A ``[network]`` section.
    fit : {"growth", "final_size"}
        Match the network's early growth rate, or its attack fraction by ``max_time``.
    network : str, optional
        Which of the section's networks (default: the first).

    Returns
    -------
    dict
        ``{parameter: value per day}``, e.g. ``{"beta": 0.61}``, to use as a place's
        parameter override.
    """
    if fit not in FITS:
        raise ConfigError(f"network fit must be one of {list(FITS)}; got {fit!r}")
    resolved = resolve_network_config(table, base_dir=base_dir)
    network = network or next(iter(resolved["networks"]))
    if network not in resolved["networks"]:
        raise ConfigError(f"network: network must be one of {sorted(resolved['networks'])}; "
                          f"got {network!r}")
    runs = run_network_ensembles(resolved, base_dir=base_dir, only=[network])
    rows, _ = summarise(runs)
    column = ("fitted_transmission_rate_growth_per_day" if fit == "growth"
              else "fitted_transmission_rate_final_size_per_day")
    ratio = rows[0][column] / rows[0]["transmission_rate_per_day"]
    if not np.isfinite(ratio):
        raise ConfigError(f"network.networks.{network}: the {fit} fit failed (the epidemic "
                          "did not grow within max_time or the growth window)")
    pname = transmission_parameter(runs.spec)
    current = runs.overrides.get(pname, runs.spec.base_values()[pname])
    return {pname: float(current * ratio)}
