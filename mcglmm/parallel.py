"""The one place that decides how work is spread over cores or a cluster.

Work is always cut into the same pieces, whatever ``n_jobs`` or the joblib
backend: results come back in task order and are combined in that order, so a
fixed seed gives bitwise-identical answers for ``n_jobs=1``, threads, loky or
dask.  Threads are preferred (numpy releases the GIL); a backend chosen with
``joblib.parallel_config(backend=...)`` overrides that.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache

import joblib
from joblib.externals.loky.process_executor import TerminatedWorkerError
from joblib.parallel import get_active_backend
from threadpoolctl import ThreadpoolController

from .exceptions import WorkerLostError, bad_value


def check_n_jobs(n_jobs):
    """Validate ``n_jobs``: a non-zero integer (negative counts from the CPU count, as joblib)."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise ValueError(bad_value("n_jobs", "a non-zero integer (-1 for all cores)", n_jobs))
    return n_jobs


def _backend_name():
    backend, _ = get_active_backend(prefer="threads")
    return type(backend).__name__


def shares_memory():
    """True when the active joblib backend runs tasks in this process (threads or sequential)."""
    return _backend_name() in ("ThreadingBackend", "SequentialBackend")


def _in_one_blas_thread(func, *args):
    with single_threaded_blas():
        return func(*args)


def _results(func, tasks, n_jobs):
    """Results of the tasks, in order, from the active backend.

    With threads a plain thread pool is used: joblib's result loop polls every
    10 ms, which costs a fast objective more than its work.
    """
    backend = _backend_name()
    if n_jobs == 1 or len(tasks) == 1 or backend == "SequentialBackend":
        for t in tasks:
            yield _in_one_blas_thread(func, *t)
    elif backend == "ThreadingBackend":
        pool = ThreadPoolExecutor(max_workers=effective_jobs(n_jobs))
        try:
            futures = [pool.submit(_in_one_blas_thread, func, *t) for t in tasks]
            for future in futures:
                yield future.result()
        finally:
            # On Ctrl-C (or any error) the queued tasks are dropped, not run to the end.
            pool.shutdown(wait=True, cancel_futures=True)
    elif backend == "DaskDistributedBackend":
        yield from _dask_results(func, tasks)
    else:
        try:
            yield from joblib.Parallel(n_jobs=n_jobs, return_as="generator")(
                joblib.delayed(_in_one_blas_thread)(func, *t) for t in tasks)
        except TerminatedWorkerError as exc:
            raise WorkerLostError(_lost_worker_message(exc)) from exc


def _dask_results(func, tasks):
    """The tasks as futures of the active dask client, results in task order.

    Submitted directly rather than through joblib's dask backend: a worker lost for good
    (``KilledWorker``) left joblib's (1.6) result loop waiting forever, where a future raises.
    A worker that dies is replaced and its task re-run by the scheduler (up to
    ``distributed.scheduler.allowed-failures`` times); the task being pure, the sum is the same.
    """
    import distributed
    client = distributed.get_client()
    futures = [client.submit(_in_one_blas_thread, func, *t, pure=False) for t in tasks]
    try:
        for future in futures:
            yield future.result()
    except distributed.KilledWorker as exc:
        raise WorkerLostError(_lost_worker_message(exc)) from exc
    finally:
        client.cancel(futures)


def _lost_worker_message(exc):
    worker = getattr(exc, "last_worker", None)
    where = getattr(worker, "address", None) or "a worker process"
    return (f"{where} died while running part of an mcglmm evaluation, and the backend did not "
            f"re-run it ({type(exc).__name__}: {exc}). No partial sum was used. Re-run the fit "
            "(a fixed seed gives the identical result on any backend), or, on a dask cluster, "
            "allow re-runs with the setting distributed.scheduler.allowed-failures.")


def run_ordered(func, tasks, n_jobs, on_done=None):
    """[func(*t) for t in tasks], spread over ``n_jobs`` workers, results in task order.

    Every task runs with single-threaded BLAS, wherever it runs: the parallelism is
    ours, and some BLAS kernels (triangular solves) round differently with more
    threads.  The limit is also held around the whole call, because OpenBLAS's
    thread count is global to the process: a thread leaving its own limit must
    not restore more threads under another that is still working.
    ``on_done()`` is called as each result arrives (for progress bars).
    """
    out = []
    with single_threaded_blas():
        for result in _results(func, list(tasks), n_jobs):
            out.append(result)
            if on_done is not None:
                on_done()
    return out


def split_evenly(items, parts):
    """Cut a list into at most ``parts`` consecutive runs of near-equal length."""
    items = list(items)
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for i in range(parts):
        stop = start + size + (i < extra)
        out.append(items[start:stop])
        start = stop
    return out


def effective_jobs(n_jobs):
    """The number of workers joblib would use for ``n_jobs``."""
    return joblib.effective_n_jobs(n_jobs)


@lru_cache(maxsize=1)
def _controller():
    return ThreadpoolController()


@contextmanager
def single_threaded_blas():
    """BLAS on one thread inside a block of work that is parallel at a higher level.

    Measured on a 2-core machine: OpenBLAS's own threads make the thin products of
    the MCLA (4 x 360 by 360 x 1024) 35 times slower (15.8 ms against 0.45 ms).
    """
    with _controller().limit(limits=1, user_api="blas"):
        yield
