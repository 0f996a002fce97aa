"""The shape of the package (docs/architecture.md): small modules, a light scenario load,
the documented Python API."""

from __future__ import annotations

import ast
import statistics
from pathlib import Path

from helpers import python

import healthmob

PACKAGE = Path(healthmob.__file__).resolve().parent
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "_data" not in p.parts)


def test_modules_and_functions_are_small():
    lines = {p: len(p.read_text().splitlines()) for p in MODULES}
    assert max(lines.values()) <= 400, max(lines, key=lines.get)
    assert statistics.median(lines.values()) <= 200
    long = [f"{p.relative_to(PACKAGE)}:{node.name} ({node.end_lineno - node.lineno + 1})"
            for p in MODULES for node in ast.walk(ast.parse(p.read_text()))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > 80]
    assert long == []


def test_a_scenario_loads_with_the_config_sections_only():
    """Loading and checking the world config reads no results, maps, ensemble or network
    machinery (docs/architecture.md: a scenario loads with the config sections only)."""
    code = ("import sys; from healthmob.scenario import load_scenario; load_scenario('world');"
            "print(' '.join(sorted(sys.modules)))")
    done = python("-c", code)
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    heavy = {"xarray", "dask", "distributed", "h5py", "h5netcdf", "geopandas", "matplotlib",
             "epydemic", "healthmob.geobuild", "healthmob.outputs", "healthmob.results",
             "healthmob.engine.ode", "healthmob.ensemble.run", "healthmob.network.run"}
    assert loaded & heavy == set()


def test_the_python_api_is_listed_and_lazy():
    names = {"run", "simulate", "load_model", "Run", "Scenario", "load_scenario"}
    assert names <= set(dir(healthmob))
    assert callable(healthmob.run) and callable(healthmob.simulate)
    assert healthmob.load_model("sir").name == "sir"
    done = python("-c", "import sys, healthmob; print(len([m for m in sys.modules "
                        "if m.startswith('healthmob.')]))")
    assert done.stdout.strip() == "0"  # `import healthmob` imports no submodule
