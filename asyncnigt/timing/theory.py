"""Closed forms of the fixed (and universal) computation model, in pure numpy.

Every function cites its source, a prediction number of ``reference/timing-theory.md``
("TT"); the methods' time complexities (``reference/methods.md`` §6) are in
:mod:`asyncnigt.timing.complexity`. Conventions (TT):

- worker i needs exactly ``tau[i]`` seconds per stochastic gradient, all workers start idle
  at t = 0, server computation and communication take 0 s unless a function says otherwise;
- ``tau`` may be given in any order; functions sort internally where the formula asks for
  sorted times, and worker indices in results always refer to the order given;
- a "round" stops at the first time at least ``S`` gradients are available ("≥ S").

Floating point. The multiset of completion times {j·τ_i : i ∈ [n], j ≥ 1} is computed as
products ``j * tau[i]`` (one rounding each), and counts N_i(t) = #{j ≥ 1 : j·τ_i ≤ t} are
computed *consistently with those products* (⌊t/τ_i⌋ corrected by ±1), so that e.g.
``async_arrivals(tau, async_arrival_times(tau, K)[-1]) >= K`` holds exactly. A simulator that
schedules ``now + τ_i`` after every completion computes the repeated sum τ_i + τ_i + … instead,
which can differ from the product in the last ulps; ``accumulate=True`` (where offered)
reproduces repeated sums. Otherwise compare emulator times with these closed forms using a
relative tolerance such as 1e-9.

Ties. Simultaneous completions are ordered by worker index (the order given), then by j.
Tests should use distinct, irrational-looking τ_i so that no result depends on this rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from . import arguments

__all__ = [
    "Equilibrium",
    "RennalaBracket",
    "equilibrium_time",
    "optimal_workers",
    "equilibrium_time_with_comm",
    "async_rate",
    "async_arrivals",
    "async_arrival_times",
    "rennala_round_time",
    "rennala_round_counts",
    "rennala_round_ends",
    "rennala_round_time_ignore_bound",
    "rennala_bracket",
    "malenia_round_time",
    "malenia_round_counts",
    "malenia_round_upper_bound",
    "synchronous_round_time",
    "universal_round_ends",
]


class Equilibrium(NamedTuple):
    """An equilibrium time t* with the number m of workers it uses and their indices."""

    time: float
    m: int
    workers: np.ndarray


class RennalaBracket(NamedTuple):
    """t*(S) ≤ T_R(S) ≤ 2 t*(S) and T_R(S) ≤ bound = (Σ_{i≤m} 1/τ_(i))^{-1} (S + m)."""

    lower: float
    upper: float
    bound: float
    m: int


# ------------------------------------------------------------------ equilibrium time


def _equilibrium(order: np.ndarray, gate: np.ndarray, tau: np.ndarray, S: float):
    """min_k max{gate_(k), S (Σ_{i≤k} 1/τ_(i))^{-1}} along ``order``."""
    values = np.maximum(gate[order], S / np.cumsum(1.0 / tau[order]))
    k = int(np.argmin(values))
    return Equilibrium(float(values[k]), k + 1, order[: k + 1].copy())


def equilibrium_time(tau, S) -> Equilibrium:
    """Equilibrium time t*(S) = min_k max{τ_(k), S (Σ_{i≤k} 1/τ_(i))^{-1}} over sorted τ.

    Source: TT "Equilibrium time" (Tyurin & Richtárik 2023). Returns ``Equilibrium(time, m,
    workers)``: m is the smallest minimizing k and ``workers`` the indices of the m fastest
    workers (stable order for equal τ). S may be any positive real.
    """
    tau = arguments.times(tau)
    S = arguments.pos_real(S, "S")
    return _equilibrium(np.argsort(tau, kind="stable"), tau, tau, S)


def optimal_workers(tau, S) -> int:
    """m* = the minimizing k of :func:`equilibrium_time` (TT "Equilibrium time")."""
    return equilibrium_time(tau, S).m


def equilibrium_time_with_comm(tau, c, S) -> Equilibrium:
    """t*(S, τ, c) = min_k max{max(c_{π_k}, τ_{π_k}), S (Σ_{i≤k} 1/τ_{π_i})^{-1}}.

    π sorts max{c_i, τ_i} ascending (stable). Source: TT "Equilibrium time", with
    communication (decentralized paper, Definition 2). ``c`` are per-worker round-trip times
    (scalar or length n, ≥ 0). Returns ``Equilibrium(time, m, workers=π[:m])``.
    """
    tau = arguments.times(tau)
    c = arguments.nonneg(c, tau.size, "c")
    S = arguments.pos_real(S, "S")
    gate = np.maximum(c, tau)
    return _equilibrium(np.argsort(gate, kind="stable"), gate, tau, S)


# ------------------------------------------------- the multiset {j τ_i} and its counts


def _counts(t, tau: np.ndarray) -> np.ndarray:
    """#{j ≥ 1 : fl(j·τ_i) ≤ t} per worker, shape t.shape + (n,).

    ⌊t/τ_i⌋ is off by at most one from the product-consistent count; fix it both ways
    (fl(j·τ) is non-decreasing in j, so one step each way suffices).
    """
    t = np.asarray(t, dtype=float)[..., None]
    j = np.floor(t / tau)
    j = j + ((j + 1) * tau <= t)
    j = j - ((j >= 1) & (j * tau > t))
    return j.astype(np.int64)


def _smallest(tau: np.ndarray, K: int, *, first: int = 1, start: float = 0.0,
              accumulate: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The K smallest elements of {start + j·τ_i : i, j ≥ first}, sorted, with their workers.

    Candidates are only the j with j·τ_i ≤ t_hi (+1 per worker), where
    t_hi = min_m (K + first·m) / Σ_{i≤m} 1/τ_(i) guarantees Σ_i #{j ≥ first : jτ_i ≤ t_hi} > K.
    At the minimizing m every slower worker has τ_i ≥ t_hi/first and contributes at most two
    candidates, so there are ≤ K + O(n) of them: memory and time O((K + n) log(K + n)),
    no array of size n·K.
    With ``accumulate`` the values are repeated sums ((start + τ_i) + τ_i) + … instead of
    start + j·τ_i.
    """
    n = tau.size
    inv = np.cumsum(1.0 / np.sort(tau))
    m = np.arange(1, n + 1)
    t_hi = float(np.min((K + first * m) / inv)) * (1.0 + 1e-9)
    while True:
        last = np.minimum(np.floor(t_hi / tau) + 1, K + first - 1).astype(np.int64)
        count = np.maximum(last - first + 1, 0)
        workers = np.repeat(np.arange(n), count)
        offsets = np.cumsum(count) - count
        j = np.arange(workers.size) - np.repeat(offsets, count) + first
        if accumulate:
            times = np.empty(workers.size)
            for i in np.flatnonzero(count):
                steps = np.full(last[i] + 1, tau[i])
                steps[0] = start
                times[offsets[i]: offsets[i] + count[i]] = np.cumsum(steps)[first:]
        else:
            times = start + j * tau[workers]  # 0.0 + x == x exactly
        if np.count_nonzero(times <= start + t_hi) >= K:
            break
        t_hi *= 2.0  # only reachable through pathological rounding; keeps the result exact
    idx = np.argsort(times, kind="stable")[:K]  # stable: ties by worker index, then j
    return times[idx], workers[idx]


