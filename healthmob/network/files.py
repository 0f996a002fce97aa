"""Outputs of network ensembles: ``network.nc`` (CF) and ``network_fit.csv``.

Labelled layer (xarray); the numbers come from :mod:`healthmob.netrun`.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json

import numpy as np
import xarray as xr

from .. import __version__
from ..schema import CONVENTIONS

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
    "attack_fraction": ("infections by max_time (initial ones included) per node, ensemble "
                        "mean: the final size when nobody dies or is born", "1"),
    "attack_fraction_sd": ("infections by max_time per node, standard deviation over members",
                           "1"),
    "attack_fraction_mean_field": ("infections by max_time per person, mean-field engine",
                                   "1"),
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


def network_dataset(runs, rows: list[dict], reference: dict,
                    name: str = "") -> xr.Dataset:
    """``network.nc``: members' states, the mean-field reference and the fit per network.

    ``runs`` is a :class:`healthmob.netrun.NetworkEnsembles`; ``rows`` and ``reference`` come
    from :func:`healthmob.netrun.summarise`.
    """
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
    config = json.dumps(runs.config.to_table(), sort_keys=True, default=str)
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
            "seed": runs.config.seed,
            "members": runs.config.members,
            "contact_scaling": runs.config.contact_scaling,
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


