"""The emulator against the timing predictions of reference/timing-theory.md (1-7).

Every check is exact up to floating point: emulator times are compared with rel 1e-9
(the emulator adds ``now + τ_i`` where the closed forms multiply ``j·τ_i``), integer
counters are compared exactly. Each prediction is compared both with the colleague's
closed forms in :mod:`asyncnigt.timing.theory` and with an independent brute force written
here. Worker times are distinct, irrational-looking values (scaled square roots of primes,
in shuffled order so that worker index and speed rank differ), so that no result depends
on the tie rule.
"""

from __future__ import annotations

import heapq
import math
from fractions import Fraction

import numpy as np
import pytest
from conftest import heterogeneous_on_purpose, run_doc, scenario_doc, sqrt_primes

from asyncnigt.scenario import parse_scenario
from asyncnigt.seeding import Streams
from asyncnigt.timing import theory as th

REL = 1e-9


def _shuffled(values, seed):
    return [values[j] for j in np.random.default_rng(seed).permutation(len(values))]


TAUS = {
    "3": sqrt_primes(3),
    "10-shuffled": _shuffled(sqrt_primes(10, 0.37), 1),
    # two fast workers and very slow ones: slow workers often contribute nothing
    "5-spread": [0.1 * math.sqrt(2), math.sqrt(3), 10 * math.sqrt(5), 31 * math.sqrt(7),
                 0.5 * math.sqrt(11)],
    "200": _shuffled(sqrt_primes(200, 1 / 7), 2),
}
SMALL = [k for k in TAUS if k != "200"]


def approx(x):
    return pytest.approx(x, rel=REL)


# ------------------------------------------------------------------ brute forces


def smallest_multiples(tau, K, offsets=None):
    """The K smallest elements of {a_i + j·τ_i : i, j ≥ 1} by a heap merge, with workers."""
    a = [0.0] * len(tau) if offsets is None else list(offsets)
    heap = [(a[i] + t, i, 1) for i, t in enumerate(tau)]
    heapq.heapify(heap)
    times, workers = [], []
    for _ in range(K):
        t, i, j = heapq.heappop(heap)
        times.append(t)
        workers.append(i)
        heapq.heappush(heap, (a[i] + (j + 1) * tau[i], i, j + 1))
    return np.array(times), np.array(workers)


def brute_rennala(tau, S):
    """T_R(S) and the per-worker counts of one round (cancel semantics)."""
    times, workers = smallest_multiples(tau, S)
    return times[-1], np.bincount(workers, minlength=len(tau))


def brute_equilibrium(tau, S):
    """t*(S) = min_k max{τ_(k), S (Σ_{i≤k} 1/τ_(i))^{-1}} by a plain loop."""
    srt = sorted(tau)
    return min(max(srt[k], S / sum(1 / t for t in srt[: k + 1])) for k in range(len(srt)))


def brute_malenia(tau, S):
    """T_M(S): walk the multiset {j·τ_i} in increasing order, decide the stop rule
    Σ_i 1/M_i ≤ n²/S exactly in rationals once every M_i ≥ 1."""
    n = len(tau)
    counts = [0] * n
    inv = Fraction(0)
    zeros = n
    heap = [(t, i, 1) for i, t in enumerate(tau)]
    heapq.heapify(heap)
    bound = Fraction(n * n, S)
    while True:
        t, i, j = heapq.heappop(heap)
        heapq.heappush(heap, ((j + 1) * tau[i], i, j + 1))
        m = counts[i]
        counts[i] = m + 1
        if m == 0:
            zeros -= 1
            inv += 1
        else:
            inv += Fraction(1, m + 1) - Fraction(1, m)
        if zeros == 0 and inv <= bound:
            return t, np.array(counts)


def brute_ignore_rounds(tau, S, K):
    """End times of K Rennala rounds with *ignore* semantics, simulated directly.

    At a round start t0 worker i is free at max(t0, free_i) (it may still be finishing a
    stale computation) and then completes a fresh gradient every τ_i. At the round end T a
    worker that is computing finishes that (stale) computation; a worker still busy with an
    older stale computation stays busy until that one ends.
    """
    n = len(tau)
    free = [0.0] * n
    t0, ends = 0.0, []
    for _ in range(K):
        start = [max(t0, f) for f in free]
        times, workers = smallest_multiples(tau, S, offsets=start)
        T, last = times[-1], workers[-1]
        counts = np.bincount(workers, minlength=n)
        for i in range(n):
            if i == last:
                free[i] = T
            elif start[i] >= T:
                free[i] = start[i]
            else:
                free[i] = start[i] + (counts[i] + 1) * tau[i]
        ends.append(T)
        t0 = T
    return np.array(ends)


