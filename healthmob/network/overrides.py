"""Per-place transmission rates from contact-network calibrations (a run config's
``[network] places``): each entry runs the network ensembles of its network config
(:mod:`healthmob.network.run`, epydemic, imported only when a config asks) and replaces
the fitted parameter for its place."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..disease.spec import ModelSpec
from ..errors import ConfigError
from ..store.resources import resolve_named_file

log = logging.getLogger(__name__)


def network_overrides(entries, ids: list[str], spec: ModelSpec, parameters: dict,
                      base_dir: Path) -> dict:
    """Parameter arrays of shape (P,) in base units: the network-fitted value in each entry's
    place, the scenario's value (``parameters``, else the model's) elsewhere; {} without
    entries."""
    if not entries:
        return {}
    from .config import load_network_config
    from .run import calibrate_transmission  # epydemic: imported only when used

    defaults = {**spec.base_values(), **parameters}
    out: dict = {}
    for entry in entries:
        _, config, _ = load_network_config(resolve_named_file(entry.config, "configs",
                                                              base_dir))
        fitted = calibrate_transmission(config, entry.fit, entry.network or None)
        for name, value in fitted.items():
            if name not in defaults:
                raise ConfigError(f"network.places: {entry.config} fits {name!r}, which is "
                                  f"not a parameter of model {spec.name!r}")
            column = out.setdefault(name, np.full(len(ids), float(defaults[name])))
            column[ids.index(entry.place)] = value
            log.info("network calibration: %s = %.4g per day in %s (%s, %s fit)", name, value,
                     entry.place, entry.network or "first network", entry.fit)
    return out