def async_rate(tau) -> float:
    """Long-run arrival rate of asynchronous SGD, Σ_i 1/τ_i (TT prediction 1)."""
    return float(np.sum(1.0 / arguments.times(tau)))


def async_arrivals(tau, t) -> np.ndarray | int:
    """N(t) = Σ_i ⌊t/τ_i⌋, gradients arrived by time t without stops (TT prediction 1).

    Vectorized over ``t`` (any shape, t ≥ 0); returns integers of t's shape. The floor is
    evaluated consistently with the products j·τ_i of :func:`async_arrival_times`.
    Memory O(t.size · n).
    """
    tau = arguments.times(tau)
    t_arr = np.asarray(t, dtype=float)
    if not np.all(np.isfinite(t_arr)) or np.any(t_arr < 0):
        raise ValueError("t must be finite and >= 0")
    N = _counts(t_arr, tau).sum(axis=-1)
    return int(N) if N.ndim == 0 else N


def async_arrival_times(tau, K, *, accumulate: bool = False, return_workers: bool = False):
    """The K first update times of asynchronous SGD: the K smallest elements of the multiset
    {j·τ_i : i ∈ [n], j ≥ 1} (TT prediction 1), sorted ascending.

    With ``return_workers`` also returns the worker of each arrival (ties by worker index).
    ``accumulate=True`` computes j·τ_i as the repeated sum τ_i + … + τ_i (see module notes).
    Time O((K + n) log(K + n)): n = 10^4, K = 10^5 take a few ms.
    """
    tau = arguments.times(tau)
    K = arguments.pos_int(K, "K")
    times, workers = _smallest(tau, K, accumulate=accumulate)
    return (times, workers) if return_workers else times


