"""Where sweep configurations run: in this process, in a pool of local processes, or on Dask.

Each backend is a generator: given a picklable ``task`` and ``(index, args)``
items it yields ``(index, task(*args))`` as each one finishes, in completion
order. Leaving the generator early (an interrupt, an error in the caller)
stops the workers; finished results have already been handed out.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal

__all__ = ["BACKENDS", "default_workers", "run_serial", "run_processes", "run_dask"]

BACKENDS = ("serial", "processes", "dask")


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_serial(task, items, workers=None, address=None):
    for index, args in items:
        yield index, task(*args)


def _ignore_sigint():
    # Ctrl-C reaches the whole process group: the parent stops the pool, workers must not print tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _call(job):
    task, index, args = job
    return index, task(*args)


def run_processes(task, items, workers=None, address=None):
    """A ``multiprocessing`` pool of ``workers`` processes (default: every core).

    Workers start with the platform's default method (fork on Linux: they
    inherit the kernels the parent compiled; elsewhere they load them from
    Numba's on-disk cache). The pool is terminated on the way out.
    """
    jobs = [(task, index, args) for index, args in items]
    pool = multiprocessing.get_context().Pool(min(workers or default_workers(), max(len(jobs), 1)),
                                              initializer=_ignore_sigint)
    try:
        yield from pool.imap_unordered(_call, jobs, chunksize=1)
    finally:
        pool.terminate()
        pool.join()


def _dask_client(workers, address):
    """(client, things to close): a new LocalCluster, a scheduler address, or the user's Client."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise ImportError('backend="dask" needs dask.distributed: pip install "layerq[dask]"') from exc
    if address is None:
        cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
        return client, [client, cluster]
    if isinstance(address, str):
        client = Client(address)
        return client, [client]
    if isinstance(address, Client):
        return address, []
    raise ValueError(f"address must be None, a scheduler address (str) or a dask.distributed.Client, "
                     f"got {type(address).__name__}")


def run_dask(task, items, workers=None, address=None):
    """Futures on a ``dask.distributed`` cluster, collected with ``as_completed``."""
    from dask.distributed import as_completed

    client, owned = _dask_client(workers, address)
    futures = {}
    try:
        for index, args in items:
            futures[client.submit(task, *args, pure=False)] = index
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        client.cancel(list(futures))
        for thing in owned:
            thing.close()


RUNNERS = {"serial": run_serial, "processes": run_processes, "dask": run_dask}
