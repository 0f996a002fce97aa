"""What the tests share: the one way to run healthmob in a subprocess, and the one small
config they start from. Importable from any test module (``from helpers import ...``): pytest
puts this folder on ``sys.path`` because it holds the root ``conftest.py``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def environment() -> dict:
    """Environment of every subprocess: the test's own (its private cache folder), this
    checkout's healthmob first on the path, one BLAS thread."""
    return {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


CONFIG = """
name = "{name}"
model = "seir"
seed = {seed}
engine = "{engine}"
[places]
source = "{places}"
[time]
duration = "{duration}"
step = "{step}"
[initial]
method = "fractions"
fractions = {{ S = 1.0 }}
seeds = [ {{ place = "AAA", compartment = "I", count = {infected} }} ]
"""
"""SEIR on the three places of the ``places_csv`` fixture, seeded in AAA."""


def config_text(places: Path, *, name: str = "small", seed: int = 0,
                engine: str = "deterministic", duration: str = "60 days",
                step: str = "1 day", infected: int = 100, extra: str = "") -> str:
    """The small config, with ``extra`` TOML appended."""
    return CONFIG.format(name=name, seed=seed, engine=engine, places=places,
                         duration=duration, step=step, infected=infected) + extra


def python(*args, timeout: float = 300, env: dict | None = None,
           **kwargs) -> subprocess.CompletedProcess:
    """Run ``python ARGS`` in ``env`` (default :func:`environment`), capturing text output."""
    return subprocess.run([sys.executable, *map(str, args)], env=env or environment(),
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def start_python(*args, **kwargs) -> subprocess.Popen:
    """Start ``python ARGS`` in :func:`environment`, its output piped as text."""
    return subprocess.Popen([sys.executable, *map(str, args)], env=environment(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def healthmob(*args, **kwargs) -> subprocess.CompletedProcess:
    """Run the CLI as a user does (``python -m healthmob ARGS``)."""
    return python("-m", "healthmob", *args, **kwargs)


def start_healthmob(*args, **kwargs) -> subprocess.Popen:
    """Start the CLI in the background (to interrupt it)."""
    return start_python("-m", "healthmob", *args, **kwargs)


def assert_refused(done, expected: str, output_dir: Path) -> None:
    """A refused run: exit 2, exactly one ``healthmob: error:`` line holding ``expected``, no
    traceback, and no ``output_dir`` created."""
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("healthmob: error:")]
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not output_dir.exists()


WORLD_CONFIG = """
name = "bad"
model = "tb"
seed = 1
[places]
source = "world"
ids = ["GBR", "IND", "PAK"]
[time]
duration = "60 days"
step = "1 month"
[initial]
method = "fractions"
fractions = { S = 0.7, LL = 0.3 }
[mobility]
layers = ["air", "migration"]
"""
"""TB on three world places with air and migration corridors and the risk stage on."""