def rounds(run):
    """Durations of the rounds (update k - update k-1)."""
    return np.diff(run.column("time"))


def per_round_counts(run, kind, n, K):
    counts = np.zeros((K, n), dtype=int)
    for e in run.events_of(kind):
        counts[e["update"], e["worker"]] += 1
    return counts


# ----------------------------------------------------- 1. asynchronous SGD arrivals


@pytest.mark.parametrize("key", list(TAUS))
def test_1_asgd_update_times_are_the_sorted_multiset(key):
    tau = TAUS[key]
    n = len(tau)
    K = min(40 * n, 3000)
    E = min(K, 150)  # updates with an event trace
    run = run_doc(scenario_doc(tau, {"name": "asgd", "step_size": 0.01}, stop={"updates": K},
                               every=K, events=E))
    expected, workers = smallest_multiples(tau, K)
    assert len(run.times) == K
    assert run.times == approx(expected)
    assert run.times == approx(th.async_arrival_times(tau, K))
    # the k-th update is worker w_k's j-th gradient, which started exactly τ_w before
    used = sorted(run.events_of("used"), key=lambda e: e["update"])
    assert [e["update"] for e in used] == list(range(E))
    assert [e["worker"] for e in used] == workers[:E].tolist()
    assert [e["end"] - e["start"] for e in used] == approx([tau[w] for w in workers[:E]])
    assert run.column("gradients_used")[1:].tolist() == list(range(1, K + 1))
    assert run.column("gradients_cancelled").max() == 0


@pytest.mark.parametrize("key", SMALL)
def test_1_asgd_stop_time_applies_exactly_N_t_updates(key):
    tau = TAUS[key]
    T = 17.0 * max(tau) / 3.0
    run = run_doc(scenario_doc(tau, "asgd", stop={"time": T}, every=1000))
    N = sum(math.floor(T / t) for t in tau)
    assert run.rows[-1]["update"] == N == th.async_arrivals(tau, T)
    assert run.times[-1] <= T


# ------------------------------------------------- 2. Rennala round, cancel semantics


CASES_2 = [(k, S) for k in SMALL for S in (1, 2, 7, 31)] + [("200", 1), ("200", 200), ("200", 777)]


@pytest.mark.parametrize("key,S", CASES_2)
def test_2_rennala_cancel_round_is_exactly_T_R(key, S):
    tau = TAUS[key]
    n = len(tau)
    K = 6 if n <= 10 else 4
    events = K if n <= 10 else 0
    run = run_doc(scenario_doc(tau, {"name": "rennala_sgd", "batch": S}, stop={"updates": K},
                               events=events, every=K))
    T, counts = brute_rennala(tau, S)
    assert T == approx(th.rennala_round_time(tau, S))
    assert rounds(run) == approx([T] * K)
    assert run.times == approx(np.arange(1, K + 1) * T)
    assert run.times == approx(th.rennala_round_ends(tau, S, K))
    # exactly S gradients per round, none computed for nothing; all others are cancelled
    assert np.diff(run.column("gradients_used")).tolist() == [S] * K
    assert np.diff(run.column("gradients_computed")).tolist() == [S] * K
    assert np.diff(run.column("gradients_cancelled")).tolist() == [n - 1] * K
    # the bracket of prediction 2, on the emulated round
    t_star = brute_equilibrium(tau, S)
    assert t_star == approx(th.equilibrium_time(tau, S).time)
    assert t_star * (1 - REL) <= rounds(run)[0] <= 2 * t_star * (1 + REL)
    srt = np.sort(tau)
    bound = min((S + m) / np.sum(1 / srt[:m]) for m in range(1, n + 1))
    assert rounds(run)[0] <= bound * (1 + REL)
    if events:
        assert (per_round_counts(run, "used", n, K) == counts).all()
        assert (counts == th.rennala_round_counts(tau, S)).all()
        # the work thrown away per round: each cancelled job ran < τ_i, in total exactly
        # Σ_i (T - τ_i ⌊T/τ_i⌋) < Σ_i τ_i
        waste = np.zeros(K)
        for e in run.events_of("cancelled"):
            elapsed = e["end"] - e["start"]
            assert 0 <= elapsed < tau[e["worker"]]
            waste[e["update"]] += elapsed
        expected = sum(T - t * math.floor(T / t + 1e-12) for t in tau)
        assert waste == pytest.approx([expected] * K, rel=1e-9, abs=1e-9 * T * n)
        assert (waste < sum(tau)).all()


