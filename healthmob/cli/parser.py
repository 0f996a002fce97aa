"""The command line's parser: every command, its arguments and their checks."""

from __future__ import annotations

import argparse
import re
import socket
from pathlib import Path

from .. import __version__
from .commands import (
    _build_geo,
    _calibrate,
    _cluster_script,
    _map,
    _mobility,
    _network,
    _report,
    _run,
    _surveil,
    _validate,
)


class _Parser(argparse.ArgumentParser):
    """Command-line errors in one line (``healthmob: error: ...``, exit 2), as every other
    input error; ``--help`` still shows the usage."""

    def error(self, message):
        self.exit(2, f"healthmob: error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="healthmob",
        description="Migration-health risk model: TB and HIV importation through corridors.")
    parser.add_argument("--version", action="version", version=f"healthmob {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a scenario and write runs/<name>-<timestamp>/")
    run.add_argument("config", nargs="?",
                     help="config file, or the name of a shipped config (world)")
    run.add_argument("--output-dir", type=_folder, help="parent folder of the run (default runs/)")
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
    mobility.add_argument("--output-dir", type=_folder)
    mobility.set_defaults(handler=_mobility)

    network = commands.add_parser(
        "network", help="contact-network ensembles (epydemic): network.nc, network_fit.csv")
    network.add_argument("config")
    network.add_argument("--output-dir", type=_folder)
    network.set_defaults(handler=_network)

    calibrate = commands.add_parser(
        "calibrate", help="fit the endemic start to the burden data and cache it")
    calibrate.add_argument("config")
    calibrate.add_argument("--output-dir", type=_folder,
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
    surveil.add_argument("--output-dir", type=_folder,
                         help="parent folder of the run when CONFIG is run (default runs/)")
    surveil.add_argument("--decompose", metavar="PLACE:FIRST:LAST",
                         help="split the change of PLACE's foreign-born notifications between "
                              "two years: migration volume, rate the model explains, the rest")
    surveil.add_argument("--fit", action="store_true",
                         help="fit the migrants' TB by region of birth to the observed "
                              "foreign-born counts: fitted_selection.csv, "
                              "fitted_parameters.toml (loaded only by a config that asks)")
    surveil.set_defaults(handler=_surveil)


def _folder(text: str) -> Path:
    """``--output-dir``: a folder path, not an empty string (which would mean here)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a folder; got an empty string")
    return Path(text)


SCHEDULER = re.compile(r"(tcp|tls|inproc|ucx)://[^\s:/]+:\d{1,5}")


def _scheduler_address(text: str) -> str:
    """``--scheduler``: a dask scheduler address ``tcp://HOST:PORT`` (checked before
    anything runs, so a typo is one line, not a 30 s timeout after the run folder exists)."""
    if not SCHEDULER.fullmatch(text) or not 0 < int(text.rsplit(":", 1)[1]) < 65536:
        raise argparse.ArgumentTypeError(f"must be a dask scheduler address tcp://HOST:PORT; "
                                         f"got {text!r}")
    if text.startswith("tcp://"):       # reachable? (dask itself would wait 30 s)
        host, port = text[len("tcp://"):].rsplit(":", 1)
        try:
            socket.create_connection((host, int(port)), timeout=SCHEDULER_PROBE_SECONDS).close()
        except OSError as exc:
            raise argparse.ArgumentTypeError(
                f"{text}: no dask scheduler answers there ({exc.strerror or exc}); start one "
                "(dask scheduler) or leave --scheduler out") from None
    return text


SCHEDULER_PROBE_SECONDS = 5.0
"""How long ``--scheduler`` waits for its TCP port to answer before refusing (s)."""


