"""Network ensembles from a ``[network]`` config: run, summarise, fit, write.

:func:`run_network` runs every network type's members
(:func:`healthmob.network.process.run_network_member`, serially or on the executors of
:mod:`healthmob.ensemble.executors`), compares them with the mean-field engine, fits the
mean-field transmission rate that matches each network's early growth and its final size
(:mod:`healthmob.network.fit`), and writes ``network.nc`` (CF) and ``network_fit.csv``
atomically. :func:`calibrate_transmission` gives a place's transmission parameter from a
network calibration. Docs: docs/networks.md.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import units as _units
from ..checks import OneOf, must_be
from ..disease.compile import CompiledModel, compile_model
from ..disease.reproduction import basic_reproduction_number, infected_states
from ..disease.spec import ModelSpec
from ..engine.ode import simulate_deterministic
from ..engine.seeds import stream
from ..errors import ConfigError, ModelSpecError
from ..schema import require_conforming
from ..store.atomic import write_text_atomic
from ..store.netcdf import write_dataset
from . import fit as netfit
from .config import FITS, NetworkConfig, network_config
from .files import fit_table_csv, network_dataset
from .process import run_network_member

log = logging.getLogger(__name__)


@dataclass
class NetworkEnsembles:
    """Members of every network type, before summarising."""

    config: NetworkConfig
    times: np.ndarray
    x0: np.ndarray
    members: dict  # network name -> list of member dicts

    @property
    def spec(self) -> ModelSpec:
        """The disease model."""
        return self.config.spec

    @property
    def compiled(self) -> CompiledModel:
        """The mean-field model (one place) with the config's parameters."""
        return compile_model(self.config.spec, 1, self.config.overrides)


def run_network_ensembles(table: NetworkConfig | dict, *, base_dir: Path | None = None,
                          only: list[str] | None = None, progress=None) -> NetworkEnsembles:
    """Run the members of every network of a ``[network]`` section (checked, or a table).

    Member ``m`` of the ``t``-th network (config order) draws from stream ``(t, m)`` of the
    section's seed (:func:`member_seeds`); ``only`` restricts to some networks (their
    seeds do not change).
    """
    cfg = network_config(table, base_dir)
    max_time = _units.parse_duration(cfg.max_time)
    step = _units.parse_duration(cfg.step)
    times = np.append(np.arange(0.0, max_time - 1e-9 * max_time, step), max_time)
    x0 = initial_state(cfg.spec, cfg.n_nodes, cfg.initial_infected, cfg.initial_compartment)
    tasks, owners = [], []
    for t, (name, net) in enumerate(cfg.networks.items()):
        if only is not None and name not in only:
            continue
        params = {**net, "n_nodes": cfg.n_nodes, "times": times, "x0": x0,
                  "overrides": cfg.overrides, "contact_scaling": cfg.contact_scaling}
        for seed_seq in member_seeds(cfg.seed, t, cfg.members):
            tasks.append((cfg.spec, params, seed_seq))
            owners.append(name)
    t0 = time.perf_counter()
    results = _map_members(tasks, cfg, progress)
    log.info("network: %d member(s) in %.2f s", len(tasks), time.perf_counter() - t0)
    members: dict = {}
    for name, result in zip(owners, results):
        members.setdefault(name, []).append(result)
    return NetworkEnsembles(cfg, times, x0, members)


def _map_members(tasks: list, cfg: NetworkConfig, progress) -> list:
    """Run the tasks serially, on a local dask cluster, or on a scheduler."""
    if cfg.executor == "serial" and not cfg.scheduler:
        out = []
        for i, task in enumerate(tasks):
            out.append(run_network_member(*task))
            if progress is not None:
                progress(i + 1, len(tasks))
        return out
    from ..ensemble.executors import client_for  # dask: imported only when used

    kind = "address" if cfg.scheduler else "local"
    with client_for(kind, workers=cfg.workers, host=cfg.host,
                    scheduler=cfg.scheduler or None) as client:
        futures = client.map(run_network_member, *zip(*tasks), pure=False)
        return client.gather(futures)


