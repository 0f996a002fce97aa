"""Ensembles and sweeps: run the members of a plan, stream them to disk, resume.

One unit of work is one member (:func:`healthmob.ensemble.members.run_member`), which writes
``members/scenario-<s>-member-<m>.nc`` atomically; when all exist they are combined into
``results.nc`` (:mod:`healthmob.ensemble.combine`) with dims ``scenario, member, time,
place, compartment`` and a ``quantile`` summary. Where the members run is
:mod:`healthmob.ensemble.executors`. The executor never changes a number: a member's stream
depends on ``(seed, scenario, member)`` only. Config keys: docs/ensembles.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import signal
import threading
import time
from pathlib import Path

import xarray as xr

from ..errors import RunError
from ..store.atomic import write_text_atomic
from .combine import write_results
from .config import ClusterConfig
from .executors import client_for, map_members
from .members import (
    MEMBER_DIR,
    PLAN_FILE,
    done_members,
    member_path,
    recorded_plan,
    remove_partial_files,
    run_member,
)
from .plan import EnsemblePlan, plan_ensemble

log = logging.getLogger(__name__)

MANIFEST_EVERY_SECONDS = 5.0


def run_ensemble(prepared, run_directory, *, scheduler: str | None = None,
                 resume: bool = False, progress=None) -> xr.Dataset:
    """Run the ensemble (and sweep) of a prepared scenario into ``run_directory``.

    Parameters
    ----------
    prepared : healthmob.pipeline.Prepared
        Scenario (with its ``[ensemble]`` and ``[cluster]``), mobility, initial state,
        compiled model and coupling.
    run_directory : RunDirectory
        New, or reopened with :meth:`RunDirectory.reopen` when ``resume``.
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a running dask scheduler (the CLI's ``--scheduler``).
    resume : bool
        Compute only the members missing from ``run_directory``.
    progress : callable, optional
        ``progress(done, total)`` after each member (the CLI's progress bar).

    Returns
    -------
    xarray.Dataset
        ``results.nc``, opened lazily.
    """
    ensemble = prepared.scenario.ensemble
    return execute_plan(plan_ensemble(prepared), run_directory, executor=ensemble.executor,
                        workers=ensemble.workers, host=ensemble.host,
                        cluster=prepared.scenario.cluster, scheduler=scheduler,
                        resume=resume, progress=progress, keep_members=ensemble.keep_members)


def execute_plan(plan: EnsemblePlan, run_directory, *, executor: str = "serial",
                 workers: int = 2, host: str = "127.0.0.1",
                 cluster: ClusterConfig | None = None, scheduler: str | None = None,
                 resume: bool = False, progress=None, keep_members: bool = False,
                 combine: bool = True) -> xr.Dataset | None:
    """Compute every missing member of ``plan``, then combine them into ``results.nc``.

    ``run_directory`` needs ``path``, ``manifest`` and ``write_manifest()``; the caller sets
    the final status (``complete``, ``failed``, or ``interrupted`` on KeyboardInterrupt,
    which SIGTERM also raises while this function runs). ``executor`` is ``serial``,
    ``local`` (``workers`` processes, the scheduler bound to ``host``) or ``cluster``
    (``[cluster]`` jobs), ignored when ``scheduler`` gives the address of a running one.
    ``resume`` reuses the members on disk (refused if the plan changed); ``progress(done,
    total)`` is called after each member; ``keep_members`` keeps ``members/`` after
    combining; ``combine = False`` computes the members only (they are kept).

    Returns
    -------
    xarray.Dataset or None
        ``results.nc`` opened lazily (close it when done); None when not ``combine``.
    """
    folder = Path(run_directory.path) / MEMBER_DIR
    target = Path(run_directory.path) / "results.nc"
    if resume and combine and _combined_for(target, plan):
        log.info("ensemble: %s is complete for this plan; reusing it", target.name)
        if not keep_members:
            _remove_members(plan, folder)
        return xr.open_dataset(target, engine="h5netcdf")
    _check_plan_file(plan, folder, resume)
    removed = remove_partial_files(folder)
    before = done_members(folder, plan)
    todo = [key for key in plan.keys if key not in before]
    kind = "address" if scheduler else executor
    tracker = _Tracker(plan, run_directory, kind, before, progress)
    log.info("ensemble: %d scenario(s) x %d member(s); %d already on disk, %d to compute "
             "(executor %s)%s", plan.n_scenarios, plan.members, len(before), len(todo), kind,
             f"; removed {removed} partial file(s)" if removed else "")
    t0 = time.perf_counter()
    stop = _StopRequest()
    with stop.installed():
        _compute(plan, todo, folder, kind, tracker, stop, before,
                 workers=workers, host=host, cluster=cluster, scheduler=scheduler)
        if not combine:
            return None
        log.info("ensemble: %d member(s) computed in %.2f s; combining", len(todo),
                 time.perf_counter() - t0)
        t0 = time.perf_counter()
        write_results(plan, folder, target)
        tracker.session["combine_seconds"] = round(time.perf_counter() - t0, 3)
        stop.check()  # results.nc is complete, but the user asked to stop: resume re-combines
    if hasattr(run_directory, "add_output"):
        run_directory.add_output("results.nc")
    run_directory.write_manifest()
    if not keep_members:
        _remove_members(plan, folder)
    return xr.open_dataset(target, engine="h5netcdf")


class _Tracker:
    """The manifest's record of this session, and the progress callback, as members end."""

    def __init__(self, plan, run_directory, kind, before, progress):
        self.run_directory, self.progress, self.total = run_directory, progress, len(plan.keys)
        self.session = {"started": _now(), "executor": kind, "reused": len(before),
                        "computed": []}
        record = run_directory.manifest.setdefault("ensemble", {
            "scenarios": plan.n_scenarios, "members": plan.members, "seed": plan.seed,
            "engine": plan.engine, "dt_days": plan.dt, "sessions": []})
        record["sessions"].append(self.session)
        run_directory.write_manifest()
        self.done, self.written = len(before), time.monotonic()
        if progress is not None:
            progress(self.done, self.total)

    def __call__(self, result: dict | None) -> None:
        """One member ended (``result``), or None: write the manifest now."""
        if result is None:
            self.run_directory.write_manifest()
            return
        self.done += 1
        log.debug("member scenario=%d member=%d computed in %.3f s (pid %d)",
                  result["scenario"], result["member"], result["seconds"], result["pid"])
        if self.progress is not None:
            self.progress(self.done, self.total)
        if time.monotonic() - self.written > MANIFEST_EVERY_SECONDS:
            self.session["members_done"] = self.done
            self.run_directory.write_manifest()
            self.written = time.monotonic()


def _combined_for(target: Path, plan: EnsemblePlan) -> bool:
    """Whether ``target`` is this plan's combined results (written atomically, so complete
    when it exists): a run stopped after the combine, whose members may be gone already."""
    return target.is_file() and recorded_plan(target) == plan.fingerprint


def _remove_members(plan: EnsemblePlan, folder: Path) -> None:
    for key in plan.keys:
        member_path(folder, *key).unlink(missing_ok=True)
    (folder / PLAN_FILE).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        folder.rmdir()


def _compute(plan, todo, folder, kind, tracker: _Tracker, stop, before, **executor) -> None:
    t0 = time.perf_counter()
    try:
        if todo and kind == "serial":
            for key in todo:
                stop.check()
                tracker(run_member(plan, *key, str(folder)))
        elif todo:
            with client_for(kind, **executor) as client:
                map_members(client, plan, todo, folder, tracker, stop,
                            in_flight=max(4, 2 * executor["workers"]))
        stop.check()
    finally:
        remove_partial_files(folder)
        after = done_members(folder, plan)
        tracker.session["computed"] = [f"{s}-{m}" for s, m in sorted(after - before)]
        tracker.session["members_done"] = len(after)
        tracker.session["compute_seconds"] = round(time.perf_counter() - t0, 3)
        tracker(None)  # writes the manifest


def _check_plan_file(plan: EnsemblePlan, folder: Path, resume: bool) -> None:
    fingerprint = plan.fingerprint
    path = folder / PLAN_FILE
    if path.is_file():
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))["fingerprint"]
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise RunError(f"{path}: cannot read the ensemble plan ({type(exc).__name__}: "
                           f"{exc}); the folder cannot be resumed") from None
        if recorded != fingerprint:
            raise RunError(f"{folder.parent}: cannot resume: the model, config or inputs "
                           f"changed since the run started (plan {recorded[:12]} != "
                           f"{fingerprint[:12]})")
        if not resume:
            raise RunError(f"{folder.parent}: already has members; use --resume")
        return
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps({"fingerprint": fingerprint,
                                        "scenarios": plan.n_scenarios,
                                        "members": plan.members, "seed": plan.seed}) + "\n")


class _StopRequest:
    """Ctrl-C (SIGINT) and SIGTERM, turned into KeyboardInterrupt at safe points only.

    A KeyboardInterrupt raised inside HDF5 or a finaliser can be swallowed; so the handlers
    only record the signal, and :meth:`check` raises between members. A second signal
    raises at once.
    """

    def __init__(self):
        self.signum = None

    def handle(self, signum, _frame):
        if self.signum is not None:
            raise KeyboardInterrupt(f"signal {signum}")
        self.signum = signum
        log.warning("signal %d: stopping after the members in progress", signum)

    def check(self) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt(f"signal {self.signum}")

    @contextlib.contextmanager
    def installed(self):
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.signal(s, self.handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


