"""Ensembles and sweeps: where members run, how they reach disk, and how a run resumes.

The only module that imports dask, distributed and dask_jobqueue (DESIGN.md section 5).
One unit of work is one member (:func:`healthmob.members.run_member`), which writes
``members/scenario-<s>-member-<m>.nc`` atomically; when all exist they are combined into
``results.nc`` with dims ``scenario, member, time, place, compartment`` and a ``quantile``
summary. Executors: ``serial`` (in-process), ``local`` (a dask LocalCluster of
single-threaded worker processes on 127.0.0.1), an existing scheduler address, and SLURM or
PBS through dask-jobqueue. The executor never changes a number: a member's stream depends on
``(seed, scenario, member)`` only. Config keys: docs/ensembles.md.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import RunError
from .config import (  # noqa: F401
    cluster_options,
    plan_ensemble,
    sweep_scenarios,
    validate_ensemble_config,
)
from .members import (
    MEMBER_DIR,
    PLAN_FILE,
    EnsemblePlan,
    done_members,
    member_path,
    remove_partial_files,
    run_member,
)
from .summary import (
    initial_flag_variable,
    member_variables,
    place_blocks,
    quantile_variables,
    skeleton,
)

log = logging.getLogger(__name__)

THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1"}
"""Environment of every worker process: one thread each, the process is the parallel unit."""
SPAWN_ENV = {**THREAD_ENV, "MALLOC_TRIM_THRESHOLD_": str(2**28),
             "MALLOC_MMAP_THRESHOLD_": str(2**28)}
"""Set before a local worker process starts: besides the threads, glibc keeps freed memory
(up to 256 MiB) for the next member instead of returning it to the system and faulting it
in again (dask's default trims at 64 KiB); this halves the workers' system time."""
MANIFEST_EVERY_SECONDS = 5.0


def run_ensemble(prepared, resolved: dict, run_directory, *, scheduler: str | None = None,
                 resume: bool = False, progress=None) -> xr.Dataset:
    """Run the ensemble (and sweep) of a prepared scenario into ``run_directory``.

    Parameters
    ----------
    prepared : healthmob.pipeline.Prepared
        Scenario, mobility, initial state, compiled model and coupling.
    resolved : dict
        The resolved config; ``[ensemble]`` (and ``[cluster]``) filled by
        :func:`validate_ensemble_config`.
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
    ensemble = resolved["ensemble"]
    plan = plan_ensemble(prepared, resolved)
    return execute_plan(plan, run_directory, executor=ensemble["executor"],
                        workers=ensemble["workers"], host=ensemble["host"],
                        cluster=resolved.get("cluster") or None, scheduler=scheduler,
                        resume=resume, progress=progress,
                        keep_members=ensemble["keep_members"])


def execute_plan(plan: EnsemblePlan, run_directory, *, executor: str = "serial",
                 workers: int = 2, host: str = "127.0.0.1", cluster: dict | None = None,
                 scheduler: str | None = None, resume: bool = False, progress=None,
                 keep_members: bool = False, combine: bool = True) -> xr.Dataset | None:
    """Compute every missing member of ``plan``, then combine them into ``results.nc``.

    Parameters
    ----------
    plan : EnsemblePlan
        What to compute.
    run_directory : RunDirectory
        Needs ``path``, ``manifest`` and ``write_manifest()``; the caller sets the final
        status (``complete``, ``failed``, or ``interrupted`` on KeyboardInterrupt, which
        SIGTERM also raises while this function runs).
    executor : {"serial", "local", "cluster"}
        Ignored when ``scheduler`` is given.
    workers : int
        Worker processes of the local cluster.
    host : str
        Interface the scheduler of a local cluster binds to.
    cluster : dict, optional
        The validated ``[cluster]`` table (executor ``cluster``).
    scheduler : str, optional
        Address of a running dask scheduler (``tcp://HOST:PORT``).
    resume : bool
        Reuse the member files already in the directory (refused if the plan changed).
    progress : callable, optional
        Called as ``progress(done, total)`` after each member (done includes reused ones).
    keep_members : bool
        Keep ``members/`` after combining.
    combine : bool
        Combine the members into ``results.nc`` (False: compute the members only, e.g. to
        measure throughput; the members are kept).

    Returns
    -------
    xarray.Dataset or None
        ``results.nc`` opened lazily (close it when done); None when not ``combine``.
    """
    folder = Path(run_directory.path) / MEMBER_DIR
    _check_plan_file(plan, folder, resume)
    removed = remove_partial_files(folder)
    before = done_members(folder, plan)
    total = len(plan.keys)
    todo = [key for key in plan.keys if key not in before]
    kind = "address" if scheduler else executor
    session = {"started": _now(), "executor": kind, "reused": len(before), "computed": []}
    record = run_directory.manifest.setdefault("ensemble", {
        "scenarios": plan.n_scenarios, "members": plan.members, "seed": plan.seed,
        "engine": plan.engine, "dt_days": plan.dt, "sessions": []})
    record["sessions"].append(session)
    run_directory.write_manifest()
    log.info("ensemble: %d scenario(s) x %d member(s); %d already on disk, %d to compute "
             "(executor %s)%s", plan.n_scenarios, plan.members, len(before), len(todo), kind,
             f"; removed {removed} partial file(s)" if removed else "")
    state = {"done": len(before), "written": time.monotonic()}

    def on_done(result: dict | None) -> None:
        if result is None:
            run_directory.write_manifest()
            return
        state["done"] += 1
        log.debug("member scenario=%d member=%d computed in %.3f s (pid %d)",
                  result["scenario"], result["member"], result["seconds"], result["pid"])
        if progress is not None:
            progress(state["done"], total)
        if time.monotonic() - state["written"] > MANIFEST_EVERY_SECONDS:
            session["members_done"] = state["done"]
            run_directory.write_manifest()
            state["written"] = time.monotonic()

    if progress is not None:
        progress(state["done"], total)
    t0 = time.perf_counter()
    stop = _StopRequest()
    with stop.installed():
        _compute(plan, todo, folder, kind, on_done, stop, session, before,
                 workers=workers, host=host, cluster=cluster, scheduler=scheduler)
        if not combine:
            return None
        log.info("ensemble: %d member(s) computed in %.2f s; combining", len(todo),
                 time.perf_counter() - t0)
        target = Path(run_directory.path) / "results.nc"
        t0 = time.perf_counter()
        write_results(plan, folder, target)
        session["combine_seconds"] = round(time.perf_counter() - t0, 3)
        stop.check()  # results.nc is complete, but the user asked to stop: resume re-combines
    if hasattr(run_directory, "add_output"):
        run_directory.add_output("results.nc")
    run_directory.write_manifest()
    if not keep_members:
        for key in plan.keys:
            member_path(folder, *key).unlink(missing_ok=True)
        (folder / PLAN_FILE).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()
    return xr.open_dataset(target, engine="h5netcdf")


def _compute(plan, todo, folder, kind, on_done, stop, session, before, **executor) -> None:
    t0 = time.perf_counter()
    try:
        if todo and kind == "serial":
            for key in todo:
                stop.check()
                on_done(run_member(plan, *key, str(folder)))
        elif todo:
            with _client(kind, **executor) as client:
                _map_members(client, plan, todo, folder, on_done, stop,
                             in_flight=max(4, 2 * executor["workers"]))
        stop.check()
    finally:
        remove_partial_files(folder)
        after = done_members(folder, plan)
        session["computed"] = [f"{s}-{m}" for s, m in sorted(after - before)]
        session["members_done"] = len(after)
        session["compute_seconds"] = round(time.perf_counter() - t0, 3)
        on_done(None)  # writes the manifest


def _check_plan_file(plan: EnsemblePlan, folder: Path, resume: bool) -> None:
    fingerprint = plan.fingerprint()
    path = folder / PLAN_FILE
    if path.is_file():
        recorded = json.loads(path.read_text())["fingerprint"]
        if recorded != fingerprint:
            raise RunError(f"{folder.parent}: cannot resume: the model, config or inputs "
                           f"changed since the run started (plan {recorded[:12]} != "
                           f"{fingerprint[:12]})")
        if not resume:
            raise RunError(f"{folder.parent}: already has members; use --resume")
        return
    folder.mkdir(parents=True, exist_ok=True)
    from ..store.atomic import write_text_atomic

    write_text_atomic(path, json.dumps({"fingerprint": fingerprint,
                                        "scenarios": plan.n_scenarios,
                                        "members": plan.members, "seed": plan.seed}) + "\n")


def _map_members(client, plan, todo, folder, on_done, stop, in_flight: int) -> None:
    """Submit members, at most ``in_flight`` at a time, and handle them as they finish."""
    from distributed import wait

    client.wait_for_workers(1)
    [shared] = client.scatter([plan], broadcast=True)  # sent to the workers once
    tag = uuid.uuid4().hex[:8]
    pending = iter(todo)

    def submit(key):
        return client.submit(run_member, shared, key[0], key[1], str(folder),
                             key=f"healthmob-member-{key[0]}-{key[1]}-{tag}")

    running = {submit(key) for key in itertools.islice(pending, in_flight)}
    try:
        while running:
            stop.check()
            try:
                done, running = wait(running, timeout=0.5, return_when="FIRST_COMPLETED")
            except TimeoutError:
                continue
            for future in done:
                on_done(future.result())
                future.release()
                key = next(pending, None)
                if key is not None:
                    running.add(submit(key))
    except Exception:
        # a local cluster's workers share the terminal's Ctrl-C and die with it: their
        # futures fail or are cancelled, which is the interrupt, not an error
        time.sleep(0.2)  # let a signal that is on its way reach the handler
        stop.check()
        raise
    finally:
        for future in running:
            future.cancel()


@contextlib.contextmanager
def _client(kind: str, *, workers: int, host: str, cluster: dict | None, scheduler: str | None):
    import distributed

    if kind == "address":
        log.info("connecting to the dask scheduler at %s", scheduler)
        try:
            client = distributed.Client(scheduler, timeout="30s")
        except OSError as exc:
            raise RunError(f"--scheduler {scheduler}: cannot connect: {exc}") from None
        with client:
            yield client
        return
    if kind == "local":
        with local_cluster(workers, host) as address, distributed.Client(address) as client:
            yield client
        return
    if kind == "cluster":
        if not cluster:
            raise RunError("ensemble.executor = 'cluster' needs a [cluster] table with kind")
        cls = _jobqueue_class(cluster["kind"])
        with cls(**cluster_options(cluster, sys.executable, for_script=False)) as jobs:
            jobs.scale(jobs=cluster["jobs"])
            log.info("%s cluster: %d job(s) requested; scheduler %s", cluster["kind"],
                     cluster["jobs"], jobs.scheduler_address)
            with distributed.Client(jobs) as client:
                yield client
        return
    raise RunError(f"ensemble.executor must be one of serial, local, cluster; got {kind!r}")


@contextlib.contextmanager
def local_cluster(workers: int = 2, host: str = "127.0.0.1"):
    """A dask LocalCluster of ``workers`` single-threaded processes; yields its address.

    The scheduler and workers bind to ``host`` (127.0.0.1 unless configured otherwise);
    no dashboard. Thread variables of the workers are set to 1 and glibc's trimming is
    relaxed (:data:`SPAWN_ENV`).
    """
    import distributed

    if workers < 1:
        raise RunError(f"ensemble.workers must be >= 1; got {workers}")
    import dask

    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(max(level, logging.WARNING))  # its INFO lines would drown the run's log
    with contextlib.ExitStack() as stack:
        stack.callback(quiet.setLevel, level)
        stack.enter_context(dask.config.set({"distributed.nanny.pre-spawn-environ": SPAWN_ENV}))
        cluster = stack.enter_context(distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host=host,
            dashboard_address=f"{host}:0", env=THREAD_ENV, silence_logs=logging.WARNING))
        log.info("local dask cluster: %d worker process(es) at %s", workers,
                 cluster.scheduler_address)
        yield cluster.scheduler_address