@pytest.mark.parametrize("key", SMALL)
def test_2_rennala_first_round_uses_init_batch(key):
    tau = TAUS[key]
    M0, S = 11, 3
    run = run_doc(scenario_doc(tau, {"name": "rennala_sgd", "batch": S, "init_batch": M0},
                               stop={"updates": 4}))
    T0, T = brute_rennala(tau, M0)[0], brute_rennala(tau, S)[0]
    assert rounds(run) == approx([T0, T, T, T])
    assert np.diff(run.column("gradients_used")).tolist() == [M0, S, S, S]


# ------------------------------------------------- 3. Rennala round, ignore semantics


@pytest.mark.parametrize("key,S", [(k, S) for k in SMALL for S in (1, 3, 13)] + [("200", 300)])
def test_3_rennala_ignore_rounds(key, S):
    tau = TAUS[key]
    n = len(tau)
    K = 8 if n <= 10 else 4
    events = K if n <= 10 else 0
    run = run_doc(scenario_doc(tau, {"name": "rennala_sgd", "batch": S, "in_flight": "ignore"},
                               stop={"updates": K}, events=events, every=K))
    T = th.rennala_round_time(tau, S)
    bound = th.rennala_round_time_ignore_bound(tau, S)
    d = rounds(run)
    assert d[0] == approx(T)  # nothing is stale in the first round
    assert (d >= T * (1 - REL)).all()  # a late start never helps
    assert (d <= bound * (1 + REL)).all()  # prediction 3
    assert run.times == approx(brute_ignore_rounds(tau, S, K))
    assert np.diff(run.column("gradients_used")).tolist() == [S] * K
    assert run.column("gradients_cancelled").max() == 0
    if events:
        # stale arrivals are never used: every used job of round k started in round k
        starts = np.r_[0.0, run.times]
        for e in run.events_of("used"):
            assert e["start"] >= starts[e["update"]]
        # a computation discarded at the end of round k was running then (it had started)
        for e in run.events_of("discarded"):
            assert e["start"] < run.times[e["update"]] < e["end"]
        # a discarded computation counts as computed from the first row at or after its end
        discarded = np.diff(run.column("gradients_computed") - run.column("gradients_used"))
        ends = np.array([e["end"] for e in run.events_of("discarded")])
        assert discarded.tolist() == [int(np.count_nonzero((ends > a) & (ends <= b)))
                                      for a, b in zip(starts[:-1], starts[1:], strict=True)]


# ---------------------------------------------------- 4. minibatch (synchronous) round


@pytest.mark.parametrize("key", list(TAUS))
@pytest.mark.parametrize("b", [1, 3])
@pytest.mark.parametrize("kappa", [0.0, math.sqrt(13) / 5])
def test_4_minibatch_round_is_max_tau_plus_kappa(key, b, kappa):
    tau = TAUS[key]
    n = len(tau)
    K = 4
    run = run_doc(scenario_doc(tau, {"name": "minibatch_sgd", "batch": b}, stop={"updates": K},
                               comm={"aggregate": kappa}, every=K))
    T = max(b * t for t in tau)
    assert T == approx(th.synchronous_round_time(tau, b=b))
    assert rounds(run) == approx([T + kappa] * K)
    assert np.diff(run.column("gradients_used")).tolist() == [n * b] * K
    assert run.column("gradients_cancelled").max() == 0


ROUND_METHODS = ["rennala_sgd", "malenia_sgd", "minibatch_sgd", "rennala_pg", "sync_pg",
                 "rennala_nigt", "malenia_nigt", "sync_nigt"]


def round_time(method, tau, S):
    if method.startswith(("rennala", )):
        return brute_rennala(tau, S)[0]
    if method.startswith("malenia"):
        return brute_malenia(tau, S)[0]
    return max(S * t for t in tau)  # synchronous: S gradients per worker