# ----------------------------------------------------------------------------- Rennala


def rennala_round_time(tau, S, *, accumulate: bool = False) -> float:
    """T_R(S) = min{t : Σ_i ⌊t/τ_i⌋ ≥ S}, a Rennala round with cancel semantics (TT prediction 2).

    Computed exactly as the S-th smallest element of {j·τ_i : j ≥ 1} (no bisection on t).
    ``accumulate=True``: elements as repeated sums τ_i + τ_i + … (what a simulator that
    restarts workers at time 0 and adds τ_i after each completion computes).
    """
    tau = arguments.times(tau)
    S = arguments.pos_int(S, "S")
    return float(_smallest(tau, S, accumulate=accumulate)[0][-1])


def rennala_round_counts(tau, S, *, accumulate: bool = False) -> np.ndarray:
    """Per-worker gradient counts M_i of one Rennala round (TT prediction 2).

    The counts of the S smallest elements of {j·τ_i}; they equal ⌊T_R(S)/τ_i⌋ when no other
    completion ties with T_R(S), and always sum to exactly S (ties go to the lower worker
    index, as documented in the module notes). ``accumulate=True``: of the repeated sums
    (τ_i + τ_i) + … instead, i.e. the workers a simulator computing ``now + τ_i`` credits
    in a round starting at 0. The two can differ near a tie: for τ = (0.1, 0.3) and S = 7
    the products are 6·0.1 = 0.6000000000000001 > 2·0.3 = 0.6, giving (5, 2), while the
    sums tie at 0.6 and the tie goes to worker 0, giving (6, 1).
    """
    tau = arguments.times(tau)
    S = arguments.pos_int(S, "S")
    return np.bincount(_smallest(tau, S, accumulate=accumulate)[1], minlength=tau.size)


def rennala_round_ends(tau, S, K, *, accumulate: bool = False) -> np.ndarray:
    """End times t̄_1..t̄_K of K consecutive Rennala rounds, cancel semantics (TT prediction 2).

    Every round restarts all workers, so t̄_k = k·T_R(S) exactly. Default: the products
    k·T_R(S). ``accumulate=True``: round k is the S-th smallest of the repeated sums
    ((t̄_{k−1} + τ_i) + τ_i) + …, i.e. what a simulator computing ``now + τ_i`` yields.
    """
    tau = arguments.times(tau)
    S = arguments.pos_int(S, "S")
    K = arguments.pos_int(K, "K")
    if not accumulate:
        return np.arange(1, K + 1) * rennala_round_time(tau, S)
    ends = np.empty(K)
    t_bar = 0.0
    for k in range(K):
        t_bar = float(_smallest(tau, S, start=t_bar, accumulate=True)[0][-1])
        ends[k] = t_bar
    return ends


def rennala_round_time_ignore_bound(tau, S) -> float:
    """min{t : Σ_i max(0, ⌊t/τ_i⌋ − 1) ≥ S}, the bound on a Rennala round with ignore
    semantics (TT prediction 3): each worker may first finish a stale computation.

    Equals the S-th smallest element of {j·τ_i : j ≥ 2}.
    """
    tau = arguments.times(tau)
    S = arguments.pos_int(S, "S")
    return float(_smallest(tau, S, first=2)[0][-1])