def _jobqueue_class(kind: str, job: bool = False):
    import dask_jobqueue

    if kind == "slurm":
        return dask_jobqueue.slurm.SLURMJob if job else dask_jobqueue.SLURMCluster
    if kind == "pbs":
        return dask_jobqueue.pbs.PBSJob if job else dask_jobqueue.PBSCluster
    raise RunError(f"cluster.kind must be one of slurm, pbs; got {kind!r}")


def render_cluster_script(cluster: dict, python: str | None = None) -> str:
    """The batch job script one ``[cluster]`` job would run (no scheduler is started).

    Works without SLURM or PBS installed: it renders dask-jobqueue's job template with the
    scheduler address the run would use (``tcp://<host>:<port>``).
    """
    if not cluster or "kind" not in cluster:
        raise RunError("cluster-script: the config has no [cluster] table with kind")
    options = cluster_options(cluster, python or sys.executable, for_script=True)
    address = f"tcp://{cluster['host']}:{cluster['port']}"
    job = _jobqueue_class(cluster["kind"], job=True)(scheduler=address, name="healthmob-worker",
                                                     **options)
    return job.job_script()


def write_results(plan: EnsemblePlan, folder: Path, target: Path) -> None:
    """Combine the member files into ``target`` (NetCDF-4), streaming block by block.

    Each variable is a dask array whose blocks are read from the member files when written
    (one member, or one block of places across members for the quantiles), with dask's
    synchronous scheduler, so peak memory stays flat as members are added.
    """
    import dask
    import dask.array as da

    from ..schema import check_dataset
    from ..store.atomic import atomic_path

    coords, variables, attrs = skeleton(plan)
    sizes = {name: len(values) for name, (dims, values, _) in coords.items()
             if dims == (name,)}
    sizes["place"] = plan.x0.shape[0]
    blocks = place_blocks(plan)
    member_parts = {key: dask.delayed(member_variables, pure=True)(plan, folder, *key)
                    for key in plan.keys}
    quantile_parts = {(s, i): dask.delayed(quantile_variables, pure=True)(plan, folder, s, b)
                      for s in range(plan.n_scenarios) for i, b in enumerate(blocks)}
    data = {}
    for name, (dims, dtype, var_attrs, kind) in variables.items():
        shape = tuple(sizes[d] for d in dims)
        if kind == "member":
            inner = shape[2:]
            rows = [[da.from_delayed(member_parts[(s, m)][name], inner, dtype=dtype)
                     for m in range(plan.members)] for s in range(plan.n_scenarios)]
            array = da.stack([da.stack(row) for row in rows])
        else:
            rows = []
            for s in range(plan.n_scenarios):
                parts = []
                for i, block in enumerate(blocks):
                    part_shape = (shape[1], shape[2], block.stop - block.start) + shape[4:]
                    parts.append(da.from_delayed(quantile_parts[(s, i)][name], part_shape,
                                                 dtype=dtype))
                rows.append(da.concatenate(parts, axis=2))
            array = da.stack(rows)
        data[name] = (dims, array, var_attrs)
    data.update(initial_flag_variable(plan))
    ds = xr.Dataset(data, coords={k: xr.Variable(*v) for k, v in coords.items()}, attrs=attrs)
    problems = check_dataset(ds)
    assert not problems, problems  # a bug in this module, never a user error
    encoding = {}
    block = blocks[0].stop - blocks[0].start
    for name, var in ds.data_vars.items():
        if "time" not in var.dims:
            continue
        chunks = [1 if d in ("scenario", "member", "quantile") else n
                  for d, n in zip(var.dims, var.shape)]
        if "quantile" in var.dims:
            chunks[var.dims.index("place")] = block
        at = var.dims.index("time")
        while np.prod(chunks) > 2**20 and chunks[at] > 1:  # about 1M values per chunk
            chunks[at] = (chunks[at] + 1) // 2
        encoding[name] = {"zlib": True, "complevel": 1, "shuffle": True,
                          "chunksizes": tuple(chunks)}
    with dask.config.set(scheduler="synchronous"), atomic_path(target) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)


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
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def wait_for_workers(address: str, n_workers: int, timeout: float = 60.0) -> int:
    """Block until the scheduler at ``address`` has ``n_workers`` workers; return the count."""
    import distributed

    with distributed.Client(address, timeout=f"{timeout}s") as client:
        client.wait_for_workers(n_workers, timeout=timeout)
        return len(client.scheduler_info()["workers"])
