"""Run directories: ``runs/<name>-<YYYYmmdd-HHMMSS>/`` with config, manifest, results and log.

The only module that creates run folders. The manifest says ``status: running`` while the
run works, then ``complete`` or ``failed`` (with the error); every file is written atomically.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import importlib.metadata
import json
import logging
import logging.handlers
import os
import platform
import socket
import sys
import threading
import time
from pathlib import Path

import tomli_w

from .. import __version__
from ..errors import HealthmobError, RunError
from .atomic import write_text_atomic

KEY_PACKAGES = ("numpy", "scipy", "pandas", "xarray", "geopandas", "pyogrio", "shapely",
                "pyproj", "h5netcdf", "dask", "distributed", "matplotlib", "epydemic")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HEARTBEAT_FILE = ".heartbeat"
HEARTBEAT_SECONDS = 30.0
"""A working process touches the run folder's heartbeat file this often (s)."""
HEARTBEAT_MISSED = 4
"""A ``running`` run whose heartbeat is older than this many periods is ``crashed``."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape results."""
    versions = {}
    for name in KEY_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@contextlib.contextmanager
def collect_logs():
    """Collect the ``healthmob`` log records of a block (to replay them into ``run.log``)."""
    handler = logging.handlers.BufferingHandler(capacity=1_000_000)
    logger = logging.getLogger("healthmob")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler.buffer
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


class RunDirectory:
    """A run folder and its manifest.

    Parameters
    ----------
    base : Path
        Parent folder (``runs/`` by default).
    name : str
        Scenario name; the folder is ``<name>-<YYYYmmdd-HHMMSS>`` (``-2``, ``-3``... when that
        exists already).
    command : str
        What created it (``"run"``, ``"mobility"``...), recorded in the manifest.
    seed : int
        Root seed of the run.
    inputs : list of Path
        Files whose sha256 the manifest records.
    earlier_logs : list of logging.LogRecord
        Log records of the validation that ran before the folder existed; they open
        ``run.log``.
    """

    def __init__(self, base: Path, name: str, command: str, seed: int, inputs: list[Path],
                 earlier_logs: list[logging.LogRecord] = ()):
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        if Path(name).name != name or name.startswith(".") or not name:
            raise RunError(f"run name {name!r} must be a name, not a path")
        try:
            base.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"{base}: cannot create the output folder: {exc}") from None
        path, n = base / f"{name}-{stamp}", 1
        while True:
            try:
                path.mkdir()
                break
            except FileExistsError:
                n += 1
                path = base / f"{name}-{stamp}-{n}"
        self.path = path.resolve()
        if self.path.parent != base.resolve():   # a link inside the output folder
            raise RunError(f"{path}: the run folder must be inside {base.resolve()}; it "
                           f"resolves to {self.path}")
        self._lock = _lock(self.path)
        self._heart = _Heartbeat(self.path)
        self._t0 = time.perf_counter()
        self.manifest = {
            "healthmob_version": __version__,
            "command": command,
            "argv": sys.argv,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "packages": package_versions(),
            "inputs": {str(p): sha256_file(p) for p in inputs},
            "seed": seed,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "heartbeat": {"file": HEARTBEAT_FILE, "every_seconds": HEARTBEAT_SECONDS},
            "started": _now(),
            "finished": None,
            "wall_seconds": None,
            "status": "running",
            "outputs": [],
        }
        self._started(lambda: self.attach_log(earlier_logs))

    @classmethod
    def reopen(cls, path: str | Path) -> RunDirectory:
        """Reopen an existing run directory to resume it: the manifest goes back to
        ``running`` (the earlier status is kept under ``resumed``), the log appends, and the
        half-written ``.partial`` files of the stopped process are removed."""
        path = Path(path).resolve()
        manifest = read_manifest(path)
        lock = _lock(path)
        for stale in path.glob(".*.partial-*"):   # half-written by the stopped process
            stale.unlink(missing_ok=True)
        folder = cls.__new__(cls)
        folder._lock = lock
        folder._heart = _Heartbeat(path)
        folder.path = path
        folder._t0 = time.perf_counter() - float(manifest.get("wall_seconds") or 0.0)
        folder.manifest = manifest
        manifest.setdefault("resumed", []).append({"at": _now(), "argv": sys.argv,
                                                   "previous_status": manifest.get("status")})
        manifest.update(status="running", finished=None, pid=os.getpid(),
                        host=socket.gethostname(),
                        heartbeat={"file": HEARTBEAT_FILE, "every_seconds": HEARTBEAT_SECONDS})
        manifest.pop("error", None)
        folder._started(folder.attach_log)
        return folder

    def _started(self, then) -> None:
        """Write the ``running`` manifest, then ``then()``: a Ctrl-C or SIGTERM in between
        (before :meth:`recording` holds the run) still ends the run as ``interrupted``."""
        self.write_manifest()
        try:
            then()
        except KeyboardInterrupt as exc:
            self.finish("interrupted", f"KeyboardInterrupt: {exc}")
            raise

    def attach_log(self, earlier_logs=()) -> None:
        """Send the ``healthmob`` log to ``run.log`` (appending), after ``earlier_logs``."""
        self._handler = logging.FileHandler(self.path / "run.log", encoding="utf-8")
        self._handler.setFormatter(logging.Formatter(LOG_FORMAT))
        for record in earlier_logs:
            self._handler.handle(record)
        root = logging.getLogger("healthmob")
        root.addHandler(self._handler)
        root.setLevel(logging.INFO)

    def write_config(self, table: dict) -> None:
        """Write the config as run (TOML data, every default filled in) as ``config.toml``."""
        write_text_atomic(self.path / "config.toml", tomli_w.dumps(table))
        self.add_output("config.toml")

    def add_output(self, name: str) -> None:
        """Record a file written into the run directory."""
        if name not in self.manifest["outputs"]:
            self.manifest["outputs"].append(name)

    def write_manifest(self) -> None:
        """Write ``manifest.json`` atomically."""
        write_text_atomic(self.path / "manifest.json",
                          json.dumps(self.manifest, indent=2, default=str) + "\n")

    @contextlib.contextmanager
    def recording(self, announce: bool = True):
        """Finish as ``complete`` when the block succeeds (and, with ``announce``, say so:
        :meth:`announce`); otherwise record ``failed`` (or ``interrupted`` on
        Ctrl-C/SIGTERM) with the error in the manifest and ``run.log``, and re-raise."""
        try:
            yield self
        except BaseException as exc:
            interrupted = isinstance(exc, KeyboardInterrupt)
            logger = logging.getLogger(__name__)
            if interrupted:
                logger.warning("%s interrupted: %s", self.manifest["command"], self.path)
            elif isinstance(exc, HealthmobError):   # the CLI prints its one line: run.log only
                self._handler.handle(logging.makeLogRecord({
                    "name": __name__, "levelno": logging.ERROR, "levelname": "ERROR",
                    "msg": "%s failed: %s", "args": (self.manifest["command"], exc)}))
            else:
                logger.exception("%s failed", self.manifest["command"])
            status = "interrupted" if interrupted else "failed"
            with contextlib.suppress(OSError):   # a full disk: the status stays "running",
                self.finish(status, f"{type(exc).__name__}: {exc}")   # read as "crashed"
            raise
        self.finish("complete")
        if announce:
            self.announce()

    def announce(self) -> None:
        """Log ``<command> complete: <folder>``, in ``run.log`` too (the last thing a run
        does, after its maps and report)."""
        self.attach_log()
        logging.getLogger(__name__).info("%s complete: %s", self.manifest["command"], self.path)
        self.detach_log()

    def finish(self, status: str, error: str | None = None) -> None:
        """Record the end of the run and detach the log file."""
        self.manifest.update(status=status, finished=_now(),
                             wall_seconds=round(time.perf_counter() - self._t0, 3))
        if error:
            self.manifest["error"] = error
        self._heart.stop()
        self.write_manifest()
        self.detach_log()

    def detach_log(self) -> None:
        """Stop writing the log to ``run.log`` (nothing when it was never attached)."""
        handler = getattr(self, "_handler", None)
        if handler is not None:
            logging.getLogger("healthmob").removeHandler(handler)
            handler.close()


