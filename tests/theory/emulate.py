"""Helpers of the theory tier: run the emulator, independent Monte-Carlo, test statistics.

Emulator runs go through :func:`asyncnigt.runner.run_method` exactly as the runner does
(``conftest.run_doc``); :func:`emulate` also returns the per-worker gradient counts.
The Monte-Carlo functions are a *second, independent* implementation of the round
definitions of reference/timing-theory.md in plain numpy (no import from ``asyncnigt``):
a Rennala round under cancel semantics is the S-th smallest partial sum
C_ij = X_i1 + … + X_ij over workers i and j ≥ 1 (every worker restarts at the round start
with fresh i.i.d. durations X), a synchronous round is max_i (X_i1 + … + X_ib).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from asyncnigt.build import build_run
from asyncnigt.runner import run_method
from asyncnigt.scenario import parse_scenario

REL = 1e-9


@dataclass
class Emulated:
    """One method's run: update times (row 0 excluded), counters and per-worker counts."""

    times: np.ndarray
    rows: list[dict]
    per_worker: np.ndarray  # gradients each worker contributed to updates
    events: list[tuple]

    def column(self, name: str) -> np.ndarray:
        return np.array([r[name] for r in self.rows], dtype=float)

    @property
    def rounds(self) -> np.ndarray:
        """Durations t_k − t_{k−1} of the updates (t_0 = 0)."""
        return np.diff(np.r_[0.0, self.times])


def emulate(doc: dict, index: int = 0) -> Emulated:
    """Validate the scenario document ``doc`` and run its method ``index``."""
    scenario = parse_scenario(copy.deepcopy(doc))
    streams, problem, theta0 = build_run(scenario)
    result = run_method(scenario, scenario.methods[index], problem, streams, theta0)
    assert result.status == "ok", result.message
    rows = [dict(zip(result.columns, r, strict=False)) for r in result.rows]
    times = np.array([r["time"] for r in rows[1:]], dtype=float)
    per_worker = np.asarray(result.extra["gradients_per_worker"], dtype=np.int64)
    return Emulated(times, rows, per_worker, list(result.events or []))


def doc(compute, method, *, n=None, stop=None, comm=None, seed=0, events=0) -> dict:
    """A minimal scenario document on a cheap noiseless quadratic, evaluated only at the end.

    ``compute``: a list of fixed times or a compute mapping (then ``n`` is required).
    """
    if isinstance(compute, (list, tuple, np.ndarray)):
        compute = {"times": [float(t) for t in compute]}
        n = len(compute["times"])
    out = {
        "name": "theory", "seed": seed,
        "workers": {"n": int(n), "compute": copy.deepcopy(compute)},
        "problem": {"kind": "quadratic", "dim": 1},
        "methods": [method if isinstance(method, dict) else {"name": method}],
        "stop": stop or {"updates": 3},
        "evaluation": {"every": 10**9},
    }
    if comm is not None:
        out["workers"]["comm"] = copy.deepcopy(comm)
    if events:
        out["output"] = {"events": events}
    return out


def primes(count: int) -> np.ndarray:
    """The first ``count`` primes (sieve)."""
    limit = max(16, int(count * (math.log(count + 2) + math.log(math.log(count + 3))) + 10))
    sieve = np.ones(limit + 1, dtype=bool)
    sieve[:2] = False
    for p in range(2, int(limit**0.5) + 1):
        if sieve[p]:
            sieve[p * p::p] = False
    return np.flatnonzero(sieve)[:count]


def sqrt_prime_times(n: int, scale: float, seed: int) -> np.ndarray:
    """τ = scale·√p for the first n primes, shuffled: pairwise incommensurable, so no two
    completions j·τ_i, k·τ_l (i ≠ l) coincide in exact arithmetic (no ties)."""
    tau = scale * np.sqrt(primes(n).astype(float))
    return tau[np.random.default_rng(seed).permutation(n)]


# ------------------------------------------------------------------ Monte-Carlo


def mc_rennala_rounds(sample, n: int, S: int, M: int, J: int | None = None,
                      chunk: int = 2000) -> np.ndarray:
    """M independent Rennala round times (cancel semantics, no communication).

    ``sample(shape)`` draws i.i.d. durations of shape (m, n, J) (worker axis 1), in chunks
    of m ≤ ``chunk`` rounds. A worker contributes at most S gradients to a round, so
    J = S partial sums per worker always suffice; a smaller J is checked (every worker's
    J-th partial sum must come after the round's end).
    """
    J = S if J is None else min(J, S)
    out = []
    for start in range(0, M, chunk):
        m = min(chunk, M - start)
        C = np.cumsum(sample((m, n, J)), axis=2)
        R = np.partition(C.reshape(m, n * J), S - 1, axis=1)[:, S - 1]
        if J < S and np.any(C[:, :, -1] <= R[:, None]):
            raise AssertionError("J too small for a Rennala round")
        out.append(R)
    return np.concatenate(out)


def mc_synchronous_rounds(sample, n: int, b: int, M: int) -> np.ndarray:
    """M independent synchronous round times max_i (X_i1 + … + X_ib)."""
    return sample((M, n, b)).sum(axis=2).max(axis=1)


def mc_malenia_rounds(sample, n: int, S: int, M: int, J: int) -> np.ndarray:
    """M independent Malenia round times (cancel semantics): the first completion time at
    which every M_i ≥ 1 and Σ_i 1/M_i ≤ n²/S. Near equality (1e-9) the stop rule is
    decided in rationals. ``J`` partial sums per worker; raises if J was too small."""
    from fractions import Fraction

    C = np.cumsum(sample((M, n, J)), axis=2)
    out = np.empty(M)
    j = np.broadcast_to(np.arange(1, J + 1), (n, J)).ravel()
    inc = np.where(j == 1, 1.0, 1.0 / j - 1.0 / np.maximum(j - 1, 1))
    rhs = n * n / S
    for s in range(M):
        times = C[s].ravel()
        order = np.argsort(times, kind="stable")
        zeros = n - np.cumsum(j[order] == 1)
        inv = np.cumsum(inc[order])
        for k in np.flatnonzero((zeros == 0) & (inv <= rhs * (1 + 1e-9))):
            if inv[k] < rhs * (1 - 1e-9):
                break
            counts = np.bincount(order[: k + 1] // J, minlength=n)
            if sum(Fraction(1, int(m)) for m in counts) <= Fraction(n * n, S):
                break
        else:
            raise AssertionError("J too small for a Malenia round")
        if np.any(C[s, :, -1] <= times[order[k]]):
            raise AssertionError("J too small: a worker may have more completions")
        out[s] = times[order[k]]
    return out


# ------------------------------------------------------------------ statistics


def two_sided_p(z: float) -> float:
    """P(|N(0,1)| > z)."""
    return math.erfc(z / math.sqrt(2.0))


def wilson_hilferty(chi2: float, k: int) -> float:
    """The N(0,1) score of a χ²_k statistic (Wilson–Hilferty cube-root transform)."""
    return ((chi2 / k) ** (1 / 3) - (1 - 2 / (9 * k))) / math.sqrt(2 / (9 * k))


def welch_z(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(mean(a) − mean(b)) / SE with SE² = s_a²/|a| + s_b²/|b|; returns (z, SE).

    Both samples i.i.d. and large: by the CLT z ≈ N(0, 1) when the means are equal."""
    se = math.sqrt(np.var(a, ddof=1) / a.size + np.var(b, ddof=1) / b.size)
    return float((np.mean(a) - np.mean(b)) / se), se
