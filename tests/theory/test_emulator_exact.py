"""The emulator at large n against the exact predictions of reference/timing-theory.md.

``tests/test_timing_predictions.py`` checks predictions 1-7 on small and medium τ vectors
(n ≤ 200); this file repeats the exact checks at n = 500-5000 with S up to 40 000, adds the
per-worker counts of every round, the equilibrium-time bracket (t* ≤ T_R ≤ 2t*, and the
m* fastest workers always contribute), many-round accumulation, prediction 3 against an
independent vectorized simulation of ignore semantics, and the shapes of prediction 9.

Times are compared with rel 1e-9 (the emulator adds ``now + τ_i`` where the closed forms
multiply j·τ_i), counters exactly. τ_i = scale·√p_i (shuffled): no ties in exact
arithmetic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from emulate import REL, doc, emulate, sqrt_prime_times

from asyncnigt.timing import theory as th

N_LARGE = 5000
TAU_LARGE = sqrt_prime_times(N_LARGE, 0.1, seed=11)  # τ ∈ [0.14, 22]: ratio ≈ 156
TAU_2000 = sqrt_prime_times(2000, 0.37, seed=12)


def approx(x):
    return pytest.approx(x, rel=REL)


# ----------------------------------------------------------- 1. asynchronous SGD


def test_1_asgd_large_n_update_times_and_counts():
    """K = 30 000 updates of n = 2000 workers: the k-th update is the k-th smallest j·τ_i,
    and worker i contributed #{j : j·τ_i ≤ t_K} = ⌊t_K/τ_i⌋ gradients (no stops)."""
    tau, K = TAU_2000, 30_000
    run = emulate(doc(tau, "asgd", stop={"updates": K}))
    expected = th.async_arrival_times(tau, K)
    assert run.times == approx(expected)
    t_K = expected[-1]
    # the K-th completion is unique (no ties), so counts at t_K are exact
    assert run.per_worker.sum() == K
    assert (run.per_worker == np.floor(t_K / tau + 1e-12)).all()


def test_1_asgd_large_n_count_by_time_and_long_run_rate():
    """Stop at time T: N(T) = Σ_i ⌊T/τ_i⌋ updates; hence |N(T) − T Σ_i 1/τ_i| < n
    (each floor loses less than 1), the long-run rate Σ_i 1/τ_i."""
    tau = TAU_2000
    T = 41.0 * math.sqrt(3.0)
    run = emulate(doc(tau, "asgd", stop={"time": T}))
    N = int(run.rows[-1]["update"])
    assert N == th.async_arrivals(tau, T) == int(np.sum(np.floor(T / tau)))
    assert 0 <= T * th.async_rate(tau) - N < tau.size
    assert run.times[-1] <= T


# ------------------------------------------------- 2. Rennala round, cancel semantics


@pytest.mark.parametrize("S", [1, 2500, 5000, 40_000])
def test_2_rennala_large_n_rounds_counts_and_bracket(S):
    tau, n, K = TAU_LARGE, N_LARGE, 3
    run = emulate(doc(tau, {"name": "rennala_sgd", "batch": S}, stop={"updates": K}))
    T = th.rennala_round_time(tau, S)
    assert run.rounds == approx([T] * K)
    assert run.times == approx(th.rennala_round_ends(tau, S, K))
    # every round uses exactly S gradients, computes nothing else, and cancels the n − 1
    # workers still computing (the last arrival's worker is the only idle one)
    assert np.diff(run.column("gradients_used")).tolist() == [S] * K
    assert np.diff(run.column("gradients_computed")).tolist() == [S] * K
    assert np.diff(run.column("gradients_cancelled")).tolist() == [n - 1] * K
    counts = th.rennala_round_counts(tau, S)
    assert (run.per_worker == K * counts).all()
    # bracket, measured: t*(S) ≤ T_R ≤ 2 t*(S) and T_R ≤ min_m (Σ_{i≤m} 1/τ_(i))^{-1}(S + m)
    eq = th.equilibrium_time(tau, S)
    bracket = th.rennala_bracket(tau, S)
    assert eq.time * (1 - REL) <= run.rounds.min()
    assert run.rounds.max() <= 2 * eq.time * (1 + REL)
    assert run.rounds.max() <= bracket.bound * (1 + REL)
    # the m* fastest workers contribute to every round (T_R ≥ t* ≥ τ_(m*)), and the
    # contributors are exactly the workers with τ_i ≤ T_R
    assert (counts[eq.workers] >= 1).all()
    assert (np.flatnonzero(counts) == np.flatnonzero(tau <= T)).all()


