"""Aggregations: incremental trackers against their pure stop rules, exact stop rules,
and the combine weights (Rennala count-weighted, Malenia equal per worker)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from asyncnigt.aggregation import AGGREGATIONS, CONTINUE, DONE, IDLE
from asyncnigt.aggregation.base import row_sum, worker_sums
from asyncnigt.aggregation.malenia import MALENIA
from asyncnigt.aggregation.rennala import RENNALA
from asyncnigt.aggregation.synchronous import SYNCHRONOUS

fast = settings(deadline=None, max_examples=150)


@st.composite
def arrivals(draw, max_n=8, max_M=60):
    n = draw(st.integers(1, max_n))
    M = draw(st.integers(1, max_M))
    # skewed arrival sequences: some workers much more frequent than others
    weights = draw(st.lists(st.integers(1, 20), min_size=n, max_size=n))
    pool = [i for i, w in enumerate(weights) for _ in range(w)]
    seq = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=400))
    return n, M, seq


def replay(agg, n, M, seq):
    """Feed ``seq`` to a tracker (skipping idle workers) and check every answer against the
    pure rule; returns the counts at DONE (or None if the sequence ran out first)."""
    tracker = agg.tracker(n, M)
    counts = np.zeros(n, dtype=int)
    idle = set()
    for i in seq:
        if i in idle:
            continue
        status = tracker.add(i)
        counts[i] += 1
        assert list(tracker.counts) == counts.tolist()
        if status == DONE:
            assert agg.done(counts, M)
            return counts
        assert not agg.done(counts, M)
        assert status in (CONTINUE, IDLE)
        if status == IDLE:
            idle.add(i)
    return None


def test_registry():
    assert set(AGGREGATIONS) == {"rennala", "malenia", "synchronous"}


@pytest.mark.parametrize("name", sorted(AGGREGATIONS))
@fast
@given(case=arrivals())
def test_tracker_agrees_with_pure_done(name, case):
    n, M, seq = case
    replay(AGGREGATIONS[name], n, M, seq)


@fast
@given(case=arrivals())
def test_rennala_stops_at_exactly_M(case):
    n, M, seq = case
    counts = replay(RENNALA, n, M, seq)
    if counts is not None:
        assert counts.sum() == M
    else:
        assert len(seq) < M


@fast
@given(case=arrivals(max_M=6))
def test_synchronous_stops_when_every_worker_has_b(case):
    n, b, seq = case
    counts = replay(SYNCHRONOUS, n, b, seq)
    if counts is not None:
        assert counts.tolist() == [b] * n  # idle workers are never fed again


def exact_malenia(counts, M):
    n = len(counts)
    if min(counts) < 1:
        return False
    return sum(Fraction(1, int(c)) for c in counts) <= Fraction(n * n, M)


@st.composite
def malenia_cases(draw):
    """Counts and a batch M at, just below or just above the threshold M = n²/Σ 1/M_i
    (equality is reached whenever that is an integer), or any M."""
    counts = draw(st.lists(st.integers(1, 40), min_size=1, max_size=10))
    if draw(st.booleans()):
        counts = [draw(st.integers(1, 40))] * len(counts)  # equal counts: equality at M = n c
    n = len(counts)
    crit = Fraction(n * n) / sum(Fraction(1, c) for c in counts)
    near = sorted({max(1, int(crit) + d) for d in (-1, 0, 1)})
    M = draw(st.one_of(st.sampled_from(near), st.integers(1, 400)))
    if draw(st.booleans()):
        counts[draw(st.integers(0, n - 1))] = 0  # a worker without a gradient: never done
    return counts, M


@settings(deadline=None, max_examples=500)
@given(case=malenia_cases())
def test_malenia_done_is_the_exact_harmonic_rule(case):
    """((1/n) Σ 1/M_i)^{-1} ≥ M/n decided exactly, including the integer cases where the two
    sides are equal (e.g. all M_i = M/n)."""
    counts, M = case
    assert MALENIA.done(np.array(counts), M) == exact_malenia(counts, M)
    if min(counts) >= 1:  # the tracker reaching these counts in any order agrees
        seq = [i for i, c in enumerate(counts) for _ in range(c)]
        tracker = MALENIA.tracker(len(counts), M)
        statuses = [tracker.add(i) for i in seq[::-1]]
        assert (statuses[-1] == DONE) == exact_malenia(counts, M)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6, 7, 10, 12])
@pytest.mark.parametrize("c", [1, 3, 5, 7, 10, 11])
def test_malenia_equal_counts_meet_the_threshold_exactly(n, c):
    counts = np.full(n, c)
    assert MALENIA.done(counts, n * c)  # equality: done
    assert not MALENIA.done(counts, n * c + 1)
    tracker = MALENIA.tracker(n, n * c)
    statuses = [tracker.add(i) for _ in range(c) for i in range(n)]
    assert statuses[-1] == DONE and DONE not in statuses[:-1]


vec = arrays(np.float64, st.tuples(st.integers(1, 6), st.just(3)),
             elements=st.floats(-100, 100, allow_nan=False))


@fast
@given(data=st.data())
def test_malenia_combine_is_plain_mean_of_worker_constants(data):
    consts = data.draw(vec)
    n = consts.shape[0]
    counts = np.array(data.draw(st.lists(st.integers(1, 1000), min_size=n, max_size=n)))
    grads = np.repeat(consts, counts, axis=0)
    np.testing.assert_allclose(MALENIA.combine(grads, counts), consts.mean(axis=0),
                               rtol=1e-12, atol=1e-10)


@fast
@given(data=st.data())
def test_rennala_and_sync_combine_are_count_weighted(data):
    consts = data.draw(vec)
    n = consts.shape[0]
    counts = np.array(data.draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n)
                                .filter(any)))  # workers may contribute nothing
    grads = np.repeat(consts, counts, axis=0)
    expected = (counts[:, None] * consts).sum(axis=0) / counts.sum()
    for agg in (RENNALA, SYNCHRONOUS):
        np.testing.assert_allclose(agg.combine(grads, counts), expected, rtol=1e-12, atol=1e-10)


def test_combines_differ_when_counts_differ():
    consts = np.array([[1.0, 0.0], [0.0, 1.0]])
    counts = np.array([3, 1])
    grads = np.repeat(consts, counts, axis=0)
    np.testing.assert_allclose(MALENIA.combine(grads, counts), [0.5, 0.5])
    np.testing.assert_allclose(RENNALA.combine(grads, counts), [0.75, 0.25])


def test_worker_sums_add_each_workers_rows():
    grads = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [0.5, 0.25], [-7.0, 8.0], [2.0, 1.0]])
    counts = np.array([2, 0, 1, 3])  # dyadic values: every summation order is exact
    expected = [[4.0, 6.0], [5.0, 6.0], [-4.5, 9.25]]  # contributing workers only
    assert np.array_equal(worker_sums(grads, counts), np.array(expected))


def test_combine_is_pure():
    grads = np.arange(12.0).reshape(6, 2)
    counts = np.array([1, 2, 3])
    keep = grads.copy(), counts.copy()
    for agg in AGGREGATIONS.values():
        a, b = agg.combine(grads, counts), agg.combine(grads, counts)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(grads, keep[0])
        np.testing.assert_array_equal(counts, keep[1])


@pytest.mark.parametrize("shape", [(1, 2), (7, 3), (500, 8), (2000, 64), (3, 1000), (40, 1),
                                   (1, 1)])
def test_row_sum_is_sum_over_rows_bit_for_bit(shape):
    """row_sum (einsum where it is faster) adds the rows in the order of
    ``grads.sum(axis=0)``, also for a non-contiguous view."""
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    grads = rng.standard_normal(shape) * 10.0 ** rng.uniform(-8, 8, (shape[0], 1))
    assert np.array_equal(row_sum(grads), grads.sum(axis=0))
    view = np.asfortranarray(grads)
    assert np.array_equal(row_sum(view), view.sum(axis=0))
