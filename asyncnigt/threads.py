"""How many threads a process uses.

* ``default_threads()``: the gym oracle's default ``threads`` (environment stepping and
  parts of the backward pass): one per core, or ``ASYNCNIGT_THREADS``, which a parallel
  sweep sets to the cores divided by its processes (:mod:`asyncnigt.sweep.execute`);
* ``single_threaded_blas()``: a simulation runs with BLAS (numpy's OpenBLAS) limited to
  one thread.

Results never depend on either: they are speed choices. Measured on 2 cores
(Humanoid-v5, n = 100, rennala_nigt, per-step timing, two seeds): one process 31.5 s with
OpenBLAS's own threads against 26.9–29.5 s with one; two processes 31.8 s, 21.6 s with
one BLAS thread each, 19.0–20.2 s with also one oracle thread each. OpenBLAS's threads
only spin against the explicit parallelism; one thread also makes the products
independent of the machine's core count.
"""

from __future__ import annotations

import os

from threadpoolctl import ThreadpoolController

THREADS_VARIABLE = "ASYNCNIGT_THREADS"

_blas = None  # the process's BLAS thread pools, found on first use


def cores() -> int:
    """The machine's cores (at least 1)."""
    return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """One per core, or the value of ``ASYNCNIGT_THREADS`` when it is a positive integer."""
    value = os.environ.get(THREADS_VARIABLE, "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    return cores()


def single_threaded_blas():
    """Context in which BLAS libraries use one thread (restored on exit)."""
    global _blas
    if _blas is None:
        _blas = ThreadpoolController()
    return _blas.limit(limits=1, user_api="blas")