def rennala_bracket(tau, S) -> RennalaBracket:
    """Bracket of T_R(S) (TT prediction 2): t*(S) ≤ T_R(S) ≤ 2 t*(S) and
    T_R(S) ≤ min_m (Σ_{i≤m} 1/τ_(i))^{-1} (S + m).

    Returns ``RennalaBracket(lower=t*, upper=2t*, bound, m)`` with m the (smallest) minimizer
    of the second bound.
    """
    tau = arguments.times(tau)
    S = arguments.pos_int(S, "S")
    t_star = equilibrium_time(tau, S).time
    m = np.arange(1, tau.size + 1)
    bounds = (S + m) / np.cumsum(1.0 / np.sort(tau))
    k = int(np.argmin(bounds))
    return RennalaBracket(t_star, 2.0 * t_star, float(bounds[k]), k + 1)


# ----------------------------------------------------------------------------- Malenia


def _malenia_stop(M: np.ndarray, S: int) -> bool:
    """n / Σ_i (1/M_i) ≥ S/n, i.e. Σ_i 1/M_i ≤ n²/S, decided exactly.

    Floats decide unless the two sides agree to 1e-9 (float error ≤ n·2^-53); then the
    sides are compared in rational arithmetic over the distinct counts.
    """
    n = M.size
    lhs, rhs = float(np.sum(1.0 / M)), n * n / S
    if abs(lhs - rhs) > 1e-9 * rhs:
        return lhs < rhs
    values, mult = np.unique(M, return_counts=True)
    exact = sum((Fraction(int(c), int(v)) for v, c in zip(values, mult, strict=True)), Fraction(0))
    return exact <= Fraction(n * n, S)


def _next_completion(t: float, tau: np.ndarray) -> float:
    """The smallest element fl(j·τ_i) of the multiset strictly greater than t."""
    return float(np.min((_counts(t, tau) + 1) * tau))


def malenia_round_time(tau, S) -> float:
    """T_M(S) = min{t ≥ τ_n : n / Σ_i (1/⌊t/τ_i⌋) ≥ S/n}, a Malenia round with cancel
    semantics (TT prediction 5; stop rule ((1/n) Σ_i 1/M_i)^{-1} ≥ S/n of methods.md §3).

    Exact: T_M is an element j·τ_i ≥ τ_max of the multiset; it is found by bisection on t
    (the stop rule is monotone in t) interleaved with steps to the next completion, with
    counts consistent with the products j·τ_i and the stop rule decided in exact arithmetic.
    An emulator that evaluates the stop rule in floats can only disagree when
    Σ_i 1/M_i = n²/S holds exactly. With S ≤ n, T_M = τ_max.
    """
    tau = arguments.times(tau)
    S = arguments.pos_int(S, "S")
    lo = float(np.max(tau))
    if _malenia_stop(_counts(lo, tau), S):
        return lo
    hi = max(2.0 * malenia_round_upper_bound(tau, S), lo)
    while not _malenia_stop(_counts(hi, tau), S):  # never loops in exact arithmetic
        hi *= 2.0
    # invariant: the stop rule fails at lo and holds at hi, so T_M ∈ (lo, hi]
    while True:
        t1 = _next_completion(lo, tau)
        if _malenia_stop(_counts(t1, tau), S):
            return t1
        lo = t1
        mid = 0.5 * (lo + hi)
        if lo < mid < hi:
            if _malenia_stop(_counts(mid, tau), S):
                hi = mid
            else:
                lo = mid


def malenia_round_counts(tau, S) -> np.ndarray:
    """Per-worker counts M_i = ⌊T_M(S)/τ_i⌋ of one Malenia round (TT prediction 5).

    All completions at exactly T_M are included. With S ≤ n: M_i = ⌊τ_max/τ_i⌋.
    """
    tau = arguments.times(tau)
    return _counts(malenia_round_time(tau, S), tau)


def malenia_round_upper_bound(tau, S) -> float:
    """2 (τ_n + (S/n)(1/n) Σ_i τ_i) ≥ T_M(S) (TT prediction 5)."""
    tau = arguments.times(tau)
    S = arguments.pos_int(S, "S")
    n = tau.size
    return float(2.0 * (np.max(tau) + (S / n) * np.mean(tau)))


# ------------------------------------------------------------------------- synchronous


