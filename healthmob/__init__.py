"""healthmob: migration-health surveillance and risk model.

Scenario -> Mobility -> Model -> Engine -> Ensemble -> Risk -> Outputs, one subpackage per
stage (docs/architecture.md). The API mirrors the CLI::

    import healthmob
    run = healthmob.run("configs/world.toml")     # writes runs/<name>-<timestamp>/
    ds = run.results                              # xarray.Dataset (CF)
    ds = healthmob.simulate("configs/world.toml") # same, nothing written
    found = healthmob.surveil(run.directory, "who-notifications")  # surveillance.nc, alerts

Submodules are imported on first use, so ``import healthmob`` stays cheap.
"""

import importlib

__version__ = "0.1.0"

_API = {
    "Run": "pipeline", "run": "pipeline", "simulate": "pipeline", "surveil": "pipeline",
    "Scenario": "scenario", "load_scenario": "scenario", "load_model": "disease.parse",
}
__all__ = ["__version__", *sorted(_API)]


def __getattr__(name):
    if name in _API:
        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'healthmob' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_API})
