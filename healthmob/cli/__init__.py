"""Command-line interface: ``healthmob run|validate|mobility|calibrate|network|surveil|...``
(the parser in :mod:`.parser`, the commands in :mod:`.commands`).

The CLI only composes library functions. Errors caused by input (any
:class:`~healthmob.errors.HealthmobError`) print one line on stderr and exit with code 2;
anything else is a bug and keeps its traceback. The last line of ``run`` and ``mobility``
on stdout is the run directory's path. Each command imports the stages it uses when it
runs, so that ``healthmob --help`` and every command start fast.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import traceback
import warnings

from ..errors import HealthmobError
from .parser import build_parser

EXIT_INPUT_ERROR = 2


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``healthmob`` command."""
    # The kernels multiply small matrices: one BLAS thread is several times faster than two
    # (4.4x for the world run's engine on 2 busy cores, docs/performance.md). Set before
    # numpy is imported; an explicit setting in the environment wins.
    for variable in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(variable, "1")
    parser = build_parser()
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
        for signum in (signal.SIGINT, signal.SIGTERM):   # stopping already: a second
            signal.signal(signum, signal.SIG_IGN)         # signal must not undo the exit code
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


