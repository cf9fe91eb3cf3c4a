"""Malenia aggregation (Tyurin & Richtárik 2023, Alg. Malenia SGD; methods.md §3).

Stop when every M_i ≥ 1 and ((1/n) Σ_i 1/M_i)^{-1} ≥ M/n, i.e. Σ_i 1/M_i ≤ n²/M; return
the equal-weight mean of per-worker means g = (1/n) Σ_i ḡ_i / M_i, which is unbiased for
∇f = (1/n) Σ_i ∇f_i when workers have different objectives.

The stop rule is decided exactly: in floats when the two sides differ by more than 1e-9
(relative), otherwise in rational arithmetic. Equality is common (all M_i = M/n, e.g. with
equal computation times), and floats alone would then miss the stop, e.g. M_i = 5 for
n = 3 and M = 15 (3·fl(1/5) > fl(9/15)), making the round one gradient longer.
"""

from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction

import numpy as np

from .base import CONTINUE, DONE, Aggregation, worker_sums


def _harmonic_ok(inverse_sum: float, counts, n: int, M: int) -> bool:
    """Σ_i 1/M_i ≤ n²/M given its float value ``inverse_sum`` and the counts (all ≥ 1)."""
    rhs = n * n / M
    if abs(inverse_sum - rhs) > 1e-9 * rhs:
        return inverse_sum < rhs
    exact = sum((Fraction(k, c) for c, k in Counter(counts).items()), Fraction(0))
    return exact <= Fraction(n * n, M)


def done(counts: np.ndarray, M: int) -> bool:
    counts = np.asarray(counts)
    if np.any(counts < 1):
        return False
    values = [int(c) for c in counts.tolist()]
    return _harmonic_ok(math.fsum(1.0 / c for c in values), values, len(values), M)


def combine(grads: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """g = (1/n) Σ_i ḡ_i / M_i over the rows ``grads`` grouped by worker (``base.py``);
    every worker contributes when the stop rule holds (n' = n)."""
    counts = np.asarray(counts, dtype=float)
    return np.mean(worker_sums(grads, counts) / counts[counts > 0, None], axis=0)


class Tracker:
    """Keeps Σ 1/M_i incrementally; near the threshold it re-checks with :func:`done`'s
    exact sum so that the tracker and the pure rule always agree."""

    __slots__ = ("n", "M", "counts", "zeros", "inverse_sum")

    def __init__(self, n: int, M: int):
        self.n, self.M = n, M
        self.counts = [0] * n
        self.zeros = n
        self.inverse_sum = 0.0

    def add(self, i: int) -> int:
        m = self.counts[i]
        self.counts[i] = m + 1
        if m == 0:
            self.zeros -= 1
            self.inverse_sum += 1.0
        else:
            self.inverse_sum += 1.0 / (m + 1) - 1.0 / m
        if self.zeros:
            return CONTINUE
        if self.inverse_sum > (self.n * self.n / self.M) * (1 + 1e-9):
            return CONTINUE
        self.inverse_sum = math.fsum(1.0 / c for c in self.counts)
        return DONE if _harmonic_ok(self.inverse_sum, self.counts, self.n, self.M) else CONTINUE


MALENIA = Aggregation("malenia", done, combine, Tracker)
