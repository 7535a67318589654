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
