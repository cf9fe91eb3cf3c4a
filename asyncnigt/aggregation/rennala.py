"""Rennala aggregation (Tyurin & Richtárik 2023, Alg. Rennala SGD; methods.md §3).

Stop as soon as Σ_i M_i ≥ M (asyncnigt uses "≥ M", i.e. exactly M gradients per round;
the SGD paper writes "> S") and return the count-weighted mean g = (1/M) Σ_i ḡ_i, i.e. the
plain mean of the round's M gradients (summed over the rows with ``base.row_sum``: the
per-worker sums are never needed).
"""

from __future__ import annotations

import numpy as np

from .base import CONTINUE, DONE, Aggregation, row_mean


def done(counts: np.ndarray, M: int) -> bool:
    return int(np.sum(counts)) >= M


combine = row_mean  # g = (1/Σ_i M_i) Σ_{i,j} g_ij (base.py)


class Tracker:
    __slots__ = ("M", "total", "counts")

    def __init__(self, n: int, M: int):
        self.M, self.total, self.counts = M, 0, [0] * n

    def add(self, i: int) -> int:
        self.counts[i] += 1
        self.total += 1
        return DONE if self.total >= self.M else CONTINUE


RENNALA = Aggregation("rennala", done, combine, Tracker)
