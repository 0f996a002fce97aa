"""The ``[ensemble]`` and ``[cluster]`` sections, and ``[ensemble.sweep]``.

Keys and defaults are the fields below (docs/ensembles.md); :mod:`healthmob.checks` checks
them. No dask here: these sections are read when a scenario loads.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from ..checks import (
    REQUIRED,
    Duration,
    Flag,
    Number,
    Numbers,
    OneOf,
    Section,
    Strings,
    Table,
    Text,
    is_number,
    label,
    must_be,
    report_unknown,
    setting,
)
from ..disease.overrides import compatible_units, known_parameter
from ..disease.spec import ModelSpec

SWEEP_METHODS = ("grid", "lhs")
EXECUTORS = ("serial", "local", "cluster")
CLUSTER_KINDS = ("slurm", "pbs")
AT_LEAST_ONE = Number(low=1, integer=True)
NAME = Text(nonempty=True)
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Quantiles across members written to ``results.nc`` by default."""


@dataclass(frozen=True)
class SweepConfig(Section):
    """``[ensemble.sweep]``: scenarios over parameter values, a grid or a Latin hypercube.

    ``parameters`` maps parameter names to ``[values]`` or ``{values, units}`` (grid) or
    ``{min, max, units}`` (lhs), in the parameter's declared units unless ``units`` says
    otherwise.
    """

    method: str = setting("grid", OneOf(SWEEP_METHODS))
    samples: int = setting(0, Number(low=0, integer=True))
    parameters: dict = setting(REQUIRED, Table())

    @property
    def n_scenarios(self) -> int:
        """Scenarios the sweep expands to: the product of the grid's value counts, or the
        Latin hypercube's samples."""
        if self.method != "grid":
            return self.samples
        return math.prod(len(e["values"] if isinstance(e, dict) else e)
                         for e in self.parameters.values())


@dataclass(frozen=True)
class EnsembleConfig(Section):
    """``[ensemble]``: members, where they run, the stochastic step, the summary."""

    members: int = setting(10, AT_LEAST_ONE)
    executor: str = setting("serial", OneOf(EXECUTORS))
    workers: int = setting(2, AT_LEAST_ONE)
    host: str = setting("127.0.0.1", NAME)
    step: str = setting("1 day", Duration())
    quantiles: tuple = setting(QUANTILES, Numbers(Number(0, 1)))
    keep_members: bool = setting(False, Flag())
    sweep: SweepConfig | None = setting({}, Table())
    seed: int | None = setting(None, Number(low=0, integer=True))
    """Root seed of the members; the scenario's ``seed`` when not given."""


@dataclass(frozen=True)
class ClusterConfig(Section):
    """``[cluster]``: the SLURM or PBS jobs of ``executor = "cluster"`` (dask-jobqueue)."""

    kind: str = setting(REQUIRED, OneOf(CLUSTER_KINDS))
    queue: str = setting("", Text())
    account: str = setting("", Text())
    cores: int = setting(1, AT_LEAST_ONE)
    memory: str = setting("4GB", NAME)
    walltime: str = setting("01:00:00", NAME)
    jobs: int = setting(1, AT_LEAST_ONE)
    host: str = setting("127.0.0.1", NAME)
    port: int = setting(8786, Number(0, 65535, integer=True))
    interface: str = setting("", Text())
    python: str = setting("", Text())
    local_directory: str = setting("", Text())
    log_directory: str = setting("", Text())
    job_extra_directives: tuple = setting((), Strings())
    job_script_prologue: tuple = setting((), Strings())


MAX_MEMBERS = 100_000
"""The most members (sweep scenarios x members) one run computes: each is a file and a
task of the combine, whose bookkeeping grows with their number."""


def parse_ensemble(table, spec: ModelSpec | None, seed: int, problems: list[str],
                   engine: str = "stochastic", where: str = "ensemble") -> EnsembleConfig:
    """Check ``[ensemble]`` (its sweep against the model when given, and the number of
    members the ``engine`` computes: one per scenario when deterministic); ``seed`` is the
    scenario's, the members' root seed unless the section sets its own."""
    cfg = EnsembleConfig.from_table(table, where, problems)
    sweep = None
    if cfg.sweep:
        sweep = parse_sweep(cfg.sweep, spec, problems, f"{where}.sweep")
    scenarios = sweep.n_scenarios if sweep is not None and not problems else 1
    members = scenarios * (cfg.members if engine == "stochastic" else 1)
    if members > MAX_MEMBERS:
        problems.append(f"{where}: the run would compute {members:,} members ({scenarios:,} "
                        f"sweep scenarios x {members // scenarios:,} each), more than "
                        f"{MAX_MEMBERS:,}: sweep fewer values (or method = \"lhs\") or "
                        "fewer members")
    return dataclasses.replace(cfg, sweep=sweep, seed=seed if cfg.seed is None else cfg.seed)


def parse_cluster(table, problems: list[str], where: str = "cluster") -> ClusterConfig | None:
    """Check ``[cluster]``; None when the config has none (or an empty one)."""
    if isinstance(table, dict) and not table:
        return None
    return ClusterConfig.from_table(table, where, problems)


def parse_sweep(table, spec: ModelSpec | None, problems: list[str],
                where: str = "ensemble.sweep") -> SweepConfig:
    """Check ``[ensemble.sweep]`` and each swept parameter against the model."""
    sweep = SweepConfig.from_table(table, where, problems)
    if sweep.method == "lhs" and not sweep.samples >= 1:
        problems.append(must_be(f"{where}.samples", "an integer >= 1 for method 'lhs'",
                                sweep.samples))
    if not sweep.parameters:
        problems.append(must_be(f"{where}.parameters", "a non-empty table of parameter = "
                                "values", sweep.parameters))
    for name, entry in (sweep.parameters or {}).items():
        _check_swept(name, entry, sweep.method, spec, label(f"{where}.parameters", name),
                     problems)
    return sweep


def _check_swept(name: str, entry, method: str, spec, key: str, problems: list[str]) -> None:
    if spec is not None and not known_parameter(spec, name, key, problems):
        return
    entry = {"values": entry} if isinstance(entry, list) else entry
    if not isinstance(entry, dict):
        problems.append(must_be(key, "an array of values or a table", entry))
        return
    report_unknown(entry, ("values", "units") if method == "grid" else ("min", "max", "units"),
                   key, problems)
    numbers = entry.get("values") if method == "grid" else [entry.get("min"), entry.get("max")]
    if not (isinstance(numbers, list) and numbers and all(
            is_number(v) and v >= 0 for v in numbers)):
        what = "values must be a non-empty array of" if method == "grid" else \
            "min and max must be"
        problems.append(f"{key}: {what} numbers >= 0; got {entry!r}")
    elif method == "lhs" and not numbers[0] <= numbers[1]:
        problems.append(must_be(f"{key}.min", "<= max", numbers))
    if entry.get("units") is not None and spec is not None:
        compatible_units(spec, name, entry["units"], f"{key}.units", problems)
