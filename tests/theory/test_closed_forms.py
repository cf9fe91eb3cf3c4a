"""Closed forms of asyncnigt.timing.theory against brute force, hand values and properties.

Float comparisons: multiset elements are products j*tau[i] in both the closed forms and the
brute force here, so those agree exactly; quantities computed by other formulas (t*, the
bounds, the universal model) are compared with a relative tolerance of 1e-9.
"""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncnigt.timing import complexity as cx
from asyncnigt.timing import theory as th

REL = 1e-9
TAU3 = [1.0, math.sqrt(2.0), math.pi]  # distinct, irrational-looking

taus = st.lists(st.floats(0.05, 20.0, allow_nan=False, allow_infinity=False),
                min_size=1, max_size=6)
batches = st.integers(1, 60)
fast = settings(deadline=None, max_examples=60)


# ----------------------------------------------------------------------- brute force


def brute_multiset(tau, S, first=1):
    """Elements j*tau[i] (first ≤ j < first + S) as (time, worker), ordered like the module."""
    items = [(j * t, i) for i, t in enumerate(tau) for j in range(first, first + S)]
    return sorted(items)


def brute_rennala(tau, S, first=1):
    chosen = brute_multiset(tau, S, first)[:S]
    counts = np.bincount([i for _, i in chosen], minlength=len(tau))
    return chosen[-1][0], counts


def brute_malenia(tau, S):
    """Step through the candidate times j*tau[i] ≥ max tau; decide the stop rule exactly."""
    n, t_n = len(tau), max(tau)
    J = math.ceil(th.malenia_round_upper_bound(tau, S) / min(tau)) + 2
    candidates = sorted({j * t for t in tau for j in range(1, J + 1) if j * t >= t_n})
    for t in candidates:
        M = [sum(1 for j in range(1, J + 1) if j * ti <= t) for ti in tau]
        if sum(Fraction(1, m) for m in M) <= Fraction(n * n, S):
            return t, np.array(M)
    raise AssertionError("upper bound violated")


def close(a, b, rel=REL):
    return a == pytest.approx(b, rel=rel)


# ------------------------------------------------------------------ equilibrium time


def test_equilibrium_by_hand():
    # H = 1, 1.5, 1.75: max(1, 3) = 3, max(2, 2) = 2, max(4, 12/7) = 4
    eq = th.equilibrium_time([4.0, 1.0, 2.0], 3)
    assert eq.time == 2.0 and eq.m == 2 and list(eq.workers) == [1, 2]
    assert th.optimal_workers([4.0, 1.0, 2.0], 3) == 2
    assert th.equilibrium_time([4.0, 1.0, 2.0], 100).m == 3


def test_equilibrium_with_comm():
    tau = [4.0, 1.0, 2.0]
    no_comm, plain = th.equilibrium_time_with_comm(tau, 0.0, 3), th.equilibrium_time(tau, 3)
    assert (no_comm.time, no_comm.m, list(no_comm.workers)) == (
        plain.time, plain.m, list(plain.workers))
    # worker 1 (fast) has a slow link: gates max(c, τ) = 4, 5, 2 -> order 2, 0, 1
    # k=1: max(2, 3·2) = 6; k=2: max(4, 3/(1/2 + 1/4)) = 4; k=3: max(5, 3/1.75) = 5
    eq = th.equilibrium_time_with_comm(tau, [0.0, 5.0, 0.0], 3)
    assert eq.time == 4.0 and eq.m == 2 and list(eq.workers) == [2, 0]


@fast
@given(taus, st.floats(0.1, 100.0))
def test_equilibrium_matches_definition(tau, S):
    s = sorted(tau)
    values = [max(s[k], S / sum(1 / x for x in s[: k + 1])) for k in range(len(s))]
    assert close(th.equilibrium_time(tau, S).time, min(values))


# ------------------------------------------------------------------ asynchronous SGD


@fast
@given(taus, batches)
def test_async_arrival_times_brute_force(tau, K):
    times, workers = th.async_arrival_times(tau, K, return_workers=True)
    expected = brute_multiset(tau, K)[:K]
    assert list(times) == [t for t, _ in expected]
    assert list(workers) == [i for _, i in expected]