def summarise(runs: NetworkEnsembles) -> tuple[list[dict], dict]:
    """One row of :data:`FIT_COLUMNS` per network, and the mean-field reference curves."""
    compiled, times, x0 = runs.compiled, runs.times, runs.x0
    n_nodes = float(x0.sum())
    infectious = np.flatnonzero(compiled.inf_weight.max(axis=0) > 0)
    infected = infected_states(compiled)
    trajectory = simulate_deterministic(compiled, x0[None].astype(float), times, method="LSODA",
                                        rtol=1e-8, atol=1e-8)
    mf_state = trajectory.state[:, 0]
    reference = {
        "state": mf_state,
        "attack": netfit.attack_fraction(compiled, x0, times[-1]),
        "peak": netfit.peak_time(times, mf_state[:, infectious].sum(axis=1)),
        "growth": netfit.growth_rate(compiled),
        "r0": basic_reproduction_number(compiled),
    }
    beta = float(compiled.inf_rate[0, 0])
    start = n_nodes - x0[compiled.inf_source[0]]
    rows = []
    for t, (name, members) in enumerate(runs.members.items()):
        net = runs.config.networks[name]
        state = np.stack([m["state"] for m in members]).astype(float)
        ever = start + np.stack([m["cumulative"][:, 0] for m in members]).astype(float)
        attack = ever[:, -1] / n_nodes
        mean_state = state.mean(axis=0)
        growth = netfit.fit_growth_rate(times, mean_state[:, infected].sum(axis=1),
                                        ever.mean(axis=0), n_nodes,
                                        runs.config.growth_window)
        per_contact = float(np.mean([m["per_contact"][0] for m in members]))
        degrees = _pooled_degrees(members)
        transmissibility = netfit.transmissibility(compiled, per_contact)
        gf = (netfit.network_final_size(degrees, transmissibility, start / n_nodes)
              if runs.spec.births is None else float("nan"))
        s_growth = netfit.scale_for_growth(compiled, growth)
        s_attack = netfit.scale_for_attack(compiled, x0, times[-1], float(attack.mean()))
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


def run_network(table: NetworkConfig | dict, output_dir: Path, *,
                base_dir: Path | None = None, name: str = "", progress=None) -> list[Path]:
    """Run a ``[network]`` section and write ``network.nc`` and ``network_fit.csv``.

    Parameters
    ----------
    table : NetworkConfig or dict
        The ``[network]`` section, checked or to check here.
    output_dir : Path
        Folder the two files are written to (atomically); created if missing.
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
    output_dir.mkdir(parents=True, exist_ok=True)
    runs = run_network_ensembles(table, base_dir=base_dir, progress=progress)
    rows, reference = summarise(runs)
    ds = require_conforming(network_dataset(runs, rows, reference, name), "network.nc")
    nc_path, csv_path = output_dir / "network.nc", output_dir / "network_fit.csv"
    write_dataset(ds, nc_path)
    write_text_atomic(csv_path, fit_table_csv(rows))
    return [nc_path, csv_path]


def member_seeds(seed: int, network_index: int, members: int) -> list:
    """Seeds of a network type's members: streams ``(t, m)`` (:mod:`healthmob.engine.seeds`)."""
    return [stream(seed, network_index, m) for m in range(members)]


def initial_state(spec: ModelSpec, n_nodes: int, n_infected: int,
                  compartment: str = "") -> np.ndarray:
    """``n_infected`` in ``compartment`` (default: the first infection's target), the rest in
    the first infection's source."""
    if not spec.infections:
        raise ModelSpecError(f"model {spec.name!r}: a network run needs an infection")
    ids = spec.compartment_ids
    x0 = np.zeros(len(ids), dtype=np.int64)
    x0[ids.index(compartment or spec.infections[0].target)] += n_infected
    x0[ids.index(spec.infections[0].source)] += n_nodes - n_infected
    return x0


def transmission_parameter(spec: ModelSpec) -> str:
    """The parameter a network calibration sets: the first rate parameter (units 1/time,
    multiplying) of the first infection's rate, which every infection's rate must use."""
    for pname, _, power in spec.infections[0].rate.factors:
        if pname is not None and power == 1 and spec.parameters[pname].time_power == -1:
            if all(pname in inf.rate.names() for inf in spec.infections):
                return pname
    raise ConfigError(f"model {spec.name!r}: no transmission parameter (units 1/time) is "
                      "shared by every infection's rate; a network calibration cannot set it")


def calibrate_transmission(table: NetworkConfig | dict, fit: str = "growth",
                           network: str | None = None, *,
                           base_dir: Path | None = None) -> dict[str, float]:
    """Transmission parameter fitted to a network ensemble, in base units (per day).

    Parameters
    ----------
    table : NetworkConfig or dict
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
        raise ConfigError(must_be("network fit", OneOf(FITS).text, fit))
    cfg = network_config(table, base_dir)
    network = network or next(iter(cfg.networks))
    if network not in cfg.networks:
        raise ConfigError("network: " + must_be("network", OneOf(tuple(sorted(
            cfg.networks))).text, network))
    runs = run_network_ensembles(cfg, only=[network])
    rows, _ = summarise(runs)
    column = ("fitted_transmission_rate_growth_per_day" if fit == "growth"
              else "fitted_transmission_rate_final_size_per_day")
    ratio = rows[0][column] / rows[0]["transmission_rate_per_day"]
    if not np.isfinite(ratio):
        raise ConfigError(f"network.networks.{network}: the {fit} fit failed (the epidemic "
                          "did not grow within max_time or the growth window)")
    pname = transmission_parameter(runs.spec)
    current = cfg.overrides.get(pname, runs.spec.base_values()[pname])
    return {pname: float(current * ratio)}
