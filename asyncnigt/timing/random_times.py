"""Round times with random computation times (``reference/timing-theory.md``, prediction 8).

With i.i.d. random durations the round times of the fixed-time closed forms
(:mod:`asyncnigt.timing.theory`) become random variables. This module predicts them
*without* the emulator, from the duration models alone (``timing/durations.py``: any
stationary model with ``sample(rng, now, size)``, ``mean`` and ``var``):

* exact results for exponential times and renewal-theory limits, and
* Monte Carlo samplers, independent numpy re-implementations of one round of each
  aggregation (cancel semantics: every round restarts all workers, so rounds are i.i.d.).

Use them to test the emulator within central-limit tolerances: the mean of K measured
rounds minus the mean of R Monte Carlo rounds, divided by
√(s²_measured/K + s²_mc/R), is approximately standard normal.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

__all__ = [
    "async_rate_renewal",
    "async_count_var_renewal",
    "rennala_round_mean_exponential",
    "rennala_round_var_exponential",
    "sample_rennala_round",
    "sample_malenia_round",
    "sample_synchronous_round",
]


def _models(models: Sequence) -> list:
    models = list(models)
    if not models:
        raise ValueError("need one duration model per worker")
    for i, m in enumerate(models):
        if not getattr(m, "stationary", False) or getattr(m, "mode", "resample") == "replay":
            raise ValueError(f"worker {i}: only stationary i.i.d. duration models are supported")
    return models


def _positive_int(x, name: str) -> int:
    if isinstance(x, bool) or int(x) != x or x < 1:
        raise ValueError(f"{name} must be a positive integer, got {x!r}")
    return int(x)


def _exponential_rates(means) -> np.ndarray:
    m = np.asarray(means, dtype=float)
    if m.ndim != 1 or m.size == 0 or not np.all(np.isfinite(m)) or np.any(m <= 0):
        raise ValueError("means must be a non-empty 1-D array of finite values > 0")
    return 1.0 / m


# ------------------------------------------------------------------ exact and limits


def async_rate_renewal(models: Sequence) -> float:
    """Long-run update rate of asynchronous SGD, Σ_i 1/E[X_i] (elementary renewal theorem;
    with fixed times it is TT prediction 1's Σ_i 1/τ_i)."""
    return float(sum(1.0 / m.mean for m in _models(models)))


def async_count_var_renewal(models: Sequence, t: float) -> float:
    """Asymptotic variance of the number of arrivals by time t, t Σ_i Var X_i / E[X_i]³
    (renewal central limit theorem; independent workers). For exponential times it is the
    Poisson variance t Σ_i λ_i (TT prediction 8)."""
    return float(t * sum(m.var / m.mean**3 for m in _models(models)))


def rennala_round_mean_exponential(means, S) -> float:
    """E[T_R(S)] = S / Σ_i λ_i for exponential times with rates λ_i = 1/means_i.

    Memorylessness makes the merged completions a Poisson process of rate Σ λ_i whatever
    the restarts, so a Rennala round (cancel or ignore semantics) is Gamma(S, Σ λ_i)
    (TT prediction 8)."""
    return _positive_int(S, "S") / float(np.sum(_exponential_rates(means)))


def rennala_round_var_exponential(means, S) -> float:
    """Var T_R(S) = S / (Σ_i λ_i)², the variance of the Gamma(S, Σ λ_i) round time."""
    return _positive_int(S, "S") / float(np.sum(_exponential_rates(means))) ** 2


# ------------------------------------------------------------------------ Monte Carlo


def _malenia_done(inv_sum: float, counts: np.ndarray, n: int, S: int) -> bool:
    """Σ_i 1/M_i ≤ n²/S given the running float sum; decided in rational arithmetic
    when the float sum is within 1e-9 of the bound (equality is common: counts are
    integers)."""
    bound = n * n / S
    if abs(inv_sum - bound) > 1e-9 * bound:
        return inv_sum < bound
    exact = sum((Fraction(1, int(c)) for c in counts), Fraction(0))
    return exact <= Fraction(n * n, S)


def sample_rennala_round(models: Sequence, S, rng: np.random.Generator, reps: int
                         ) -> np.ndarray:
    """``reps`` independent Rennala round times (cancel semantics, stop at ≥ S): the S-th
    smallest of the completion times X_i1 + … + X_ij over workers i and j ≥ 1.

    Worker i never contributes more than S completions, so S draws per worker suffice.
    Memory O(reps · n · S)."""
    models = _models(models)
    S, reps = _positive_int(S, "S"), _positive_int(reps, "reps")
    ends = np.concatenate(
        [np.cumsum(np.asarray(m.sample(rng, 0.0, (reps, S)), dtype=float), axis=1)
         for m in models], axis=1)
    return np.partition(ends, S - 1, axis=1)[:, S - 1]


def sample_synchronous_round(models: Sequence, rng: np.random.Generator, reps: int,
                             b: int = 1) -> np.ndarray:
    """``reps`` independent minibatch round times max_i (X_i1 + … + X_ib) (TT prediction 4,
    computation only)."""
    models = _models(models)
    reps, b = _positive_int(reps, "reps"), _positive_int(b, "b")
    totals = np.stack([np.asarray(m.sample(rng, 0.0, (reps, b)), dtype=float).sum(axis=1)
                       for m in models], axis=1)
    return totals.max(axis=1)


def sample_malenia_round(models: Sequence, S, rng: np.random.Generator, reps: int,
                         block: int = 64) -> np.ndarray:
    """``reps`` independent Malenia round times (cancel semantics): the first completion at
    which every worker has M_i ≥ 1 and Σ_i 1/M_i ≤ n²/S (TT prediction 5; methods.md §3).

    An event loop over the merged completions (a heap of the workers' next completions);
    durations are drawn ``block`` at a time per worker. Cost O(reps · arrivals · log n).
    """
    models = _models(models)
    S, reps = _positive_int(S, "S"), _positive_int(reps, "reps")
    n = len(models)
    out = np.empty(reps)
    for r in range(reps):
        buffers = [np.asarray(m.sample(rng, 0.0, block), dtype=float) for m in models]
        used = [0] * n
        counts = np.zeros(n, dtype=np.int64)
        missing, inv_sum = n, 0.0
        heap = []
        for i in range(n):
            heap.append((buffers[i][0], i))
            used[i] = 1
        heapq.heapify(heap)
        while True:
            t, i = heapq.heappop(heap)
            if counts[i] == 0:
                missing -= 1
            else:
                inv_sum -= 1.0 / counts[i]
            counts[i] += 1
            inv_sum += 1.0 / counts[i]
            if missing == 0 and _malenia_done(inv_sum, counts, n, S):
                out[r] = t
                break
            if used[i] == buffers[i].size:
                buffers[i] = np.asarray(models[i].sample(rng, 0.0, block), dtype=float)
                used[i] = 0
            heapq.heappush(heap, (t + buffers[i][used[i]], i))
            used[i] += 1
    return out