@fast
@given(taus, batches)
def test_async_arrival_times_agree_with_counts(tau, K):
    times = th.async_arrival_times(tau, K)
    assert np.all(np.diff(times) >= 0)
    N = th.async_arrivals(tau, times)
    before = th.async_arrivals(tau, np.nextafter(times, -np.inf))
    k = np.arange(1, K + 1)
    assert np.all(N >= k) and np.all(before < k)


@fast
@given(taus, st.floats(0.0, 500.0))
def test_async_arrivals_and_rate(tau, t):
    N = th.async_arrivals(tau, t)
    # ⌊t/τ_i⌋, counted consistently with the products j·τ_i
    assert N == sum(1 for x in tau for j in range(1, int(t / x) + 3) if j * x <= t)
    rate = th.async_rate(tau)
    assert t * rate - len(tau) - 1e-9 * t * rate <= N <= t * rate * (1 + 1e-12)


def test_async_arrivals_vectorized_and_exact_floor():
    tau = [0.5, 0.25]
    assert th.async_arrivals(tau, [[1.0, 0.75], [0.1, 0.0]]).tolist() == [[6, 4], [0, 0]]
    assert isinstance(th.async_arrivals(tau, 0.3), int)
    # 3 * 0.1 = 0.30000000000000004 > 0.3: the count follows the product j·τ_i
    assert th.async_arrivals([0.1], 0.3) == 2
    assert th.async_arrivals([0.1], th.async_arrival_times([0.1], 3)[-1]) == 3


def test_async_large_case_is_exact():
    rng = np.random.default_rng(1)
    tau = rng.uniform(0.5, 20.0, size=10_000)
    K = 100_000
    times = th.async_arrival_times(tau, K)
    assert times.shape == (K,) and np.all(np.diff(times) >= 0)
    assert th.async_arrivals(tau, times[-1]) >= K
    assert th.async_arrivals(tau, np.nextafter(times[-1], 0)) < K


def test_accumulate_is_repeated_addition():
    tau = [0.1, 0.7]
    times = th.async_arrival_times(tau, 30, accumulate=True)
    sums = []
    for t in tau:
        acc = 0.0
        for _ in range(30):
            acc += t
            sums.append(acc)
    assert list(times) == sorted(sums)[:30]
    assert np.allclose(times, th.async_arrival_times(tau, 30), rtol=REL, atol=0)


# ------------------------------------------------------------------------- Rennala


@pytest.mark.parametrize("S", [1, 2, 5, 17, 100])
def test_rennala_brute_force(S):
    t, counts = brute_rennala(TAU3, S)
    assert th.rennala_round_time(TAU3, S) == t
    assert th.rennala_round_counts(TAU3, S).tolist() == counts.tolist()
    assert counts.tolist() == [math.floor(t / x) for x in TAU3]  # no ties


@fast
@given(taus, batches)
def test_rennala_round_matches_brute_force(tau, S):
    t, counts = brute_rennala(tau, S)
    assert th.rennala_round_time(tau, S) == t
    got = th.rennala_round_counts(tau, S)
    assert got.sum() == S and got.tolist() == counts.tolist()


def test_rennala_tie_rule():
    assert th.rennala_round_counts([1.0, 1.0], 1).tolist() == [1, 0]
    assert th.rennala_round_counts([1.0, 1.0], 3).tolist() == [2, 1]


@fast
@given(taus, batches)
def test_rennala_bracket_properties(tau, S):
    T_R = th.rennala_round_time(tau, S)
    b = th.rennala_bracket(tau, S)
    assert b.lower * (1 - REL) <= T_R <= b.upper * (1 + REL)
    assert T_R <= b.bound * (1 + REL)
    # a synchronous schedule with ⌈S/n⌉ gradients per worker is never faster (exact)
    assert T_R <= math.ceil(S / len(tau)) * max(tau)
    assert T_R <= th.synchronous_round_time(tau, b=math.ceil(S / len(tau)))