@pytest.mark.parametrize("engine", ["fast", "events"])
def test_2_rennala_tie_credit_follows_repeated_sums(engine):
    """Near a tie the emulator credits the workers of the repeated sums ((0 + τ) + τ) + …,
    not of the products j·τ (``rennala_round_counts(accumulate=True)``): for τ = (0.1, 0.3)
    these orders differ at S = 7, 11, 15, 19 and 27."""
    tau = [0.1, 0.3]
    for S in (7, 11, 15, 19, 27):
        run = emulate(doc(tau, {"name": "rennala_sgd", "batch": S, "engine": engine},
                          stop={"updates": 1}))
        summed = th.rennala_round_counts(tau, S, accumulate=True)
        assert run.per_worker.tolist() == summed.tolist()
        assert summed.tolist() != th.rennala_round_counts(tau, S).tolist()


def test_2_rennala_many_rounds_accumulate_exactly():
    """K rounds take exactly K·T_R(S): 1000 rounds, no drift beyond rounding."""
    tau = sqrt_prime_times(64, 0.5, seed=3)
    S, K = 100, 1000
    run = emulate(doc(tau, {"name": "rennala_sgd", "batch": S}, stop={"updates": K}))
    T = th.rennala_round_time(tau, S)
    assert run.times == approx(np.arange(1, K + 1) * T)
    assert run.times == approx(th.rennala_round_ends(tau, S, K, accumulate=True))
    assert run.rows[-1]["gradients_used"] == K * S


# ------------------------------------------------- 3. Rennala round, ignore semantics


def ignore_rounds(tau: np.ndarray, S: int, K: int):
    """Round ends and the ends of the discarded computations under ignore semantics,
    vectorized.

    At a round start t0 worker i is free at a_i = max(t0, free_i) and completes fresh
    gradients at a_i + j·τ_i; the round ends at the S-th smallest of these, T. Then a
    worker that started before T and is not the last arrival's worker finishes its
    current (stale) computation at a_i + (M_i + 1)·τ_i, which is discarded; a worker whose
    stale work of an older round still runs at T (a_i ≥ T) keeps its free time a_i.
    """
    n = tau.size
    free = np.zeros(n)
    t0, ends, discarded = 0.0, [], []
    for _ in range(K):
        a = np.maximum(t0, free)
        # T ≤ max_i a_i + T_R(S) ≤ max_i a_i + min_m (S + m)/Σ_{i≤m} 1/τ_(i): candidates
        # beyond that bound are never among the S smallest (and M_i ≤ S)
        upper = a.max() + np.min((S + np.arange(1, n + 1)) / np.cumsum(1 / np.sort(tau)))
        jmax = np.minimum(np.floor((upper - a) / tau) + 1, S).astype(int)
        workers = np.repeat(np.arange(n), jmax)
        j = np.arange(workers.size) - np.repeat(np.cumsum(jmax) - jmax, jmax) + 1
        times = a[workers] + j * tau[workers]
        k = np.argpartition(times, S - 1)[:S]
        T = times[k].max()
        last = workers[k[np.argmax(times[k])]]
        M = np.bincount(workers[k], minlength=n)
        running = (a < T) & (np.arange(n) != last)
        free = np.where(running, a + (M + 1) * tau, np.where(a >= T, a, T))
        ends.append(T)
        discarded.extend(free[running].tolist())
        t0 = T
    return np.array(ends), np.array(discarded)


