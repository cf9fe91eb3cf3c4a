"""Synchronous (minibatch) aggregation (methods.md §3).

Every worker computes exactly b gradients (b = ``per_worker``, default 1) and idles; the
round ends when all n have; g = (1/(n b)) Σ_i ḡ_i. The round lasts max_i (b τ_i)
(timing-theory.md, prediction 4). The batch M of the method is ignored: one round uses
n·b gradients.
"""

from __future__ import annotations

import numpy as np

from .base import CONTINUE, DONE, IDLE, Aggregation, row_mean


def done(counts: np.ndarray, b: int = 1) -> bool:
    return bool(np.all(np.asarray(counts) >= b))


combine = row_mean  # g = (1/Σ_i M_i) Σ_{i,j} g_ij (base.py)


class Tracker:
    __slots__ = ("b", "counts", "finished", "n")

    def __init__(self, n: int, b: int = 1):
        self.n, self.b, self.counts, self.finished = n, b, [0] * n, 0

    def add(self, i: int) -> int:
        self.counts[i] += 1
        if self.counts[i] < self.b:
            return CONTINUE
        self.finished += 1
        return DONE if self.finished == self.n else IDLE


SYNCHRONOUS = Aggregation("synchronous", done, combine, Tracker)
