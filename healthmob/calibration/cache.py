"""Cache of endemic calibrations in ``geo/calibration-<scenario>.csv``.

A calibration depends only on the model spec, the fixed parameter values, the targets and
the places' data; its key is the sha256 of all of these. A run whose key matches the cached
file starts at once from it; otherwise it calibrates (seconds) and says so. Only
``healthmob calibrate CONFIG`` writes the cache.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..store.atomic import write_text_atomic
from ..store.resources import data_dir
from .initial import FLAG_MEANINGS, InitialState

log = logging.getLogger(__name__)


def cache_path(scenario_name: str) -> Path:
    """Where the calibration of the scenario ``scenario_name`` is cached."""
    return data_dir("geo") / f"calibration-{scenario_name}.csv"


def cache_key(spec, places: pd.DataFrame, overrides: dict, targets, fallback: str) -> str:
    """sha256 of everything the calibration depends on."""
    columns = sorted({t.column for t in targets if t.column} | ({fallback} & set(places.columns)))
    payload = {
        "model": spec.sha256,
        "overrides": {k: np.atleast_1d(v).tolist() for k, v in sorted(overrides.items())},
        "targets": [[t.observable, t.parameter, t.column, t.value] for t in targets],
        "fallback": fallback,
        "places": places[["id", *columns]].astype(str).to_numpy().tolist(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def load_calibration(path: Path, key: str, spec, places: pd.DataFrame, overrides: dict,
                     targets) -> InitialState | None:
    """The cached calibration when its key matches, else None."""
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as handle:
        first = handle.readline().strip()
    if first != f"# key={key}":
        log.info("calibration cache %s is for other inputs; calibrating now "
                 "(refresh it with `healthmob calibrate CONFIG`)", path)
        return None
    table = pd.read_csv(path, comment="#", keep_default_na=False, na_values=[""]).set_index("id")
    table = table.loc[places["id"]]
    fractions = table[[f"x_{c}" for c in spec.compartment_ids]].to_numpy()
    fitted = {t.parameter: table[f"fitted_{t.parameter}"].to_numpy() for t in targets}
    goal = table[[f"goal_{t.observable}" for t in targets]].to_numpy()
    achieved = table[[f"achieved_{t.observable}" for t in targets]].to_numpy()
    flag = np.array([FLAG_MEANINGS.index(f) for f in table["flag"]])
    state = fractions * places["population"].to_numpy()[:, None]
    log.info("endemic start read from the calibration cache %s", path)
    return InitialState(state, {**overrides, **fitted}, flag, tuple(targets), goal, achieved,
                        cache_file=path)


def save_calibration(path: Path, key: str, spec, places: pd.DataFrame,
                     initial: InitialState) -> None:
    """Write ``initial`` (fractions, fitted values per day, goals, flags) to the cache."""
    columns = {"id": places["id"].to_numpy(), "flag": [FLAG_MEANINGS[f] for f in initial.flag]}
    for j, target in enumerate(initial.targets):
        columns[f"goal_{target.observable}"] = initial.goal[:, j]
        columns[f"achieved_{target.observable}"] = initial.achieved[:, j]
        columns[f"fitted_{target.parameter}"] = initial.overrides[target.parameter]
    fractions = initial.state / initial.state.sum(axis=1, keepdims=True)
    for c, cid in enumerate(spec.compartment_ids):
        columns[f"x_{cid}"] = fractions[:, c]
    table = pd.DataFrame(columns)
    buffer = io.StringIO()
    buffer.write(f"# key={key}\n# healthmob endemic calibration of model {spec.name}; "
                 "fitted values in base units (per day); x_* are state fractions\n")
    table.to_csv(buffer, index=False, float_format="%.17g")
    write_text_atomic(path, buffer.getvalue())