@pytest.mark.parametrize("n,S,scale", [(3000, 2000, 0.2), (1000, 10_000, 0.05)])
def test_3_rennala_ignore_large_n_rounds_within_bound(n, S, scale):
    tau = sqrt_prime_times(n, scale, seed=n)
    K = 6
    run = emulate(doc(tau, {"name": "rennala_sgd", "batch": S, "in_flight": "ignore"},
                      stop={"updates": K}))
    T = th.rennala_round_time(tau, S)
    bound = th.rennala_round_time_ignore_bound(tau, S)
    ends, discarded = ignore_rounds(tau, S, K)
    assert run.times == approx(ends)
    assert run.rounds[0] == approx(T)  # nothing is stale in the first round
    assert (run.rounds >= T * (1 - REL)).all()
    assert (run.rounds <= bound * (1 + REL)).all()  # prediction 3
    assert run.rounds.max() > T * (1 + 1e-6)  # stale work does delay some round here
    assert np.diff(run.column("gradients_used")).tolist() == [S] * K
    # a discarded computation counts as computed from the first row at or after its end
    stale = np.diff(run.column("gradients_computed") - run.column("gradients_used"))
    rows = np.r_[0.0, run.times]
    assert stale.tolist() == [int(np.count_nonzero((discarded > a) & (discarded <= b)))
                              for a, b in zip(rows[:-1], rows[1:], strict=True)]
    assert stale.sum() < discarded.size  # some end after the last row: never counted
    assert run.column("gradients_cancelled").max() == 0


# ------------------------------------------------------------ 4. synchronous round


@pytest.mark.parametrize("b", [1, 3])
def test_4_minibatch_large_n(b):
    tau, kappa, K = TAU_LARGE, math.sqrt(5) / 7, 3
    run = emulate(doc(tau, {"name": "minibatch_sgd", "batch": b}, stop={"updates": K},
                      comm={"aggregate": kappa}))
    assert run.rounds == approx([th.synchronous_round_time(tau, b=b) + kappa] * K)
    assert (run.per_worker == K * b).all()


# -------------------------------------------------------------- 5. Malenia round


@pytest.mark.parametrize("S", [500, 2000, 30_000])
def test_5_malenia_large_n(S):
    tau, K = TAU_2000, 2
    n = tau.size
    run = emulate(doc(tau, {"name": "malenia_sgd", "batch": S}, stop={"updates": K}))
    T = th.malenia_round_time(tau, S)
    assert run.rounds == approx([T] * K)
    assert tau.max() <= T <= th.malenia_round_upper_bound(tau, S)
    counts = th.malenia_round_counts(tau, S)
    assert (run.per_worker == K * counts).all()
    if S <= n:
        assert T == tau.max()
        assert (counts == np.floor(tau.max() / tau + 1e-12)).all()
    # AM ≥ HM: a Malenia round collects ≥ S gradients, so it is never shorter than Rennala's
    assert counts.sum() >= S
    assert T >= th.rennala_round_time(tau, S)


# ------------------------------------------------------ 6. communication counting


def test_6_round_methods_large_n_one_aggregation_per_update():
    tau, kappa, K = TAU_LARGE, math.sqrt(2) / 3, 4
    run = emulate(doc(tau, {"name": "rennala_nigt", "batch": 3000}, stop={"updates": K},
                      comm={"aggregate": kappa}))
    assert run.rounds == approx([th.rennala_round_time(tau, 3000) + kappa] * K)
    updates = run.column("update")
    assert run.column("communications").tolist() == updates.tolist()
    assert run.column("comm_time") == approx(kappa * updates)