def synchronous_round_time(tau, c=None, b=1) -> float:
    """max_i (b·τ_i + c_i): a minibatch round, b gradients per worker then a send of c_i
    seconds started when the gradients are ready (TT prediction 4). ``c`` None means 0;
    a collective's cost, where the method uses one, is added by the caller.
    """
    tau = arguments.times(tau)
    b = arguments.pos_int(b, "b")
    c = np.zeros(tau.size) if c is None else arguments.nonneg(c, tau.size, "c")
    return float(np.max(b * tau + c))


# ---------------------------------------------------------- universal computation model


class _Profile(NamedTuple):
    """Cumulative work W(t) = ∫_0^t v of one worker, piecewise linear."""

    times: np.ndarray  # segment starts, times[0] = 0
    speeds: np.ndarray  # v on [times[s], times[s+1]), the last one forever
    start_work: np.ndarray  # W(times[s])
    end_work: np.ndarray  # W at the end of segment s (inf for a last segment with v > 0)


def _profile(times, speeds, i: int) -> _Profile:
    t = np.asarray(times, dtype=float)
    v = np.asarray(speeds, dtype=float)
    if t.ndim != 1 or t.size == 0 or v.shape != t.shape:
        raise ValueError(f"worker {i}: times and speeds must be non-empty 1-D of equal length")
    if t[0] != 0 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise ValueError(f"worker {i}: times must start at 0 and increase strictly")
    if not np.all(np.isfinite(v)) or np.any(v < 0):
        raise ValueError(f"worker {i}: speeds must be finite and >= 0")
    start_work = np.concatenate(([0.0], np.cumsum(v[:-1] * np.diff(t))))
    end_work = np.append(start_work[1:], np.inf if v[-1] > 0 else start_work[-1])
    return _Profile(t, v, start_work, end_work)


def _work(p: _Profile, t: float) -> float:
    s = int(np.searchsorted(p.times, t, side="right")) - 1
    return float(p.start_work[s] + p.speeds[s] * (t - p.times[s]))


def _reach(p: _Profile, w: np.ndarray) -> np.ndarray:
    """First t with W(t) ≥ w, for levels w > 0 (inf if never reached)."""
    s = np.searchsorted(p.end_work, w, side="left")
    out = np.full(w.shape, np.inf)
    ok = s < p.times.size
    s = s[ok]  # W(times[s]) < w ≤ end of segment s, hence speeds[s] > 0
    out[ok] = p.times[s] + (w[ok] - p.start_work[s]) / p.speeds[s]
    return out


def universal_round_ends(speed_breakpoints: Sequence, speed_values: Sequence, S, K
                         ) -> np.ndarray:
    """End times t̄_1..t̄_K of K Rennala rounds in the universal computation model
    (TT prediction 7): t̄_k = min{t : Σ_i ⌊∫_{t̄_{k−1}}^{t} v_i⌋ ≥ S}, t̄_0 = 0.

    Input: per worker i, ``speed_breakpoints[i]`` = segment starts 0 = b_0 < b_1 < … and
    ``speed_values[i]`` = speeds v_0, v_1, … ≥ 0 in gradients per second, v_s on
    [b_s, b_{s+1}), the last speed forever (0 = outage). Constant v_i = 1/τ_i is
    ``([0.0], [1/τ_i])`` and reproduces t̄_k = k·T_R(S) up to rounding (rel 1e-9).
    Work in progress at t̄_{k−1} is lost (cancel semantics). A round that can never end
    (too little speed forever) and all later ones are ``inf``.
    Cost per round O(n·S log(n·S)).
    """
    if len(speed_breakpoints) != len(speed_values) or len(speed_values) == 0:
        raise ValueError("speed_breakpoints and speed_values need one entry per worker")
    S = arguments.pos_int(S, "S")
    K = arguments.pos_int(K, "K")
    profiles = [_profile(b, v, i) for i, (b, v) in enumerate(zip(speed_breakpoints,
                                                                 speed_values, strict=True))]
    levels = np.arange(1, S + 1, dtype=float)
    ends = np.full(K, np.inf)
    t_bar = 0.0
    for k in range(K):
        done = np.concatenate([_reach(p, _work(p, t_bar) + levels) for p in profiles])
        t_bar = float(np.partition(done, S - 1)[S - 1])
        if not np.isfinite(t_bar):
            break
        ends[k] = t_bar
    return ends