LOCK_FILE = ".lock"


class _Heartbeat:
    """A daemon thread that touches the folder's heartbeat file every
    :data:`HEARTBEAT_SECONDS` while the run works, so that a run on another host (a cluster
    node) whose process died is told from a live one by the file's age."""

    def __init__(self, path: Path):
        self.file = path / HEARTBEAT_FILE
        self.file.touch()
        self._stopped = threading.Event()
        threading.Thread(target=self._beat, name="healthmob-heartbeat", daemon=True).start()

    def _beat(self) -> None:
        while not self._stopped.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(OSError):
                os.utime(self.file)

    def stop(self) -> None:
        self._stopped.set()


def _lock(path: Path):
    """Hold an exclusive lock on the run folder for this process's life (released by the
    system when it ends, however it ends): a second process, e.g. a second ``--resume`` of
    the same folder, is refused with one line instead of deleting the first one's files."""
    handle = open(path / LOCK_FILE, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise RunError(f"{path}: another healthmob process is working in this run folder; "
                       "wait for it to end (or stop it) and try again") from None
    return handle


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def read_manifest(path: str | Path) -> dict:
    """The manifest of a run folder to resume, checked: a RunError naming the file when the
    folder or its ``manifest.json`` is missing or unreadable, or the run is complete (with
    its maps and report: a ``maps_error`` lets resume rebuild them)."""
    path = Path(path).resolve()
    if not path.is_dir():
        raise RunError(f"{path}: run directory must be an existing folder; it is not")
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise RunError(f"{path}: not a run directory (no manifest.json)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RunError(f"{manifest_path}: cannot read the manifest: {exc}") from None
    if not isinstance(manifest, dict):
        raise RunError(f"{manifest_path}: the manifest must be a JSON object; got "
                       f"{type(manifest).__name__}")
    if (manifest.get("status") == "complete" and (path / "results.nc").is_file()
            and "maps_error" not in manifest):
        raise RunError(f"{path}: the run is complete; nothing to resume")
    return manifest


def effective_status(manifest: dict, path: str | Path | None = None) -> str:
    """A manifest's status; ``crashed`` for a run still marked ``running`` whose process is
    gone: on this host, its pid is not alive (killed, or the machine restarted under it);
    elsewhere, the heartbeat file in ``path`` (the run folder) has not been touched for
    :data:`HEARTBEAT_MISSED` periods."""
    status = str(manifest.get("status", "unknown"))
    if status != "running":
        return status
    if manifest.get("host") != socket.gethostname():
        beat = manifest.get("heartbeat")
        if path is None or not isinstance(beat, dict):
            return status
        try:
            age = time.time() - (Path(path) / str(beat.get("file"))).stat().st_mtime
            late = age > HEARTBEAT_MISSED * float(beat.get("every_seconds"))
        except (OSError, TypeError, ValueError):
            return status
        return "crashed" if late else status
    try:
        os.kill(int(manifest.get("pid", -1)), 0)
    except (ProcessLookupError, ValueError, TypeError):
        return "crashed"
    except PermissionError:      # alive, another user's process
        return status
    return status