@pytest.mark.parametrize("method", ROUND_METHODS)
def test_4_6_kappa_adds_to_every_round_and_is_counted(method):
    tau = TAUS["10-shuffled"]
    S, K, kappa = 4, 5, math.sqrt(7) / 3
    doc = scenario_doc(tau, {"name": method, "batch": S}, stop={"updates": K},
                       comm={"aggregate": kappa})
    run = run_doc(doc)
    T = round_time(method, tau, S)
    assert rounds(run) == approx([T + kappa] * K)
    # prediction 6: one aggregation per update, communication time κ × updates
    updates = run.column("update")
    assert run.column("communications").tolist() == updates.tolist()
    assert run.column("comm_time") == approx(kappa * updates)
    # and without κ the same rounds last exactly T
    doc["workers"]["comm"] = {"aggregate": 0.0}
    assert rounds(run_doc(doc)) == approx([T] * K)


def test_4_slowest_link_and_ring_allreduce_costs():
    tau = TAUS["10-shuffled"]
    n = len(tau)
    up = sqrt_primes(n, 0.11)[::-1]
    down = [0.05 * math.sqrt(i + 17) for i in range(n)]
    T = brute_rennala(tau, 6)[0]
    method = {"name": "rennala_sgd", "batch": 6}
    comm = {"upload": up, "download": down, "aggregate": {"model": "slowest_link"}}
    run = run_doc(scenario_doc(tau, method, stop={"updates": 3}, comm=comm))
    kappa = max(u + d for u, d in zip(up, down, strict=True))
    assert rounds(run) == approx([T + kappa] * 3)
    assert run.column("comm_time")[-1] == approx(3 * kappa)
    # only the workers that contributed this round (Rennala with S = 6: the fast ones)
    comm["aggregate"] = {"model": "slowest_link", "over": "contributors"}
    counts = brute_rennala(tau, 6)[1]
    kappa_c = max(up[i] + down[i] for i in range(n) if counts[i] > 0)
    assert kappa_c < kappa  # the case is discriminating
    run = run_doc(scenario_doc(tau, method, stop={"updates": 3}, comm=comm))
    assert rounds(run) == approx([T + kappa_c] * 3)
    # ring AllReduce: 2(n-1)·latency + 2(n-1)/n · bytes/bandwidth, bytes = 8·d by default
    lat, bw, dim = 0.013, 1234.5, 3
    comm = {"aggregate": {"model": "ring_allreduce", "latency": lat, "bandwidth": bw}}
    run = run_doc(scenario_doc(tau, method, stop={"updates": 3}, comm=comm,
                               problem={"kind": "quadratic", "dim": dim}))
    kappa_r = 2 * (n - 1) * lat + 2 * (n - 1) / n * 8 * dim / bw
    assert rounds(run) == approx([T + kappa_r] * 3)


# -------------------------------------------------------------- 5. Malenia round


CASES_5 = [(k, S) for k in SMALL for S in (1, 3, 5, 10, 37)] + [("200", 150), ("200", 400)]


@pytest.mark.parametrize("key,S", CASES_5)
def test_5_malenia_round_is_exactly_T_M(key, S):
    tau = TAUS[key]
    n = len(tau)
    K = 4 if n <= 10 else 2
    events = K if n <= 10 else 0
    run = run_doc(scenario_doc(tau, {"name": "malenia_sgd", "batch": S}, stop={"updates": K},
                               events=events, every=K))
    T, counts = brute_malenia(tau, S)
    assert T == approx(th.malenia_round_time(tau, S))
    assert rounds(run) == approx([T] * K)
    assert T >= max(tau) and T <= th.malenia_round_upper_bound(tau, S)
    assert np.diff(run.column("gradients_used")).tolist() == [int(counts.sum())] * K
    if S <= n:
        assert T == max(tau)
        assert counts.tolist() == [math.floor(max(tau) / t) for t in tau]
    if events:
        assert (per_round_counts(run, "used", n, K) == counts).all()