def test_6_stream_large_n_one_upload_and_one_download_per_gradient():
    """Worker i cycles download d_i, compute τ_i, upload u_i: the k-th update is the k-th
    smallest j·(d_i + τ_i + u_i); after k updates n + k downloads and k uploads happened
    minus the download not sent after the last update: n + 2k − 1 messages."""
    n, K = 1000, 10_000
    tau = sqrt_prime_times(n, 0.3, seed=5)
    up = sqrt_prime_times(n, 0.01, seed=6)
    down = sqrt_prime_times(n, 0.007, seed=7)
    run = emulate(doc(tau, "afedpg", stop={"updates": K},
                      comm={"upload": up.tolist(), "download": down.tolist()}))
    cycle = down + tau + up
    assert run.times == approx(th.async_arrival_times(cycle, K))
    k = run.column("update")[1:]
    assert (run.column("communications")[1:] == n + 2 * k - 1).all()


# --------------------------------------------------- 7. universal computation model


def test_7_outages_on_many_workers():
    """n = 500, 200 workers with 1-3 seeded outage windows each: round ends equal
    t̄_k = min{t : Σ_i ⌊∫_{t̄_{k−1}}^t v_i⌋ ≥ S} with v_i = 1[not in outage]/τ_i."""
    n, S, K = 500, 300, 6
    tau = sqrt_prime_times(n, 0.2, seed=8)
    rng = np.random.default_rng(9)
    outages, bps, vals = [], [], []
    for i in range(n):
        b, v = [0.0], [1.0 / tau[i]]
        if i < 200:
            starts = np.sort(rng.uniform(0.0, 20.0, rng.integers(1, 4)))
            t = 0.0
            for s in starts:
                s = max(s, t + 0.1)
                e = s + rng.uniform(0.5, 4.0)
                outages.append({"workers": [i], "start": float(s), "end": float(e)})
                b += [float(s), float(e)]
                v += [0.0, 1.0 / tau[i]]
                t = e
        bps.append(b)
        vals.append(v)
    compute = {"times": tau.tolist(), "outages": outages}
    run = emulate(doc(compute, {"name": "rennala_sgd", "batch": S}, n=n, stop={"updates": K}))
    expected = th.universal_round_ends(bps, vals, S, K)
    assert run.times == approx(expected)
    assert not np.allclose(expected, th.rennala_round_ends(tau, S, K), rtol=1e-6)


# ------------------------------------------------------------ 9. scaling shapes


def test_9_scaling_shapes_with_sqrt_times():
    """τ_i = √i (the paper's heterogeneous setting), S = 50, n = 1..400, measured:
    the Rennala round is non-increasing in n and constant once √n > T_R (slower workers
    never finish within a round); the synchronous round is exactly √n (grows like √n);
    Malenia's round (batch S) is never shorter than Rennala's (AM ≥ HM)."""
    S = 50
    ns = [1, 2, 5, 10, 20, 50, 100, 200, 400]
    rennala, malenia = [], []
    for n in ns:
        compute = {"preset": "sqrt", "scale": 1.0}
        rennala.append(emulate(doc(compute, {"name": "rennala_sgd", "batch": S}, n=n,
                                   stop={"updates": 2})).rounds[-1])
        malenia.append(emulate(doc(compute, {"name": "malenia_sgd", "batch": S}, n=n,
                                   stop={"updates": 2})).rounds[-1])
        sync = emulate(doc(compute, "minibatch_sgd", n=n, stop={"updates": 2})).rounds
        assert sync == approx([math.sqrt(n)] * 2)
    rennala, malenia = np.array(rennala), np.array(malenia)
    assert (np.diff(rennala) <= REL * rennala[1:]).all()
    flat = np.sqrt(ns) > rennala[-1]
    assert flat.sum() >= 3 and rennala[flat] == approx([rennala[-1]] * int(flat.sum()))
    assert (malenia >= rennala * (1 - REL)).all()
    assert malenia[-1] > 2 * rennala[-1]  # and strictly slower with many slow workers
