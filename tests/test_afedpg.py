"""AFedPG as reconstructed in methods.md §4: the rule's hand expansion (stale momentum,
current θ, switchable delay-adaptive η_k) and the stream server feeding it the
dispatched state and the delay, replayed by hand on exact gradients."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_doc, scenario_doc

from asyncnigt.rules import afedpg
from asyncnigt.seeding import Streams

ALPHA, ETA = 0.1, 0.3


def unit(v):
    return v / np.linalg.norm(v)


def test_hand_expansion_of_a_stale_arrival():
    rule = afedpg(ALPHA, ETA)
    theta0 = np.array([1.0, -2.0, 0.5])
    gA, gB, gC = np.array([1.0, 2.0, 0.0]), np.array([0.0, -1.0, 3.0]), np.array([2.0, 0.0, 1.0])
    s0 = rule.init(theta0)
    np.testing.assert_array_equal(rule.query(s0), theta0)
    # job A (dispatched at s0) arrives first: it carried d_{-1} = 0, so d = g_A
    s1 = rule.update(s0, gA, dispatched=s0, delay=0)
    np.testing.assert_allclose(s1.theta, theta0 + ALPHA * unit(gA), rtol=1e-15)
    np.testing.assert_array_equal(s1.d, gA)
    np.testing.assert_array_equal(s1.theta_prev, theta0)
    # the lookahead point of a job dispatched at s1
    np.testing.assert_allclose(rule.query(s1), s1.theta + (1 - ETA) / ETA * (s1.theta - theta0))
    # job B (dispatched at s0, delay 1): its momentum is the one it carried (zero)
    s2 = rule.update(s1, gB, dispatched=s0, delay=1)
    np.testing.assert_allclose(s2.theta, s1.theta + ALPHA * unit(gB), rtol=1e-15)
    # job C (dispatched at s1, delay 1): d = (1−η) d_A + η g_C applied at the current θ
    s3 = rule.update(s2, gC, dispatched=s1, delay=1)
    d = (1 - ETA) * gA + ETA * gC
    np.testing.assert_allclose(s3.d, d, rtol=1e-15)
    np.testing.assert_allclose(s3.theta, s2.theta + ALPHA * unit(d), rtol=1e-15)
    np.testing.assert_array_equal(s3.theta_prev, s2.theta)


@pytest.mark.parametrize("delay, eta_k", [(0, ETA), (1, 2 * ETA), (2, 3 * ETA), (5, 1.0)])
def test_delay_adaptive_momentum(delay, eta_k):
    theta0, g0, g = np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0])
    for schedule, expected in (("constant", ETA), ("delay_adaptive", eta_k)):
        rule = afedpg(ALPHA, ETA, schedule)
        s1 = rule.update(rule.init(theta0), g0, dispatched=rule.init(theta0), delay=0)
        s2 = rule.update(s1, g, dispatched=s1, delay=delay)
        np.testing.assert_allclose(s2.d, (1 - expected) * g0 + expected * g, rtol=1e-15)
        # the lookahead keeps the constant η (a job's delay is unknown at dispatch)
        lookahead = s2.theta + (1 - ETA) / ETA * (s2.theta - s1.theta)
        np.testing.assert_allclose(rule.query(s2), lookahead)


def replay(times, grad, theta0, updates, schedule):
    """AFedPG by hand: fixed computation times, free communication, completions at the
    same instant in increasing worker index; returns θ after ``updates`` arrivals."""
    eta = ETA
    theta, prev, d, k = theta0.copy(), theta0.copy(), np.zeros_like(theta0), 0
    jobs = {}  # worker -> (finish time, dispatched (θ, θ_prev, d, k))

    def dispatch(i, now):
        jobs[i] = (now + times[i], (theta.copy(), prev.copy(), d.copy(), k))

    for i in range(len(times)):
        dispatch(i, 0.0)
    while k < updates:
        i = min(jobs, key=lambda w: (jobs[w][0], w))
        now, (th_j, prev_j, d_j, k_j) = jobs.pop(i)
        g = grad(th_j + (1 - eta) / eta * (th_j - prev_j))
        delay = k - k_j
        eta_k = min(1.0, eta * (1 + delay)) if schedule == "delay_adaptive" else eta
        d = g if k_j == 0 else (1 - eta_k) * d_j + eta_k * g
        theta, prev, k = theta + ALPHA * unit(d), theta, k + 1
        dispatch(i, now)
    return theta


@pytest.mark.parametrize("schedule", ["constant", "delay_adaptive"])
def test_emulator_equals_the_hand_replay(schedule):
    times = [1.0, 2.5, 4.0]  # ties (t = 4, 5, 8, 10, 12, 15, 16) exercise the tie rule
    doc = scenario_doc(times, {"name": "afedpg", "step_size": ALPHA, "momentum": ETA,
                               "momentum_schedule": schedule},
                       problem={"kind": "quadratic", "dim": 4, "noise": 0.0},
                       stop={"updates": 25})
    run = run_doc(doc)
    oracle = run.problem.oracle(Streams(0), 3)

    def grad(x):  # exact ascent direction −∇f (noise 0)
        return oracle.gradients(x[None], np.array([0])).grads[0]

    expected = replay(times, grad, run.theta0, 25, schedule)
    np.testing.assert_allclose(run.theta, expected, rtol=1e-12, atol=1e-14)
    assert run.column("time")[-1] == 16.0  # arrivals by t = 16: 16 + 6 + 4 (w0 first at ties)