@fast
@given(taus, batches)
def test_rennala_ignore_bound(tau, S):
    expected, _ = brute_rennala(tau, S, first=2)
    got = th.rennala_round_time_ignore_bound(tau, S)
    assert got == expected
    assert got >= th.rennala_round_time(tau, S)
    s = sorted(tau)
    assert sum(max(0, math.floor(got * (1 + REL) / x) - 1) for x in s) >= S


def test_rennala_round_ends():
    T = th.rennala_round_time(TAU3, 7)
    assert th.rennala_round_ends(TAU3, 7, 4).tolist() == [T, 2 * T, 3 * T, 4 * T]
    acc = th.rennala_round_ends(TAU3, 7, 50, accumulate=True)
    assert np.allclose(acc, np.arange(1, 51) * T, rtol=REL, atol=0)
    # round k: the 7th smallest of the repeated sums started at the previous end
    t_bar = acc[-2]
    sums = []
    for t in TAU3:
        x = t_bar
        for _ in range(7):
            x += t
            sums.append(x)
    assert acc[-1] == sorted(sums)[6]


# ------------------------------------------------------------------------- Malenia


@pytest.mark.parametrize("S", [1, 3, 4, 10, 37])
def test_malenia_brute_force(S):
    t, M = brute_malenia(TAU3, S)
    assert th.malenia_round_time(TAU3, S) == t
    assert th.malenia_round_counts(TAU3, S).tolist() == M.tolist()


@settings(deadline=None, max_examples=40)
@given(st.lists(st.floats(0.2, 5.0), min_size=1, max_size=4), st.integers(1, 40))
def test_malenia_matches_brute_force(tau, S):
    t, M = brute_malenia(tau, S)
    assert th.malenia_round_time(tau, S) == t
    assert th.malenia_round_counts(tau, S).tolist() == M.tolist()


@fast
@given(taus, batches)
def test_malenia_properties(tau, S):
    n = len(tau)
    T_M = th.malenia_round_time(tau, S)
    assert T_M >= max(tau)
    assert T_M <= th.malenia_round_upper_bound(tau, S) * (1 + REL)
    M = th.malenia_round_counts(tau, S)
    assert n / sum(Fraction(1, int(m)) for m in M) >= Fraction(S, n)
    if S <= n:
        assert T_M == max(tau)


def test_malenia_small_batch_counts():
    # S ≤ n: T_M = τ_n and worker i contributes ⌊τ_n/τ_i⌋
    assert th.malenia_round_time(TAU3, 2) == math.pi
    assert th.malenia_round_counts(TAU3, 3).tolist() == [3, 2, 1]


def test_malenia_exact_boundary():
    # n = 2, M = (1, 3) at t = 3: Σ 1/M = 4/3 = n²/S with S = 3, so the rule holds exactly
    assert th.malenia_round_time([1.0, 3.0], 3) == 3.0


def test_malenia_slower_than_rennala_with_equal_times():
    tau = [1.3] * 4
    for S in (1, 4, 9, 40):
        assert th.malenia_round_time(tau, S) >= th.rennala_round_time(tau, S)


# --------------------------------------------------------------------- synchronous


def test_synchronous_round_time():
    tau = [1.0, 2.0, 3.0]
    assert th.synchronous_round_time(tau) == 3.0
    assert th.synchronous_round_time(tau, b=2) == 6.0
    assert th.synchronous_round_time(tau, c=[5.0, 0.0, 1.0]) == 6.0
    assert th.synchronous_round_time(tau, c=0.5, b=3) == 9.5


# ----------------------------------------------------------- universal computation model


def constant_speeds(tau):
    return [[0.0]] * len(tau), [[1.0 / t] for t in tau]


@fast
@given(st.lists(st.floats(0.05, 20.0), min_size=1, max_size=5), st.integers(1, 30),
       st.integers(1, 4))
def test_universal_constant_speeds_reproduce_rennala(tau, S, K):
    ends = th.universal_round_ends(*constant_speeds(tau), S, K)
    T_R = th.rennala_round_time(tau, S)
    assert np.allclose(ends, T_R * np.arange(1, K + 1), rtol=REL, atol=0)


