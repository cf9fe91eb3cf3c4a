"""Hypothesis properties of the *emulator* (not of the closed forms) for arbitrary τ and S.

Each example runs the emulator on a generated τ vector (any order, ties allowed) and
checks inequalities of reference/timing-theory.md on the measured round times:

* prediction 2: t*(S) ≤ T_R ≤ 2 t*(S), T_R ≤ min_m (Σ_{i≤m} 1/τ_(i))^{-1}(S + m), and
  T_R equals the S-th smallest j·τ_i;
* Rennala is never slower than the synchronous round that uses at least as many
  gradients: with b = ⌈S/n⌉ per worker, at t = b·max τ every worker has b gradients, so
  Σ_i ⌊t/τ_i⌋ ≥ n b ≥ S and T_R(S) ≤ b·max_i τ_i;
* prediction 5: the Malenia round is ≥ max_i τ_i, ≤ 2(τ_n + (S/n)(1/n) Σ τ_i), and ≥ the
  Rennala round with the same S (AM ≥ HM: it collects ≥ S gradients);
* prediction 3: ignore-semantics rounds lie in [T_R, min{t : Σ_i max(0, ⌊t/τ_i⌋ − 1) ≥ S}];
* prediction 1: stopping ASGD at a time T applies exactly N(T) = Σ_i ⌊T/τ_i⌋ updates.

Measured times are compared with rel 1e-9 (the emulator accumulates ``now + τ``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from emulate import REL, doc, emulate
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from asyncnigt.timing import theory as th

taus = st.lists(st.floats(0.05, 20.0, allow_nan=False, allow_infinity=False),
                min_size=1, max_size=12)
# rounds of S + n − 1 ≥ 24 jobs take the round server's vectorized fast path
# (sim/fast_round.py, round_server.FAST_MIN_EVENTS), smaller ones the event-level path
batches = st.integers(1, 250)
examples = settings(deadline=None, max_examples=150)


def measured_round(tau, method: dict, K: int = 2) -> np.ndarray:
    return emulate(doc(tau, method, stop={"updates": K})).rounds


@examples
@given(taus, batches)
def test_2_rennala_round_in_equilibrium_bracket(tau, S):
    d = measured_round(tau, {"name": "rennala_sgd", "batch": S})
    t_star = th.equilibrium_time(tau, S).time
    srt = np.sort(tau)
    bound = np.min((S + np.arange(1, len(tau) + 1)) / np.cumsum(1 / srt))
    assert (d >= t_star * (1 - REL)).all()
    assert (d <= 2 * t_star * (1 + REL)).all()
    assert (d <= bound * (1 + REL)).all()
    np.testing.assert_allclose(d, th.rennala_round_time(tau, S), rtol=REL)


TIE_AFTER_DRIFT = [0.99999, 0.99999, 0.4653284452890391]


@examples
@given(taus, batches)
@example(TIE_AFTER_DRIFT, 1)
def test_rennala_never_slower_than_synchronous(tau, S):
    n = len(tau)
    b = math.ceil(S / n)
    rennala = measured_round(tau, {"name": "rennala_sgd", "batch": S})
    sync = measured_round(tau, {"name": "minibatch_sgd", "batch": b})
    np.testing.assert_allclose(sync, b * max(tau), rtol=REL)
    assert (rennala <= sync * (1 + REL)).all()


@examples
@given(taus, batches)
def test_5_malenia_round_at_least_max_tau(tau, S):
    malenia = measured_round(tau, {"name": "malenia_sgd", "batch": S})
    rennala = measured_round(tau, {"name": "rennala_sgd", "batch": S})
    assert (malenia >= max(tau) * (1 - REL)).all()
    assert (malenia <= th.malenia_round_upper_bound(tau, S) * (1 + REL)).all()
    assert (malenia >= rennala * (1 - REL)).all()


@examples
@given(taus, batches)
def test_3_ignore_rounds_within_bounds(tau, S):
    d = measured_round(tau, {"name": "rennala_sgd", "batch": S, "in_flight": "ignore"}, K=5)
    low = th.rennala_round_time(tau, S)
    high = th.rennala_round_time_ignore_bound(tau, S)
    assert (d >= low * (1 - REL)).all()
    assert (d <= high * (1 + REL)).all()


@examples
@given(taus, st.floats(0.1, 60.0))
def test_1_asgd_stopped_at_time_T_applies_N_T_updates(tau, T):
    tau_a = np.asarray(tau)
    ratio = T / tau_a
    # T must not lie within rounding of a completion j·τ_i (the emulator adds τ_i
    # repeatedly where ⌊T/τ_i⌋ divides): skip such boundary cases
    assume(np.all(np.abs(ratio - np.round(ratio)) > 1e-6))
    assume(np.sum(np.floor(ratio)) <= 5000)
    run = emulate(doc(tau, "asgd", stop={"time": T}))
    assert run.rows[-1]["update"] == int(np.sum(np.floor(ratio))) == th.async_arrivals(tau, T)


@pytest.mark.parametrize("tau,method,comm", [
    (TIE_AFTER_DRIFT, "minibatch_sgd", None),
    ([1.99238, 1.99238, 0.6978852463829285], "asgd", {"upload": [0, 0, 0.629865898887031]}),
])
def test_tie_after_clock_drift_regression(tau, method, comm):
    """Found by hypothesis (bug fixed in sim/pool.py): the clock advanced from an earlier
    event t to t + (a − t), one ulp past a, and arming the next job ending at exactly a
    (two workers tie there) raised SimPy's "Negative delay" error. Both cases crashed."""
    run = emulate(doc(tau, method, stop={"updates": 3}, comm=comm))
    assert len(run.times) == 3
    if method == "minibatch_sgd":
        np.testing.assert_allclose(run.rounds, max(tau), rtol=REL)
