"""Prediction 8 of reference/timing-theory.md: random computation times.

Every check is a z-test whose tolerance is derived here from the central limit theorem
(or the Kolmogorov distribution), never tuned: a check fails when |z| > Z = 4, which a
correct emulator does with probability P(|N(0,1)| > 4) ≈ 6.3e-5 for a random seed. Each
test states its false-failure probability (union bound over its checks); the seeds are
fixed, so the suite is deterministic. Each test also shows *power*: the same tolerance
rejects a nearby wrong answer (an off-by-one batch, a non-Poisson process, the naive
mean-based formula), so no check here is vacuous.

Reference quantities come from exact distributions (Poisson, Gamma) or from an
independent Monte-Carlo simulation in plain numpy (``emulate.mc_*``), which draws its
durations from the documented parametrizations (docs/scenarios.md), not from asyncnigt.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from emulate import (
    doc,
    emulate,
    mc_malenia_rounds,
    mc_rennala_rounds,
    mc_synchronous_rounds,
    two_sided_p,
    welch_z,
    wilson_hilferty,
)

Z = 4.0
P_ONE = two_sided_p(Z)  # ≈ 6.3e-5 per check
MEANS = [0.5, 0.8, 1.3, 2.1, 3.4, 5.5]  # exponential means 1/λ_i of six workers
RATE = sum(1 / m for m in MEANS)  # Λ = Σ λ_i ≈ 4.97


def lognormal(mean, sigma, rng):
    """Log-normal with the given means (per worker, last axis 1) and log-sd σ:
    exp(N(μ_i, σ²)) with μ_i = ln(mean_i) − σ²/2 (docs/scenarios.md)."""
    mu = np.log(np.asarray(mean, float)) - sigma**2 / 2
    return lambda shape: rng.lognormal(mu[None, :, None], sigma, shape)


# ------------------------------------------------ Poisson arrivals of asynchronous SGD


def poisson_scores(times: np.ndarray, rate: float, T: float, blocks: int) -> dict:
    """z-scores of three Poisson-process checks of arrival times in [0, T]:

    * ``count``: N(T) ~ Poisson(ΛT), z = (N − ΛT)/√(ΛT);
    * ``dispersion``: counts c_b in ``blocks`` equal intervals are i.i.d. Poisson, so
      D = Σ_b (c_b − c̄)²/c̄ ~ χ²_{B−1} (index of dispersion), z by Wilson–Hilferty
      (a renewal process with less variable times gives D ≪ B − 1);
    * ``ks``: inter-arrival times are i.i.d. Exp(Λ); √N·sup|F_N − F| has the Kolmogorov
      law, P(> x) ≈ 2 exp(−2x²); returned as the z with the same two-sided tail.
    """
    N = times.size
    c = np.bincount(np.minimum((times / (T / blocks)).astype(int), blocks - 1),
                    minlength=blocks)
    D = float(np.sum((c - c.mean()) ** 2) / c.mean())
    gaps = np.sort(np.diff(np.r_[0.0, times]))
    F = -np.expm1(-rate * gaps)
    k = np.arange(1, N + 1)
    ks = math.sqrt(N) * max(np.max(k / N - F), np.max(F - (k - 1) / N))
    p_ks = min(1.0, 2 * math.exp(-2 * ks * ks))
    return {
        "count": (N - rate * T) / math.sqrt(rate * T),
        "dispersion": wilson_hilferty(D, blocks - 1),
        "ks": math.sqrt(2) * _erfcinv(p_ks),
    }


def _erfcinv(p: float) -> float:
    """Inverse of erfc on (0, 2] by bisection (no scipy)."""
    lo, hi = 0.0, 10.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if math.erfc(mid) > p else (lo, mid)
    return lo


def test_8_asgd_exponential_arrivals_are_poisson():
    """Exponential times with rates λ_i: ASGD arrivals are a Poisson process of rate Σλ_i.
    Three checks at Z = 4: false-failure probability ≤ 3·6.3e-5 ≈ 1.9e-4.
    Power: gamma times (shape 4) with the same means give the same rate but dispersion
    index ≈ 1/4 (z ≈ −15), and the check rejects them."""
    T, blocks = 4000.0, 400
    exp_run = emulate(doc({"model": "exponential", "mean": MEANS}, "asgd", n=6,
                          stop={"time": T}, seed=1))
    scores = poisson_scores(exp_run.times, RATE, T, blocks)
    assert all(abs(z) <= Z for z in scores.values()), scores
    gamma_run = emulate(doc({"model": "gamma", "shape": 4.0, "mean": MEANS}, "asgd", n=6,
                            stop={"time": T}, seed=1))
    assert poisson_scores(gamma_run.times, RATE, T, blocks)["dispersion"] < -Z


# --------------------------------------------- Rennala rounds with exponential times


def test_8_rennala_exponential_round_is_gamma():
    """Cancel semantics restarts every worker, so a round's arrivals are the same Poisson
    process from the round start and the round lasts the S-th arrival ~ Gamma(S, Λ):
    mean S/Λ, variance S/Λ², and rounds are i.i.d.
    z(mean) = (m̄ − S/Λ)/(√S/Λ/√K); z(var) = (s² − σ²)/(σ²√((2 + 6/S)/K)) (Gamma's
    excess kurtosis is 6/S). Two checks: false-failure probability ≤ 1.3e-4.
    Power: the off-by-one stops (S ± 1 gradients) are rejected (z ≈ ±11)."""
    S, K = 25, 3000
    run = emulate(doc({"model": "exponential", "mean": MEANS}, {"name": "rennala_sgd",
                       "batch": S}, n=6, stop={"updates": K}, seed=2))
    d = run.rounds
    assert np.diff(run.column("gradients_used")).tolist() == [S] * K

    def z_mean(s):
        return (d.mean() - s / RATE) / (math.sqrt(s) / RATE / math.sqrt(K))

    var = S / RATE**2
    z_var = (d.var(ddof=1) - var) / (var * math.sqrt((2 + 6 / S) / K))
    assert abs(z_mean(S)) <= Z and abs(z_var) <= Z, (z_mean(S), z_var)
    assert z_mean(S + 1) < -Z and z_mean(S - 1) > Z


# -------------------------------------- Rennala and synchronous rounds vs Monte-Carlo


@pytest.mark.parametrize("timing", [
    {"model": "lognormal", "mean": [1.0, 1.4, 1.7, 2.0, 2.2], "sigma": 0.5},
    {"model": "jitter", "base": [1.0, 1.3, 1.9, 2.6, 3.1], "jitter": 0.4,
     "kind": "halfnormal"},
    {"model": "jitter", "base": [1.0, 1.3, 1.9, 2.6, 3.1], "jitter": 0.4,
     "kind": "exponential"},
])
@pytest.mark.parametrize("S,K,M", [(12, 3000, 40_000), (140, 1500, 10_000)])
def test_8_rennala_round_mean_matches_monte_carlo(timing, S, K, M):
    """Mean Rennala round time (cancel semantics): K emulated rounds vs M Monte-Carlo
    rounds; Welch z with both sample variances (rounds are i.i.d.). S = 12 runs on the
    event-level path, S = 140 on the vectorized fast path (n + S ≥ 128). One check:
    false-failure probability 6.3e-5. Power: the Monte-Carlo mean of S + 1 (S + 2 for
    S = 140, whose rounds are relatively less variable) is rejected by > 10 SE on average."""
    n = 5
    run = emulate(doc(timing, {"name": "rennala_sgd", "batch": S}, n=n,
                      stop={"updates": K}, seed=3))
    rng = np.random.default_rng(30)
    sample = _sampler(timing, rng)
    J = min(S, 100)  # checked: every worker's J-th completion comes after the round end
    z, _ = welch_z(run.rounds, mc_rennala_rounds(sample, n, S, M, J=J))
    assert abs(z) <= Z, z
    z_wrong, _ = welch_z(run.rounds, mc_rennala_rounds(sample, n, S + 1 + S // 100, M, J=J))
    assert abs(z_wrong) > Z


def _sampler(timing, rng):
    if timing["model"] == "lognormal":
        return lognormal(timing["mean"], timing["sigma"], rng)
    base = np.asarray(timing["base"], float)[None, :, None]
    s = timing["jitter"]
    if timing["kind"] == "halfnormal":
        return lambda shape: base + np.abs(rng.normal(0.0, s, shape))
    return lambda shape: base + rng.exponential(s, shape)


def test_8_synchronous_round_mean_matches_monte_carlo():
    """Synchronous round, b = 2 log-normal gradients per worker plus κ: E[max_i (X_i1 +
    X_i2)] + κ, K = 3000 emulated rounds vs M = 100 000 Monte-Carlo rounds. One check:
    false-failure probability 6.3e-5. Power: the naive mean-based value
    max_i 2·mean_i + κ (no closed form exists for random times) is rejected."""
    means, sigma, b, kappa, K, M = [1.0, 1.2, 1.5, 1.6], 0.4, 2, 0.25, 3000, 100_000
    run = emulate(doc({"model": "lognormal", "mean": means, "sigma": sigma},
                      {"name": "minibatch_sgd", "batch": b}, n=4, stop={"updates": K},
                      comm={"aggregate": kappa}, seed=4))
    mc = mc_synchronous_rounds(lognormal(means, sigma, np.random.default_rng(40)), 4, b, M)
    z, se = welch_z(run.rounds, mc + kappa)
    assert abs(z) <= Z, z
    naive = max(b * m for m in means) + kappa
    assert abs(run.rounds.mean() - naive) > Z * se


@pytest.mark.slow
def test_8_malenia_round_mean_matches_monte_carlo():
    """Mean Malenia round (cancel semantics, S = 16, n = 4, log-normal): K = 3000 emulated
    rounds vs M = 20 000 Monte-Carlo rounds (stop rule decided exactly near equality).
    One check: false-failure probability 6.3e-5. Power: S = 20 is rejected."""
    means, sigma, S, K, M = [0.6, 1.0, 1.7, 2.5], 0.5, 16, 3000, 20_000
    run = emulate(doc({"model": "lognormal", "mean": means, "sigma": sigma},
                      {"name": "malenia_sgd", "batch": S}, n=4, stop={"updates": K},
                      seed=5))
    sample = lognormal(means, sigma, np.random.default_rng(50))
    z, _ = welch_z(run.rounds, mc_malenia_rounds(sample, 4, S, M, J=48))
    assert abs(z) <= Z, z
    z_wrong, _ = welch_z(run.rounds, mc_malenia_rounds(sample, 4, 20, M, J=48))
    assert abs(z_wrong) > Z


@pytest.mark.slow
def test_8_rennala_gamma_many_workers_matches_monte_carlo():
    """Rennala with n = 30 gamma workers (shape 2, means √i), S = 120: K = 2000 emulated
    rounds vs M = 10 000 Monte-Carlo rounds. One check: false-failure probability 6.3e-5.
    Power: S + 2 is rejected."""
    n, S, K, M = 30, 120, 2000, 10_000
    means = np.sqrt(np.arange(1, n + 1))
    run = emulate(doc({"model": "gamma", "shape": 2.0, "mean": {"preset": "sqrt"}},
                      {"name": "rennala_sgd", "batch": S}, n=n, stop={"updates": K},
                      seed=6))
    rng = np.random.default_rng(60)

    def sample(shape):
        return rng.gamma(2.0, (means / 2.0)[None, :, None], shape)

    z, _ = welch_z(run.rounds, mc_rennala_rounds(sample, n, S, M, J=40))
    assert abs(z) <= Z, z
    z_wrong, _ = welch_z(run.rounds, mc_rennala_rounds(sample, n, S + 2, M, J=40))
    assert abs(z_wrong) > Z
