"""Where ensemble members run: in-process, a local dask cluster, a running scheduler, or
SLURM/PBS jobs through dask-jobqueue. With :mod:`healthmob.ensemble.run` the only modules
that import dask, distributed and dask_jobqueue (docs/architecture.md); the executor never
changes a number.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import sys
import time
import uuid

from ..errors import RunError
from .config import ClusterConfig
from .members import run_member

log = logging.getLogger(__name__)

THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1"}
"""Environment of every worker process: one thread each, the process is the parallel unit."""
SPAWN_ENV = {**THREAD_ENV, "MALLOC_TRIM_THRESHOLD_": str(2**28),
             "MALLOC_MMAP_THRESHOLD_": str(2**28)}
"""Set before a local worker process starts: besides the threads, glibc keeps freed memory
(up to 256 MiB) for the next member instead of returning it to the system and faulting it
in again (dask's default trims at 64 KiB); this halves the workers' system time."""


@contextlib.contextmanager
def client_for(kind: str, *, workers: int = 2, host: str = "127.0.0.1",
               cluster: ClusterConfig | None = None, scheduler: str | None = None):
    """A dask client for ``kind``: ``address`` (a running scheduler), ``local`` (a local
    cluster of ``workers`` processes) or ``cluster`` (SLURM/PBS jobs of ``[cluster]``)."""
    import distributed  # not for serial ensembles (fast start-up)

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
        cls = jobqueue_class(cluster.kind)
        with _quiet_distributed(), cls(**cluster_options(cluster, sys.executable,
                                                          for_script=False)) as jobs:
            jobs.scale(jobs=cluster.jobs)
            log.info("%s cluster: %d job(s) requested; scheduler %s", cluster.kind,
                     cluster.jobs, jobs.scheduler_address)
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
    import distributed  # not for serial ensembles (fast start-up)

    if workers < 1:
        raise RunError(f"ensemble.workers must be >= 1; got {workers}")
    import dask  # with distributed, above

    with contextlib.ExitStack() as stack:
        stack.enter_context(_quiet_distributed())
        stack.enter_context(dask.config.set({"distributed.nanny.pre-spawn-environ": SPAWN_ENV}))
        cluster = stack.enter_context(distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host=host,
            dashboard_address=f"{host}:0", env=THREAD_ENV, silence_logs=logging.WARNING))
        log.info("local dask cluster: %d worker process(es) at %s", workers,
                 cluster.scheduler_address)
        yield cluster.scheduler_address


@contextlib.contextmanager
def _quiet_distributed():
    """distributed's INFO lines (workers joining and leaving) would drown the run's log:
    WARNING and above only, while a cluster of ours runs."""
    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        quiet.setLevel(level)


def map_calls(fn, n: int, shared, kind: str = "serial", workers: int = 2) -> list:
    """``[fn(k, shared) for k in range(n)]``, in that order, in-process (``serial``) or on a
    local dask cluster (``local``: ``shared`` is sent once to each worker). ``fn(k, shared)``
    must depend on nothing else, so both give the same list."""
    if kind == "serial":
        return [fn(k, shared) for k in range(n)]
    with client_for(kind, workers=workers) as client:
        handle = client.scatter(shared, broadcast=True)
        return client.gather(client.map(fn, range(n), shared=handle, pure=False))


def map_members(client, plan, todo, folder, on_done, stop, in_flight: int) -> None:
    """Submit members, at most ``in_flight`` at a time, and handle them as they finish."""
    from distributed import wait  # not for serial ensembles (fast start-up)

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


def jobqueue_class(kind: str, job: bool = False):
    """dask-jobqueue's cluster class for ``kind`` (its job class with ``job``)."""
    import dask_jobqueue  # only for SLURM/PBS (fast start-up otherwise)

    if kind == "slurm":
        return dask_jobqueue.slurm.SLURMJob if job else dask_jobqueue.SLURMCluster
    if kind == "pbs":
        return dask_jobqueue.pbs.PBSJob if job else dask_jobqueue.PBSCluster
    raise RunError(f"cluster.kind must be one of slurm, pbs; got {kind!r}")


def cluster_options(cluster: ClusterConfig, python: str, for_script: bool) -> dict:
    """Keyword arguments of dask-jobqueue's cluster (or, ``for_script``, job) classes.

    One single-threaded worker process per core (``processes = cores``); the thread
    variables of numpy's BLAS are set to 1 in the job script.
    """
    prologue = [f"export {k}=1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                           "MKL_NUM_THREADS")]
    options = {
        "cores": cluster.cores, "processes": cluster.cores, "memory": cluster.memory,
        "walltime": cluster.walltime, "python": cluster.python or python,
        "job_script_prologue": prologue + list(cluster.job_script_prologue),
        "job_extra_directives": list(cluster.job_extra_directives),
    }
    for key in ("queue", "account", "local_directory", "log_directory"):
        if getattr(cluster, key):
            options[key] = getattr(cluster, key)
    if cluster.interface:
        options["interface"] = cluster.interface
    if not for_script:
        options["scheduler_options"] = {"port": cluster.port}
        if not cluster.interface:
            options["scheduler_options"]["host"] = cluster.host
    return options


def render_cluster_script(cluster: ClusterConfig | None, python: str | None = None) -> str:
    """The batch job script one ``[cluster]`` job would run (no scheduler is started).

    Works without SLURM or PBS installed: it renders dask-jobqueue's job template with the
    scheduler address the run would use (``tcp://<host>:<port>``).
    """
    if cluster is None:
        raise RunError("cluster-script: the config has no [cluster] table with kind")
    options = cluster_options(cluster, python or sys.executable, for_script=True)
    address = f"tcp://{cluster.host}:{cluster.port}"
    job = jobqueue_class(cluster.kind, job=True)(scheduler=address, name="healthmob-worker",
                                                     **options)
    return job.job_script()


def wait_for_workers(address: str, n_workers: int, timeout: float = 60.0) -> int:
    """Block until the scheduler at ``address`` has ``n_workers`` workers; return the count."""
    import distributed  # not for serial ensembles (fast start-up)

    with distributed.Client(address, timeout=f"{timeout}s") as client:
        client.wait_for_workers(n_workers, timeout=timeout)
        return len(client.scheduler_info()["workers"])
