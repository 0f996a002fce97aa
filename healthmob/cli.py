"""Command-line interface: ``healthmob run|validate|mobility|calibrate|network|surveil|...``.

The CLI only composes library functions. Errors caused by input (any
:class:`~healthmob.errors.HealthmobError`) print one line on stderr and exit with code 2;
anything else is a bug and keeps its traceback. The last line of ``run`` and ``mobility``
on stdout is the run directory's path. Each command imports the stages it uses when it
runs, so that ``healthmob --help`` and every command start fast.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import traceback
import warnings
from pathlib import Path

from . import __version__
from .errors import ConfigError, HealthmobError, RunError

EXIT_INPUT_ERROR = 2


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``healthmob`` command."""
    # The kernels multiply small matrices: one BLAS thread is several times faster than two
    # (4.4x for the world run's engine on 2 busy cores, docs/performance.md). Set before
    # numpy is imported; an explicit setting in the environment wins.
    for variable in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(variable, "1")
    parser = _parser()
    args = parser.parse_args(argv)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.WARNING if args.quiet else logging.INFO)  # run.log keeps INFO
    logging.basicConfig(level=console.level, format="%(levelname)s %(name)s: %(message)s",
                        handlers=[console])
    logging.getLogger("pyogrio").setLevel(logging.WARNING)  # one line per file written
    signal.signal(signal.SIGTERM, _terminated)   # SLURM's time limit: stop as Ctrl-C does
    # The geometry libraries warn about the files they read; what matters reaches the user
    # as healthmob's own line (an error naming the file, or a logged warning).
    warnings.filterwarnings("ignore", module=r"(shapely|pyogrio|geopandas|pyproj)(\..*)?")
    try:
        return args.handler(args)
    except HealthmobError as exc:
        print(f"healthmob: error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print("healthmob: interrupted", file=sys.stderr)
        return 130
    except Exception:  # a bug, not bad input: the traceback, and where to report it
        traceback.print_exc()
        print("healthmob: internal error (a bug, not your input): please report it with the "
              "lines above and the command you ran", file=sys.stderr)
        return 1


def _terminated(signum, frame):
    """SIGTERM raises KeyboardInterrupt, so every run ends as ``interrupted`` (ensembles
    install their own handler that stops between members)."""
    raise KeyboardInterrupt(f"signal {signum}")


class _Parser(argparse.ArgumentParser):
    """Command-line errors in one line (``healthmob: error: ...``, exit 2), as every other
    input error; ``--help`` still shows the usage."""

    def error(self, message):
        self.exit(2, f"healthmob: error: {self.prog}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="healthmob",
        description="Migration-health risk model: TB and HIV importation through corridors.")
    parser.add_argument("--version", action="version", version=f"healthmob {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a scenario and write runs/<name>-<timestamp>/")
    run.add_argument("config", nargs="?",
                     help="config file, or the name of a shipped config (world)")
    run.add_argument("--output-dir", type=Path, help="parent folder of the run (default runs/)")
    run.add_argument("--scheduler", metavar="tcp://HOST:PORT", type=_scheduler_address,
                     help="run ensemble members on this running dask scheduler")
    run.add_argument("--resume", type=Path, metavar="RUN_DIR",
                     help="complete an interrupted ensemble run (only missing members)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(handler=_run)

    script = commands.add_parser("cluster-script",
                                 help="print the SLURM/PBS job script of the config's [cluster]")
    script.add_argument("config")
    script.set_defaults(handler=_cluster_script)

    validate = commands.add_parser("validate", help="check a config and its inputs; run nothing")
    validate.add_argument("config")
    validate.set_defaults(handler=_validate)

    mobility = commands.add_parser("mobility",
                                   help="build the mobility layers: mobility.nc, corridors.gpkg")
    mobility.add_argument("config")
    mobility.add_argument("--output-dir", type=Path)
    mobility.set_defaults(handler=_mobility)

    network = commands.add_parser(
        "network", help="contact-network ensembles (epydemic): network.nc, network_fit.csv")
    network.add_argument("config")
    network.add_argument("--output-dir", type=Path)
    network.set_defaults(handler=_network)

    calibrate = commands.add_parser(
        "calibrate", help="fit the endemic start to the burden data and cache it")
    calibrate.add_argument("config")
    calibrate.add_argument("--output-dir", type=Path,
                           help="folder of the <key>.csv file (default: the user cache)")
    calibrate.set_defaults(handler=_calibrate)

    build = commands.add_parser("build-geo", help="rebuild geo/ from the raw public data")
    build.add_argument("--data", type=Path, default=Path("../shared/data"),
                       help="folder of raw data (default ../shared/data)")
    build.add_argument("--out", type=Path, default=Path("geo"),
                       help="output folder (default geo/ of the working directory)")
    build.set_defaults(handler=_build_geo)

    maps = commands.add_parser(
        "map", help="rebuild risk.gpkg, top_corridors.csv and risk_map.png from risk.nc")
    maps.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    _add_destination(maps)
    maps.set_defaults(handler=_map)

    _add_surveil(commands)

    report = commands.add_parser(
        "report", help="rebuild report.html (self-contained, offline) from a run directory")
    report.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    _add_destination(report)
    report.set_defaults(handler=_report)
    return parser


def _add_destination(command) -> None:
    command.add_argument(
        "--destination", metavar="PLACE[,PLACE...]", type=lambda text: tuple(
            p.strip() for p in text.split(",") if p.strip()),
        help="make the outputs about arrivals into these places (ids, comma-separated); "
             "written beside the run's own as <name>-<PLACE>.<ext>; 'world' for every "
             "destination")


def _add_surveil(commands) -> None:
    """The ``surveil`` command's arguments (docs/surveillance.md)."""
    surveil = commands.add_parser(
        "surveil", help="compare observed notifications with a run: surveillance.nc, "
        "alerts.csv, figures")
    surveil.add_argument("target", metavar="CONFIG_OR_RUN_DIR",
                         help="a finished run directory, or a config to run first")
    surveil.add_argument("--observed", required=True, metavar="FILE",
                         help="observed CSV (docs/surveillance.md), or a shipped table: "
                              "who-notifications, england-wales")
    surveil.add_argument("--output-dir", type=Path,
                         help="parent folder of the run when CONFIG is run (default runs/)")
    surveil.add_argument("--decompose", metavar="PLACE:FIRST:LAST",
                         help="split the change of PLACE's foreign-born notifications between "
                              "two years: migration volume, rate the model explains, the rest")
    surveil.add_argument("--fit", action="store_true",
                         help="fit the migrants' TB by region of birth to the observed "
                              "foreign-born counts: fitted_selection.csv, "
                              "fitted_parameters.toml (loaded only by a config that asks)")
    surveil.set_defaults(handler=_surveil)


SCHEDULER = re.compile(r"(tcp|tls|inproc|ucx)://[^\s:/]+:\d{1,5}")


def _scheduler_address(text: str) -> str:
    """``--scheduler``: a dask scheduler address ``tcp://HOST:PORT`` (checked before
    anything runs, so a typo is one line, not a 30 s timeout after the run folder exists)."""
    if not SCHEDULER.fullmatch(text) or not 0 < int(text.rsplit(":", 1)[1]) < 65536:
        raise argparse.ArgumentTypeError(f"must be a dask scheduler address tcp://HOST:PORT; "
                                         f"got {text!r}")
    return text


def _run(args) -> int:
    from .pipeline import resume, run  # imported when the command runs (fast start-up)

    if bool(args.config) == bool(args.resume):
        raise HealthmobError("run: give a CONFIG, or --resume RUN_DIR (not both)")
    progress = None if args.no_progress or args.quiet else _ProgressBar()
    try:
        if args.resume:
            result = resume(args.resume, scheduler=args.scheduler, progress=progress)
        else:
            result = run(args.config, args.output_dir, scheduler=args.scheduler,
                         progress=progress)
    finally:
        if progress is not None:
            progress.close()
    print(result.directory)
    return 0


class _ProgressBar:
    """Ensemble members done, rate and ETA on stderr (tqdm), on a terminal only."""

    def __init__(self):
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm  # imported when the command runs (fast start-up)

            self.bar = tqdm(total=total, initial=done, unit="member", desc="members",
                            file=sys.stderr, disable=None, dynamic_ncols=True)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _cluster_script(args) -> int:
    from .ensemble.executors import render_cluster_script  # dask: imported only here
    from .scenario import load_scenario

    scenario = load_scenario(args.config)
    if scenario.cluster is None:
        raise HealthmobError(f"{scenario.path}: cluster-script needs a [cluster] table; add "
                             "one such as: [cluster] kind = \"slurm\" (or \"pbs\"), queue, "
                             "cores, memory, walltime, jobs (docs/ensembles.md)")
    print(render_cluster_script(scenario.cluster), end="")
    return 0


def _validate(args) -> int:
    from .mobility.build import build_mobility  # imported when the command runs (fast start-up)
    from .network.config import load_network_config
    from .scenario import load_scenario
    from .store.resources import read_toml

    path, table, _ = read_toml(args.config, "configs", ConfigError, what="config file")
    network = table.get("network") if isinstance(table, dict) else None
    if isinstance(network, dict) and "model" in network and "model" not in table:
        _, config, _ = load_network_config(path)   # a network config (healthmob network)
        print(f"{path}: valid network config ({config.spec.name} model, "
              f"{len(config.networks)} networks; run it with healthmob network)")
        return 0
    scenario = load_scenario(path)
    build_mobility(scenario.places, scenario.mobility, base_dir=scenario.base_dir)
    print(f"{scenario.path}: valid ({scenario.spec.name} model, {len(scenario.places)} places)")
    return 0


def _mobility(args) -> int:
    from .mobility.build import build_mobility  # imported when the command runs (fast start-up)
    from .mobility.config import mobility_inputs
    from .mobility.files import write_mobility
    from .scenario import load_scenario
    from .store.rundir import RunDirectory

    scenario = load_scenario(args.config)
    mobility = build_mobility(scenario.places, scenario.mobility, base_dir=scenario.base_dir)
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
    from .network.config import load_network_config  # lazy: fast start-up
    from .network.run import run_network
    from .store.rundir import RunDirectory

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

    from .calibration.cache import user_cache_folder
    from .calibration.config import EndemicStart, HistoryStart
    from .calibration.initial import FLAG_MEANINGS
    from .errors import ConfigError
    from .pipeline import prepare
    from .scenario import load_scenario

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
    from .pipeline import surveil  # imported when the command runs (fast start-up)

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
            print(f"  {row.origin_region:<12} {row.theta:7.2f} ({row.lower_95:.2f}-"
                  f"{row.upper_95:.2f})  model cases {row.model_cases:,.0f}")
    for path in found.files:
        print(path)
    return 0


def _map(args) -> int:
    from .outputs.maps import write_map_outputs  # imported when the command runs (fast start-up)

    for path in write_map_outputs(args.run_dir, _destination(args)):
        print(path)
    return 0


def _destination(args) -> tuple | None:
    """``--destination``: None (the run's focus), () for ``world``, else the place ids."""
    if args.destination is None:
        return None
    return () if args.destination == ("world",) else args.destination


def _report(args) -> int:
    from .outputs.report import write_report  # imported when the command runs (fast start-up)

    print(write_report(args.run_dir, _destination(args)))
    return 0


def _build_geo(args) -> int:
    from .geobuild.build import build, summary_lines  # lazy: fast start-up

    if not args.data.is_dir():
        raise RunError(f"build-geo --data {args.data}: folder of raw data not found")
    for line in summary_lines(build(args.data, args.out)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