@pytest.mark.parametrize("n,c", [(3, 5), (4, 3), (6, 10), (10, 7)])
def test_5_malenia_equal_times_tie_rule(n, c):
    """All τ_i equal (the paper's setting (a)): every worker completes its c-th gradient at
    the same instant c·τ, and with S = n·c the stop rule holds with equality there
    (Σ 1/M_i = n/c = n²/S). Tie rule: simultaneous completions are processed in worker
    order, so the round ends at c·τ with exactly n·c gradients, as theory says."""
    tau = [math.sqrt(2)] * n
    S = n * c
    run = run_doc(scenario_doc(tau, {"name": "malenia_sgd", "batch": S}, stop={"updates": 3}))
    assert th.malenia_round_time(tau, S) == approx(c * tau[0])
    assert rounds(run) == approx([c * tau[0]] * 3)
    assert np.diff(run.column("gradients_used")).tolist() == [S] * 3


@heterogeneous_on_purpose
def test_5_combine_weights_end_to_end():
    """Heterogeneous quadratic without noise: worker i's gradient at a point x is the
    constant -λ⊙(x - s_i). One Malenia SGD step must move θ_0 by α·(1/n)Σ_i g_i whatever the
    (very unequal) counts; one Rennala SGD step by the count-weighted mean."""
    tau = TAUS["10-shuffled"]
    n, S, alpha = len(tau), 20, 0.3
    problem = {"kind": "quadratic", "dim": 3, "noise": 0.0, "heterogeneity": 2.0}
    shifts = None
    for method, counts in (("malenia_sgd", brute_malenia(tau, S)[1]),
                           ("rennala_sgd", brute_rennala(tau, S)[1])):
        run = run_doc(scenario_doc(tau, {"name": method, "batch": S, "step_size": alpha},
                                   stop={"updates": 1}, problem=problem, seed=3))
        if shifts is None:
            shifts = run.problem.shifts(Streams(3), n)
        lam, x = run.problem.eigenvalues, run.theta0
        grads = -(x[None, :] - shifts) * lam  # ascent directions of the n workers
        assert len(set(counts.tolist())) > 2  # counts differ: the weighting matters
        if method == "malenia_sgd":
            g = grads.mean(axis=0)
        else:
            g = (counts[:, None] * grads).sum(axis=0) / counts.sum()
        np.testing.assert_allclose(run.theta, x + alpha * g, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------ 6. communication counting


@pytest.mark.parametrize("method", ["asgd", "afedpg"])
def test_6_stream_methods_count_one_upload_and_one_download_per_gradient(method):
    tau = TAUS["10-shuffled"]
    n = len(tau)
    up = sqrt_primes(n, 0.05)
    down = _shuffled(sqrt_primes(n, 0.031), 5)
    K = 200
    run = run_doc(scenario_doc(tau, method, stop={"updates": K},
                               comm={"upload": up, "download": down}, events=K))
    # worker i cycles download, compute, upload: arrivals at j (d_i + τ_i + u_i)
    cycle = [d + t + u for d, t, u in zip(down, tau, up, strict=True)]
    assert run.times == approx(smallest_multiples(cycle, K)[0])
    k = run.column("update").astype(int)
    comms = run.column("communications").astype(int)
    # row k: n initial downloads, k uploads received, k-1 re-dispatches
    assert comms[0] == 0
    assert (comms[1:] == n + 2 * k[1:] - 1).all()
    assert len(run.events_of("upload")) == K
    assert len(run.events_of("download")) == n + K - 1
    assert run.column("comm_time").max() == 0.0  # comm_time counts aggregations only


def test_6_stream_counting_with_random_link_times():
    run = run_doc(scenario_doc({"model": "exponential", "mean": 1.0}, "asgd", n=4,
                               stop={"updates": 50},
                               comm={"upload": {"model": "exponential", "mean": 0.3},
                                     "download": {"model": "uniform", "low": 0.1, "high": 0.2}}))
    k = run.column("update").astype(int)
    assert (run.column("communications")[1:] == 4 + 2 * k[1:] - 1).all()


# -------------------------------------------------- 7. universal computation model


def _theory_profiles(tau, profiles):
    """Per-worker (breakpoints, speeds in gradients/s) for theory.universal_round_ends from
    relative speeds: profiles[i] = (breakpoints, relative speeds) or None (speed 1)."""
    bps, vals = [], []
    for i, t in enumerate(tau):
        b, s = profiles[i] if profiles[i] is not None else ([0.0], [1.0])
        bps.append(list(b))
        vals.append([x / t for x in s])
    return bps, vals


def _outage_profile(windows):
    """Breakpoints/speeds of speed 1 with the (sorted, disjoint) outage windows at 0."""
    b, s = [0.0], [1.0]
    for start, end in windows:
        if start == 0:
            s[-1] = 0.0
        else:
            b.append(start)
            s.append(0.0)
        b.append(end)
        s.append(1.0)
    return b, s


@pytest.mark.parametrize("S", [4, 9, 20])
def test_7_outages_and_speed_profiles_match_universal_round_ends(S):
    tau = TAUS["5-spread"][:2] + TAUS["3"]
    n, K = len(tau), 10
    w0 = [(1.1 * math.sqrt(2), 2.3 * math.sqrt(3)), (4.4 * math.sqrt(5), 5.1 * math.sqrt(6))]
    w3 = [(0.0, 0.7 * math.sqrt(7))]
    speed = [{"workers": [1, 4], "breakpoints": [0, math.sqrt(10)], "speeds": [1.0, 0.37]},
             {"workers": 2, "breakpoints": [0, 0.5 * math.pi, math.e],
              "speeds": [0.5, 0.0, 2.5]}]
    compute = {
        "times": tau,
        "outages": [{"workers": [0], "start": a, "end": b} for a, b in w0]
        + [{"workers": 3, "start": a, "end": b} for a, b in w3],
        "speed": speed,
    }
    run = run_doc(scenario_doc(compute, {"name": "rennala_sgd", "batch": S}, n=n,
                               stop={"updates": K}))
    profiles = [_outage_profile(w0), (speed[0]["breakpoints"], speed[0]["speeds"]),
                (speed[1]["breakpoints"], speed[1]["speeds"]), _outage_profile(w3),
                (speed[0]["breakpoints"], speed[0]["speeds"])]
    expected = th.universal_round_ends(*_theory_profiles(tau, profiles), S, K)
    assert np.isfinite(expected).all()
    assert run.times == approx(expected)
    # the profiles matter: without them the rounds are different
    plain = th.rennala_round_ends(tau, S, K)
    assert not np.allclose(expected, plain, rtol=1e-6)


@pytest.mark.parametrize("key,S", [("3", 4), ("10-shuffled", 7), ("5-spread", 3)])
def test_7_constant_speeds_reproduce_prediction_2(key, S):
    tau = TAUS[key]
    n, K = len(tau), 5
    method = {"name": "rennala_sgd", "batch": S}
    plain = run_doc(scenario_doc(tau, method, stop={"updates": K}))
    unit = run_doc(scenario_doc({"times": tau, "speed": [{"breakpoints": [0], "speeds": [1]}]},
                                method, n=n, stop={"updates": K}))
    assert unit.times.tolist() == plain.times.tolist()  # speed 1 is the fixed model, bit for bit
    c = 0.7
    slow = run_doc(scenario_doc({"times": tau, "speed": [{"breakpoints": [0], "speeds": [c]}]},
                                method, n=n, stop={"updates": K}))
    T = brute_rennala([t / c for t in tau], S)[0]
    assert slow.times == approx(np.arange(1, K + 1) * T)
    bps, vals = _theory_profiles(tau, [([0.0], [c])] * n)
    assert slow.times == approx(th.universal_round_ends(bps, vals, S, K))


def test_7_round_times_add_up_when_speeds_change_at_round_boundaries():
    tau = TAUS["10-shuffled"]
    n, S, a, b, k1, K = len(tau), 6, 1.3, 0.45, 3, 7
    Ta = brute_rennala([t / a for t in tau], S)[0]
    Tb = brute_rennala([t / b for t in tau], S)[0]
    compute = {"times": tau, "speed": [{"breakpoints": [0, k1 * Ta], "speeds": [a, b]}]}
    run = run_doc(scenario_doc(compute, {"name": "rennala_sgd", "batch": S}, n=n,
                               stop={"updates": K}))
    assert rounds(run) == approx([Ta] * k1 + [Tb] * (K - k1))


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_sqrt_preset_means_tau_i_is_sqrt_i(scale):
    n = 7
    doc = scenario_doc({"preset": "sqrt", "scale": scale}, {"name": "minibatch_sgd"}, n=n,
                       stop={"updates": 2})
    sc = parse_scenario(doc)
    assert [m.value for m in sc.compute] == approx([scale * math.sqrt(i) for i in range(1, n + 1)])
    assert rounds(run_doc(doc)) == approx([scale * math.sqrt(n)] * 2)
