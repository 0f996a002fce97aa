"""Run a small SEIR ensemble as a separate process, as the CLI would (fault tests).

Not a test module: ``tests/cli/test_ensemble_faults.py`` imports :func:`small_plan` and runs
this file with ``python ensemble_driver.py OUT [--executor E] [--scheduler A] [--resume DIR]``.
It prints the run directory on its first line (so a test can watch it) and exits 0 when the
run is complete, 130 when interrupted, 1 on failure, like ``healthmob run``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from healthmob.disease.parse import load_model
from healthmob.engine.coupling import Coupling
from healthmob.ensemble.plan import EnsemblePlan, Labels
from healthmob.ensemble.run import execute_plan
from healthmob.mobility.matrix import Mobility, MobilityLayer
from healthmob.store.rundir import RunDirectory

N_PLACES = 30
MEMBERS = 24
SEED = 20240611


def small_plan(members: int = MEMBERS, dt: float = 0.5) -> EnsemblePlan:
    """SEIR over 30 places with commuting (visiting) and migration (relocation)."""
    rng = np.random.default_rng(5)
    population = rng.integers(20_000, 200_000, N_PLACES)
    commuting = rng.uniform(0, 300, (N_PLACES, N_PLACES)) * (rng.random((N_PLACES,) * 2) < 0.2)
    migration = rng.uniform(0, 20, (N_PLACES, N_PLACES)) * (rng.random((N_PLACES,) * 2) < 0.3)
    for matrix in (commuting, migration):
        np.fill_diagonal(matrix, 0.0)
    mobility = Mobility(tuple(f"P{i:02d}" for i in range(N_PLACES)), {
        "commuting": MobilityLayer("commuting", sp.csr_array(commuting), "visiting", 0.5),
        "migration": MobilityLayer("migration", sp.csr_array(migration), "relocation")})
    x0 = np.zeros((N_PLACES, 4), dtype=np.int64)
    x0[:, 0] = population
    x0[0, 0] -= 30
    x0[0, 2] = 30
    return EnsemblePlan(spec=load_model("seir"), x0=x0,
                        coupling=Coupling.from_mobility(mobility, population.astype(float)),
                        times=np.arange(0.0, 181.0, 1.0), members=members, seed=SEED, dt=dt,
                        labels=Labels(quantiles=(0.1, 0.5, 0.9)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--executor", default="serial")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scheduler")
    parser.add_argument("--resume", type=Path)
    parser.add_argument("--members", type=int, default=MEMBERS)
    args = parser.parse_args(argv)
    if args.resume:
        folder = RunDirectory.reopen(args.resume)
    else:
        folder = RunDirectory(args.out, "ensemble", "run", SEED, [])
    print(folder.path, flush=True)
    try:
        results = execute_plan(small_plan(args.members), folder, executor=args.executor,
                               workers=args.workers, scheduler=args.scheduler,
                               resume=bool(args.resume))
        results.close()
    except KeyboardInterrupt:
        folder.finish("interrupted", "KeyboardInterrupt")
        return 130
    except BaseException as exc:
        folder.finish("failed", f"{type(exc).__name__}: {exc}")
        raise
    folder.finish("complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
