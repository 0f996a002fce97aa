"""Cached endemic calibrations, found by the content hash of their inputs.

A calibration depends only on the model spec, the fixed parameter values, the targets and
the places' data; its key is the sha256 of all of these, and its file is ``<key>.csv``. A run
looks in the user cache (:func:`healthmob.store.resources.cache_dir`, written by
``healthmob calibrate CONFIG``) and then among the calibrations shipped with the embedded
data (``geo/calibrations/``, read only); when neither has the key it calibrates (seconds to
tens of seconds) and says so. A run never writes the cache: it writes only into its own
folder.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..disease.spec import ModelSpec
from ..store.atomic import write_text_atomic
from ..store.resources import cache_dir, data_dir
from .initial import FLAG_MEANINGS, InitialState

log = logging.getLogger(__name__)

FOLDER = "calibrations"
"""Subfolder of the user cache and of ``geo/`` that holds ``<key>.csv`` files."""


def cache_key(spec: ModelSpec, places: pd.DataFrame, overrides: dict, targets,
              fallback: str, foreign: np.ndarray | None = None) -> str:
    """sha256 of everything the calibration depends on (``foreign`` to 8 significant digits,
    so that the last bits of a matrix exponential do not change the key)."""
    columns = sorted({t.column for t in targets if t.column} | ({fallback} & set(places.columns)))
    payload = {
        "model": spec.sha256,
        "overrides": {k: np.atleast_1d(v).tolist() for k, v in sorted(overrides.items())},
        "targets": [[t.observable, t.parameter, t.column, t.value] for t in targets],
        "fallback": fallback,
        "places": places[["id", *columns]].astype(str).to_numpy().tolist(),
    }
    if foreign is not None:
        payload["foreign"] = [f"{v:.8g}" for v in np.asarray(foreign, dtype=float).ravel()]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def user_cache_folder() -> Path:
    """Where ``healthmob calibrate`` writes its calibrations by default."""
    return cache_dir() / FOLDER


def user_cache_file(key: str) -> Path:
    """Where ``healthmob calibrate`` writes the calibration of ``key`` by default."""
    return user_cache_folder() / f"{key}.csv"


def find_calibration(key: str) -> Path | None:
    """The cached calibration of ``key``: the user's, else a shipped one, else None."""
    for path in (user_cache_file(key), data_dir("geo") / FOLDER / f"{key}.csv"):
        if path.is_file():
            return path
    return None


def read_cache_table(key: str, what: str) -> tuple[pd.DataFrame, Path] | None:
    """The cached table of ``key`` and its path (:func:`find_calibration`), or None (logged)
    when there is none or its first line does not hold the key; ``what`` names it in the
    log (``"calibration"``, ``"history fit"``)."""
    path = find_calibration(key)
    if path is None:
        log.info("no %s cached for these inputs (key %s...); fitting now (`healthmob "
                 "calibrate CONFIG` caches it)", what, key[:12])
        return None
    with open(path, encoding="utf-8") as handle:
        if handle.readline().strip() != f"# key={key}":
            log.warning("%s cache %s does not hold key %s; fitting now", what, path, key[:12])
            return None
    return pd.read_csv(path, comment="#", keep_default_na=False, na_values=[""]), path


def write_cache_table(path: Path, key: str, description: str, columns: dict) -> Path:
    """Write a cached table: the key line, a description line, then ``columns`` as CSV
    with every float to 17 significant digits (read back bit for bit), atomically."""
    buffer = io.StringIO()
    buffer.write(f"# key={key}\n# {description}\n")
    pd.DataFrame(columns).to_csv(buffer, index=False, float_format="%.17g")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, buffer.getvalue())
    return path


def load_calibration(key: str, spec: ModelSpec, places: pd.DataFrame, overrides: dict,
                     targets) -> InitialState | None:
    """The cached calibration of these inputs, or None (logged) when there is none."""
    found = read_cache_table(key, "calibration")
    if found is None:
        return None
    table, path = found
    table = table.set_index("id").loc[places["id"]]
    fractions = table[[f"x_{c}" for c in spec.compartment_ids]].to_numpy()
    fitted = {t.parameter: table[f"fitted_{t.parameter}"].to_numpy() for t in targets}
    goal = table[[f"goal_{t.observable}" for t in targets]].to_numpy()
    achieved = table[[f"achieved_{t.observable}" for t in targets]].to_numpy()
    flag = np.array([FLAG_MEANINGS.index(f) for f in table["flag"]])
    state = fractions * places["population"].to_numpy()[:, None]
    log.info("endemic start read from the calibration cache %s", path)
    return InitialState(state, {**overrides, **fitted}, flag, tuple(targets), goal, achieved,
                        cache_file=path)


def save_calibration(path: Path, key: str, spec: ModelSpec, places: pd.DataFrame,
                     initial: InitialState) -> Path:
    """Write ``initial`` (fractions, fitted values per day, goals, flags) to ``path``."""
    columns = {"id": places["id"].to_numpy(), "flag": [FLAG_MEANINGS[f] for f in initial.flag]}
    for j, target in enumerate(initial.targets):
        columns[f"goal_{target.observable}"] = initial.goal[:, j]
        columns[f"achieved_{target.observable}"] = initial.achieved[:, j]
        columns[f"fitted_{target.parameter}"] = initial.overrides[target.parameter]
    fractions = initial.state / initial.state.sum(axis=1, keepdims=True)
    for c, cid in enumerate(spec.compartment_ids):
        columns[f"x_{cid}"] = fractions[:, c]
    return write_cache_table(path, key, f"healthmob endemic calibration of model {spec.name}; "
                             "fitted values in base units (per day); x_* are state fractions",
                             columns)
