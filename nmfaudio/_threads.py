"""Threading policy, in one place.

nmfaudio runs a few single-process paths on worker threads: the NMF worker threads
(``nmf(n_threads="auto")``, β ≠ 2 and the Euclidean split), the threaded supervised
solve, and the threaded long STFT / inverse STFT. Each asks :func:`max_threads` how many
threads it may use: the usable cores (the process's affinity mask), at most
:data:`DEFAULT_CAP` (2, measured on 2 vCPUs), and at most the cap that a batch worker
sets with :func:`single_core` (1: a process pool or Dask cluster already uses the cores).
"""

from __future__ import annotations

import contextlib
import os
import threading

#: Most threads any single-process path uses (measured: no gain past 2 on 2 vCPUs).
DEFAULT_CAP = 2
_cap = DEFAULT_CAP


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def max_threads() -> int:
    """Threads a single-process path may use now: usable cores, at most the current cap."""
    return max(1, min(_cap, usable_cores()))


def set_cap(n: int) -> None:
    """Set the process-wide cap (batch pool and Dask workers set 1 once, at start-up)."""
    global _cap
    _cap = max(1, int(n))


@contextlib.contextmanager
def single_core():
    """Context in which every threaded path runs on one thread (the cap restored after)."""
    old = _cap
    set_cap(1)
    try:
        yield
    finally:
        set_cap(old)


_CONTROLLER = None
#: The BLAS thread limit set by the innermost open :func:`blas_threads` context (None: none).
_ACTIVE_LIMIT = None
_POOLS = {}
_POOLS_LOCK = threading.Lock()


def shared_pool(n_workers):
    """A process-wide pool of ``n_workers`` threads for the engines' frame blocks: starting
    threads for every solve cost ~5 ms each, which the many small solves of a stream felt.
    Tasks never submit to the pool themselves, so callers in several threads only queue."""
    with _POOLS_LOCK:
        pool = _POOLS.get(n_workers)
        if pool is None:
            from concurrent.futures import ThreadPoolExecutor

            pool = _POOLS[n_workers] = ThreadPoolExecutor(n_workers, thread_name_prefix="nmfaudio-mu")
        return pool


def blas_threads(n_threads):
    """Context limiting the BLAS threads (None: leave as configured). Inside a context that
    already set this limit it does nothing (threadpoolctl costs a few ms per call)."""
    global _CONTROLLER
    if n_threads is None or n_threads == _ACTIVE_LIMIT:
        return contextlib.nullcontext()
    if _CONTROLLER is None:
        # the BLAS libraries loaded now are limited (numpy's): the engines call no scipy BLAS, so
        # scipy's own copy, if it loads later, is left as it is (importing it here cost ~0.15 s)
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _limited(n_threads)


@contextlib.contextmanager
def _limited(n_threads):
    global _ACTIVE_LIMIT
    previous = _ACTIVE_LIMIT
    with _CONTROLLER.limit(limits=n_threads, user_api="blas"):
        _ACTIVE_LIMIT = n_threads
        try:
            yield
        finally:
            _ACTIVE_LIMIT = previous
