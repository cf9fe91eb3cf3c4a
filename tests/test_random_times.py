"""Random-time predictions (asyncnigt.timing.random_times) against the fixed-time closed
forms and against exact distributions.

Statistical checks use |z| ≤ 4 with fixed seeds (two-sided false-failure probability
6e-5 per check if the seed were drawn at random).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from asyncnigt.timing import random_times as rt
from asyncnigt.timing import theory as th
from asyncnigt.timing.durations import Exponential, Fixed, LogNormal, Trace

TAU = [math.sqrt(p) for p in (2, 3, 5, 7, 11, 13)]


def fixed(tau):
    return [Fixed(t) for t in tau]


@pytest.mark.parametrize("S", [1, 4, 9, 30])
def test_fixed_times_reproduce_the_closed_forms(S):
    rng = np.random.default_rng(0)
    models = fixed(TAU)
    assert rt.sample_rennala_round(models, S, rng, 3) == pytest.approx(
        [th.rennala_round_time(TAU, S)] * 3, rel=1e-12)
    assert rt.sample_malenia_round(models, S, rng, 2) == pytest.approx(
        [th.malenia_round_time(TAU, S)] * 2, rel=1e-12)
    assert rt.sample_synchronous_round(models, rng, 2, b=3) == pytest.approx(
        [th.synchronous_round_time(TAU, b=3)] * 2, rel=1e-12)


def test_malenia_decides_equality_exactly():
    """n = 2, S = 4: the stop rule Σ 1/M_i ≤ 1 holds with equality at M = (2, 2)."""
    rng = np.random.default_rng(0)
    assert rt.sample_malenia_round(fixed([1.0, 1.0]), 4, rng, 1)[0] == 2.0
    assert th.malenia_round_time([1.0, 1.0], 4) == 2.0


def test_renewal_rate_and_variance():
    assert rt.async_rate_renewal(fixed(TAU)) == pytest.approx(th.async_rate(TAU))
    assert rt.async_count_var_renewal(fixed(TAU), 100.0) == 0.0
    means = [1.0, 2.0, 4.0]
    expo = [Exponential(m) for m in means]
    # Poisson: variance t Σ λ_i
    assert rt.async_count_var_renewal(expo, 10.0) == pytest.approx(10.0 * 1.75)


def test_exponential_rennala_round_is_gamma():
    means = [1.0, math.sqrt(2), math.sqrt(3), 2.0]
    S, reps = 7, 20000
    sample = rt.sample_rennala_round([Exponential(m) for m in means], S,
                                     np.random.default_rng(3), reps)
    mu = rt.rennala_round_mean_exponential(means, S)
    var = rt.rennala_round_var_exponential(means, S)
    assert abs(sample.mean() - mu) <= 4 * math.sqrt(var / reps)
    # variance of a Gamma(S, rate): the sample variance is within a few percent
    assert sample.var() == pytest.approx(var, rel=0.05)


def test_synchronous_exponential_mean_of_the_maximum():
    """max of n i.i.d. Exp(1) has mean H_n (harmonic number)."""
    n, reps = 5, 40000
    sample = rt.sample_synchronous_round([Exponential(1.0)] * n, np.random.default_rng(4), reps)
    h_n = sum(1.0 / k for k in range(1, n + 1))
    var = sum(1.0 / k**2 for k in range(1, n + 1))
    assert abs(sample.mean() - h_n) <= 4 * math.sqrt(var / reps)


def test_malenia_random_round_is_at_least_the_slowest_first_completion():
    models = [LogNormal.from_mean(m, 0.5) for m in (1.0, 2.0, 3.0)]
    rng = np.random.default_rng(5)
    rounds = rt.sample_malenia_round(models, 2, rng, 200, block=2)  # tiny blocks: refills
    assert np.all(rounds > 0) and np.all(np.isfinite(rounds))
    # with S ≤ n the rule Σ 1/M_i ≤ n²/S holds as soon as every M_i ≥ 1: the round is the
    # maximum of the workers' first completions, whose mean is at least the largest mean
    assert rounds.mean() >= 3.0 - 4 * rounds.std() / math.sqrt(rounds.size)


def test_rejects_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        rt.sample_rennala_round([], 3, rng, 2)
    with pytest.raises(ValueError):
        rt.sample_rennala_round(fixed(TAU), 0, rng, 2)
    with pytest.raises(ValueError):
        rt.sample_rennala_round([Trace((1.0, 2.0), mode="replay")], 2, rng, 2)
    with pytest.raises(ValueError):
        rt.rennala_round_mean_exponential([1.0, -1.0], 3)
