"""The commands of the command line: each composes library functions and imports the
stages it uses when it runs (fast start-up)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from ..errors import ConfigError, HealthmobError, RunError


def _run(args) -> int:
    from ..pipeline import resume, run  # imported when the command runs (fast start-up)

    if bool(args.config) == bool(args.resume):
        raise HealthmobError("run: give a CONFIG, or --resume RUN_DIR (not both)")
    progress = None if args.no_progress or args.quiet else _ProgressBar()
    with progress or contextlib.nullcontext():
        if args.resume:
            result = resume(args.resume, scheduler=args.scheduler, progress=progress)
        else:
            result = run(args.config, args.output_dir, scheduler=args.scheduler,
                         progress=progress)
    print(result.directory)
    return 0


class _ProgressBar:
    """Ensemble members done, rate and ETA on stderr (tqdm), on a terminal only; while it is
    open, log lines are printed above the bar instead of over it."""

    def __init__(self):
        self.bar = None
        self._redirect = None

    def __enter__(self):
        from tqdm.contrib.logging import logging_redirect_tqdm  # fast start-up: lazy

        self._redirect = logging_redirect_tqdm()
        self._redirect.__enter__()
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        self._redirect.__exit__(*exc)

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm  # imported when the command runs (fast start-up)

            self.bar = tqdm(total=total, initial=done, unit="member", desc="members",
                            file=sys.stderr, disable=None, dynamic_ncols=True)
        self.bar.update(done - self.bar.n)


def _cluster_script(args) -> int:
    from ..ensemble.executors import render_cluster_script  # dask: imported only here
    from ..scenario import load_scenario

    scenario = load_scenario(args.config)
    if scenario.cluster is None:
        raise HealthmobError(f"{scenario.path}: cluster-script needs a [cluster] table; add "
                             "one such as: [cluster] kind = \"slurm\" (or \"pbs\"), queue, "
                             "cores, memory, walltime, jobs (docs/ensembles.md)")
    print(render_cluster_script(scenario.cluster), end="")
    return 0


def _validate(args) -> int:
    from ..mobility.build import build_mobility  # imported when the command runs (fast start-up)
    from ..network.config import load_network_config
    from ..scenario import load_scenario
    from ..store.resources import read_toml

    path, table, _ = read_toml(args.config, "configs", ConfigError, what="config file")
    network = table.get("network") if isinstance(table, dict) else None
    if isinstance(network, dict) and "model" in network and "model" not in table:
        _, config, _ = load_network_config(path)   # a network config (healthmob network)
        print(f"{path}: valid network config ({config.spec.name} model, "
              f"{len(config.networks)} networks; run it with healthmob network)")
        return 0
    scenario = load_scenario(path)
    build_mobility(scenario.places, scenario.mobility, base_dir=scenario.base_dir,
                   source=scenario.path)
    print(f"{scenario.path}: valid ({scenario.spec.name} model, {len(scenario.places)} places)")
    return 0


def _mobility(args) -> int:
    from ..mobility.build import build_mobility  # imported when the command runs (fast start-up)
    from ..mobility.config import mobility_inputs
    from ..mobility.files import write_mobility
    from ..scenario import load_scenario
    from ..store.rundir import RunDirectory

    scenario = load_scenario(args.config)
    mobility = build_mobility(scenario.places, scenario.mobility, base_dir=scenario.base_dir,
                              source=scenario.path)
    base = Path(args.output_dir or scenario.output.directory)
    inputs = list(scenario.input_files) + mobility_inputs(scenario.mobility, scenario.base_dir)
    folder = RunDirectory(base, scenario.name, "mobility", scenario.seed, inputs)
    with folder.recording():
        folder.write_config(scenario.to_table())
        for path in write_mobility(mobility, scenario.places, folder.path):
            folder.add_output(Path(path).name)
    print(folder.path)
    return 0


def _network(args) -> int:
    from ..network.config import load_network_config  # lazy: fast start-up
    from ..network.run import run_network
    from ..store.rundir import RunDirectory

    name, config, base_dir = load_network_config(args.config)
    config_path = Path(args.config) if Path(args.config).is_file() else None
    inputs = [p for p in (config_path, *config.spec.files) if p is not None]
    folder = RunDirectory(Path(args.output_dir or "runs"), name, "network", config.seed,
                          inputs)
    with folder.recording():
        folder.write_config({"name": name, "network": config.to_table()})
        for path in run_network(config, folder.path, name=name):
            folder.add_output(Path(path).name)
    print(folder.path)
    return 0


def _calibrate(args) -> int:
    import numpy as np  # imported when the command runs (fast start-up)

    from ..calibration.cache import user_cache_folder
    from ..calibration.config import EndemicStart, HistoryStart
    from ..calibration.initial import FLAG_MEANINGS
    from ..pipeline import prepare
    from ..scenario import load_scenario

    scenario = load_scenario(args.config)
    start = scenario.initial
    if not isinstance(start, (EndemicStart, HistoryStart)):
        raise ConfigError(f"{scenario.path}: initial.method must be 'endemic' or 'history' to "
                          f"calibrate; got {start.method!r}")
    folder = args.output_dir or user_cache_folder()
    prepared = prepare(scenario, calibration_dir=folder)
    initial = prepared.initial
    targets, places = list(start.targets), prepared.scenario.places
    print(f"calibration of {scenario.spec.name} for {len(places)} places "
          f"({scenario.path.name}); within 2% of the target:")
    for j, target in enumerate(targets):
        has_data = (places[target.column].notna().to_numpy() if target.column
                    else np.ones(len(places), dtype=bool))
        goal, got = initial.goal[has_data, j], initial.achieved[has_data, j]
        within = abs(got - goal) <= 0.02 * abs(goal).clip(min=1e-3)
        print(f"  {target.observable:<16} {within.sum():>4} of {has_data.sum():>3} places with "
              f"data ({100 * within.mean():.1f}%), fitting {target.parameter}")
    for k, meaning in enumerate(FLAG_MEANINGS):
        if (initial.flag == k).any():
            print(f"  flag {meaning:<30} {(initial.flag == k).sum():>4} places")
    if prepared.history is not None:
        fit = prepared.history
        print(f"history fit {fit.years[0]}-{fit.years[-1]}, within 5% of the target in "
              f"{fit.years[-1]} (annual means of the fitting chain):")
        for j, target in enumerate(targets):
            goal, got = fit.goal[-1, :, j], fit.achieved[-1, :, j]
            within = abs(got - goal) <= 0.05 * abs(goal).clip(min=1e-3)
            print(f"  {target.observable:<16} {within.sum():>4} of {len(goal)} places")
        print(f"  transmission at its floor (imports exceed the target) in {fit.capped[-1].sum()} "
              "places")
    print(folder)
    return 0


def _surveil(args) -> int:
    from ..pipeline import surveil  # imported when the command runs (fast start-up)

    found = surveil(args.target, args.observed, args.output_dir, args.decompose, args.fit)
    data = found.dataset
    alarms = int(data["alarm"].sum())
    print(f"{data.sizes['series']} series, years {int(data['year'][0])}-"
          f"{int(data['year'][-1])}: {alarms} alarms with the model offset "
          f"({int(data['alarm_fdr'].sum())} after false-discovery control), "
          f"{int(data['alarm_without_model'].sum())} without the model, "
          f"{int(data['cusum_alarm'].sum())} CUSUM alarms")
    if found.decomposition is not None:
        table = found.decomposition
        print(f"change of foreign-born notifications in {table.attrs['place']}, "
              f"{table.attrs['first']}-{table.attrs['last']} (cases, 95% interval):")
        for row in table.itertuples():
            print(f"  {row.component:<78} {row.cases:>9,.0f}  ({row.lower_95:,.0f} to "
                  f"{row.upper_95:,.0f})")
    if found.fitted is not None:
        import io

        import pandas as pd

        print("migrants' TB relative to the run, by WHO region of birth (theta, 95% profile "
              "interval):")
        for row in pd.read_csv(io.StringIO(found.fitted)).itertuples():
            bounds = [f"{b:.2f}" if pd.notna(b) else "open" for b in (row.lower_95, row.upper_95)]
            print(f"  {row.origin_region:<12} {row.theta:7.2f} ({bounds[0]}-{bounds[1]})  "
                  f"model cases {row.model_cases:,.0f}")
    for path in found.files:
        print(path)
    return 0


def _map(args) -> int:
    from ..outputs.maps import write_map_outputs  # imported when the command runs (fast start-up)

    for path in write_map_outputs(args.run_dir, _destination(args)):
        print(path)
    return 0


def _destination(args) -> tuple | None:
    """``--destination``: None (the run's focus), () for ``world``, else the place ids."""
    if args.destination is None:
        return None
    return () if args.destination == ("world",) else args.destination


def _report(args) -> int:
    from ..outputs.report import write_report  # imported when the command runs (fast start-up)

    print(write_report(args.run_dir, _destination(args)))
    return 0


def _build_geo(args) -> int:
    from ..geobuild.build import build, summary_lines  # lazy: fast start-up

    if not args.data.is_dir():
        raise RunError(f"build-geo --data {args.data}: folder of raw data not found")
    for line in summary_lines(build(args.data, args.out)):
        print(line)
    return 0