def test_universal_outage_single_worker():
    # speed 1 except an outage on [1.5, 3.5): W reaches 3 at 5; the next round 6, 7, 8
    ends = th.universal_round_ends([[0.0, 1.5, 3.5]], [[1.0, 0.0, 1.0]], 3, 2)
    assert np.allclose(ends, [5.0, 8.0], rtol=REL, atol=0)


@pytest.mark.parametrize("start, length", [(0.3, 2.0), (9.1, 0.7), (40.0, 5.0)])
def test_universal_outage_delays_one_round_by_its_length(start, length):
    tau, S, K = 1.7, 4, 8
    T = S * tau
    ends = th.universal_round_ends([[0.0, start, start + length]],
                                   [[1 / tau, 0.0, 1 / tau]], S, K)
    k = np.arange(1, K + 1)
    expected = np.where(k * T > start, k * T + length, k * T)
    assert np.allclose(ends, expected, rtol=REL, atol=0)


def test_universal_outage_of_fast_worker():
    # without the outage worker 0 makes the round (ends at 2); with it worker 1's two
    # gradients at 3 and 6 end the round at 6
    tau, S = [1.0, 3.0], 2
    ends = th.universal_round_ends([[0.0, 0.5, 10.0], [0.0]], [[1.0, 0.0, 1.0], [1 / 3]], S, 1)
    assert np.allclose(ends, [6.0], rtol=REL, atol=0)
    assert th.universal_round_ends(*constant_speeds(tau), S, 1)[0] == pytest.approx(2.0)


def test_universal_round_times_add_up():
    # speeds double exactly at the end of round 1: round 2 lasts T_R(τ/2, S)
    tau, S = np.array(TAU3), 6
    t1 = th.rennala_round_time(tau, S)
    ends = th.universal_round_ends([[0.0, t1]] * 3, [[1 / t, 2 / t] for t in tau], S, 2)
    assert np.allclose(ends, [t1, t1 + th.rennala_round_time(tau / 2, S)], rtol=REL, atol=0)


def test_universal_never_ending_round_is_inf():
    ends = th.universal_round_ends([[0.0, 2.5]], [[1.0, 0.0]], 2, 3)
    assert ends[0] == pytest.approx(2.0) and np.all(np.isinf(ends[1:]))


# ------------------------------------------------------------------ time complexities


EPS = np.array([0.3, 0.1, 0.01])


def test_complexities_by_hand_equal_times():
    h, n = np.full(4, 2.0), 4
    e = 0.1
    assert close(cx.complexity_minibatch_sgd(h, e), 2.0 * (1 / e + 1 / (n * e**2)))
    assert close(cx.complexity_async_sgd(h, e), 2.0 * (1 / e + 1 / (n * e**2)))
    assert close(cx.complexity_malenia_sgd(h, e), 2.0 * (1 / e + 1 / (n * e**2)))
    r = cx.complexity_rennala_sgd(h, e)
    assert close(r.time, 2.0 * (1 / e + 1 / (n * e**2))) and r.m == n
    assert close(cx.complexity_sync_pg(h, e, kappa=3.0), 5.0 * (e**-2 + 1 / (n * e**4)))
    assert close(cx.complexity_rennala_pg(h, e, kappa=3.0).time,
                 2.0 * (e**-2 + 1 / (n * e**4)) + 3.0 * e**-2)
    assert close(cx.complexity_sync_nigt(h, e, kappa=3.0), (2.0 / n + 3.0) * e**-3.5)
    assert close(cx.complexity_afedpg(h, e, kappa=3.0),
                 2.0 * (n ** (4 / 3) * e ** (-7 / 3) + 1 / (n * e**3.5)) + 3.0 * e**-3)
    # with equal times Rennala NIGT (at m = n) and Malenia NIGT coincide
    assert close(cx.complexity_rennala_nigt(h, e, kappa=3.0).time,
                 cx.complexity_malenia_nigt(h, e, kappa=3.0))


