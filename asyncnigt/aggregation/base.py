"""The aggregation interface.

``done(counts, M) -> bool`` and ``combine(grads, counts) -> g`` are pure functions of the
per-worker gradient counts M_i (shape (n,), zeros for workers that contributed nothing)
and the round's gradients g_ij, given as rows grouped by worker (shape (Σ_i M_i, d): the
M_0 rows of worker 0, then worker 1's, and so on).
:func:`worker_sums` gives the per-worker sums ḡ_i = Σ_j g_ij.
``tracker(n, M)`` builds a mutable O(1)-per-arrival object whose ``add(i)`` returns

* ``CONTINUE``: worker i starts another gradient at the same query point;
* ``IDLE``: worker i has done its share and waits for the round's end;
* ``DONE``: this arrival completes the round.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

CONTINUE, IDLE, DONE = 0, 1, 2


def row_sum(grads: np.ndarray) -> np.ndarray:
    """Σ of the rows of ``grads`` (shape (m, d)), bit-identical to ``grads.sum(axis=0)``
    (which adds C-contiguous rows one after another when d ≥ 2, and pairwise when d = 1):
    ``np.einsum`` for a C-contiguous array with d ≥ 2 (the same additions, 2-4× faster for
    small d; tested), otherwise ``grads.sum(axis=0)`` itself."""
    if grads.ndim == 2 and grads.shape[1] > 1 and grads.flags.c_contiguous:
        return np.einsum("ij->j", grads)
    return grads.sum(axis=0)


def row_mean(grads: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """g = (1/Σ_i M_i) Σ_{i,j} g_ij: the plain mean of the rows ``grads`` (there are
    Σ_i M_i of them), summed with :func:`row_sum` (Rennala's and synchronous ``combine``)."""
    return row_sum(grads) / len(grads)


def worker_sums(grads: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """ḡ_i = Σ_j g_ij of the contributing workers (those with M_i ≥ 1, in order), (n', d),
    from the rows ``grads`` grouped by worker (``np.add.reduceat``: a fixed order of
    additions per worker, not necessarily the rows' order)."""
    counts = np.asarray(counts, dtype=np.int64)
    counts = counts[counts > 0]
    return np.add.reduceat(grads, np.cumsum(counts) - counts, axis=0)


class Aggregation(NamedTuple):
    name: str
    done: Callable[[np.ndarray, int], bool]
    combine: Callable[[np.ndarray, np.ndarray], np.ndarray]
    tracker: Callable[[int, int], object]