def test_nigt_constants():
    h, e = np.array([1.0, 4.0]), 0.2
    iters = 2.0 * 5.0 / e**2 + math.sqrt(3.0) * 5.0 / e**1.5
    noise = 0.7**2 / (2 * e**2) + 0.7**2 * math.sqrt(3.0) * 5.0 / (2 * e**3.5)
    got = cx.complexity_malenia_nigt(h, e, kappa=0.5, L=2.0, Delta=5.0, sigma=0.7, L_h=3.0,
                                     gamma=0.9)
    assert close(got, 0.5 * iters + 10.0 * (4.0 * iters + 2.5 * noise))


@fast
@given(st.lists(st.floats(0.05, 20.0), min_size=1, max_size=8))
def test_complexity_orderings(tau):
    e = EPS
    r = cx.complexity_rennala_sgd(tau, e)
    a = cx.complexity_async_sgd(tau, e)
    assert np.all(r.time <= a * (1 + REL))
    assert np.all(a <= cx.complexity_minibatch_sgd(tau, e) * (1 + REL))
    assert np.all(r.time <= cx.complexity_malenia_sgd(tau, e) * (1 + REL))  # AM ≥ HM
    rn = cx.complexity_rennala_nigt(tau, e, kappa=1.0)
    assert np.all(rn.time <= cx.complexity_malenia_nigt(tau, e, kappa=1.0) * (1 + REL))
    rp = cx.complexity_rennala_pg(tau, e, kappa=1.0)
    assert np.all(rp.time <= cx.complexity_sync_pg(tau, e, kappa=1.0) * (1 + REL))
    for res in (r, rn, rp):
        assert res.time.shape == e.shape and np.all((1 <= res.m) & (res.m <= len(tau)))


def test_rennala_scaling_with_sqrt_times():
    # prediction 9: with τ_i = √i the Rennala time is non-increasing in n and m* saturates;
    # the synchronous time grows like √n
    h = np.sqrt(np.arange(1, 201))
    e = 0.1
    times = [cx.complexity_rennala_pg(h[:n], e).time for n in range(1, 201)]
    assert np.all(np.diff(times) <= 1e-12 * np.array(times[1:]))
    m_star = cx.complexity_rennala_pg(h, e).m
    assert 1 < m_star < 200 and times[-1] == times[m_star - 1]
    assert th.synchronous_round_time(h) / th.synchronous_round_time(h[:50]) == pytest.approx(2)
    # m* grows as the target gets stricter
    assert np.all(np.diff(cx.complexity_rennala_sgd(h, EPS).m) >= 0)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("call", [
    lambda: th.equilibrium_time([], 3),
    lambda: th.equilibrium_time([1.0, -1.0], 3),
    lambda: th.equilibrium_time([1.0, np.inf], 3),
    lambda: th.equilibrium_time([1.0], 0),
    lambda: th.equilibrium_time_with_comm([1.0, 2.0], [1.0], 3),
    lambda: th.equilibrium_time_with_comm([1.0, 2.0], -1.0, 3),
    lambda: th.async_arrivals([1.0], -0.5),
    lambda: th.async_arrival_times([1.0], 0),
    lambda: th.rennala_round_time([1.0], 2.5),
    lambda: th.rennala_round_time([1.0], True),
    lambda: th.rennala_round_time([[1.0]], 2),
    lambda: th.malenia_round_time([1.0], 0),
    lambda: th.synchronous_round_time([1.0], b=0),
    lambda: th.universal_round_ends([[0.0]], [[1.0], [1.0]], 1, 1),
    lambda: th.universal_round_ends([[1.0]], [[1.0]], 1, 1),
    lambda: th.universal_round_ends([[0.0, 1.0]], [[1.0, -1.0]], 1, 1),
    lambda: th.universal_round_ends([[0.0, 0.0]], [[1.0, 1.0]], 1, 1),
    lambda: cx.complexity_rennala_sgd([1.0], 0.0),
    lambda: cx.complexity_sync_pg([1.0], 0.1, kappa=-1.0),
    lambda: cx.complexity_rennala_nigt([1.0], 0.1, gamma=1.0),
])
def test_invalid_inputs_raise(call):
    with pytest.raises(ValueError):
        call()
