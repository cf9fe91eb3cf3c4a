"""LQR problem: exact J and ∇J, GPOMDP sampling, batching, heterogeneity, validation.

Statistical tests use fixed seeds, so they are deterministic; the false-failure
probabilities quoted are those of the same test under a fresh random seed (normal
approximation of the sample mean, N ≥ 4000).
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

from asyncnigt.problems.base import Evaluation
from asyncnigt.problems.lqr import LQRProblem, gpomdp_rollouts
from asyncnigt.problems.lqr_exact import LQRSystem, exact_objective_and_gradient
from asyncnigt.seeding import Streams

SEED = 12345
A2 = [[0.9, 0.2], [-0.1, 0.7]]
B2 = [[1.0], [0.5]]


def make_problem(heterogeneous: bool = False, **kw) -> LQRProblem:
    kw = {"state_dim": 3, "action_dim": 2, "horizon": 8, "gamma": 0.9, "policy_std": 0.5,
          "rng": Streams(SEED).generator("problem"), **kw}
    if heterogeneous:
        kw["worker_matrices"] = [{}, {"A": 0.5 * np.eye(3), "B": np.ones((3, 2))},
                                 {"Q": 2.0 * np.eye(3), "W": 0.3 * np.eye(3)}]
    return LQRProblem(**kw)


def some_theta(problem: LQRProblem, scale: float = 0.2) -> np.ndarray:
    return scale * np.random.default_rng(2).standard_normal(problem.dim)


# ----------------------------------------------------------------------- exact maths

@pytest.mark.parametrize("het", [False, True])
@pytest.mark.parametrize("gamma,horizon", [(0.9, 8), (1.0, 5), (0.99, 1), (0.5, 20)])
def test_exact_gradient_matches_central_differences(het, gamma, horizon):
    pb = make_problem(het, gamma=gamma, horizon=horizon)
    theta = some_theta(pb)
    grad = pb.exact_gradient(theta)
    h = 1e-5
    fd = np.array([(pb.exact_objective(theta + h * e) - pb.exact_objective(theta - h * e))
                   / (2 * h) for e in np.eye(pb.dim)])
    assert np.linalg.norm(fd - grad) / np.linalg.norm(grad) < 1e-6


def test_exact_objective_hand_computed_short_horizons():
    sigma, gamma = 0.3, 0.8
    K = np.array([[-0.4, 0.1]])
    pb = LQRProblem(horizon=2, gamma=gamma, policy_std=sigma, A=A2, B=B2, R=[[0.5]],
                    W=0.2 * np.eye(2), Sigma0=[[1.0, 0.3], [0.3, 2.0]])
    s = pb.system
    cost = s.Q + K.T @ s.R @ K
    M = s.A + s.B @ K
    sigma1 = M @ s.Sigma0 @ M.T + sigma**2 * s.B @ s.B.T + s.W
    j0 = -(np.trace(cost @ s.Sigma0) + sigma**2 * np.trace(s.R))
    j1 = -(np.trace(cost @ sigma1) + sigma**2 * np.trace(s.R))
    assert pb.exact_objective(K.ravel()) == pytest.approx(j0 + gamma * j1, rel=1e-13)


def test_exact_functions_broadcast_over_stacked_gains():
    pb = make_problem()
    Ks = 0.1 * np.random.default_rng(1).standard_normal((4, 2, 3))
    J, g = exact_objective_and_gradient(pb.system, Ks, 0.5, 0.9, 8)
    assert J.shape == (4,) and g.shape == (4, 2, 3)
    for j in range(4):
        Jj, gj = exact_objective_and_gradient(pb.system, Ks[j], 0.5, 0.9, 8)
        assert J[j] == pytest.approx(Jj, rel=1e-12)
        np.testing.assert_allclose(g[j], gj, rtol=1e-12)


# ----------------------------------------------------------------------- sampling

def test_exact_objective_matches_monte_carlo_returns():
    pb = make_problem(horizon=10)
    theta = some_theta(pb)
    n = 20_000
    oracle = pb.oracle(Streams(SEED), n_workers=1)
    returns, _ = oracle.rollouts(np.broadcast_to(theta, (n, pb.dim)), np.zeros(n, dtype=int))
    se = returns.std(ddof=1) / np.sqrt(n)
    # z = 4.5 two-sided: false-failure probability 2(1 − Φ(4.5)) ≈ 6.8e-6.
    assert abs(returns.mean() - pb.exact_objective(theta)) < 4.5 * se


@pytest.mark.parametrize("het,worker", [(False, 0), (True, 1), (True, 2)])
def test_gpomdp_is_unbiased_per_coordinate(het, worker):
    pb = make_problem(het)
    theta = some_theta(pb)
    exact = pb.exact_worker_gradients(theta)[worker if het else 0]
    n = 80_000
    oracle = pb.oracle(Streams(SEED), n_workers=3)
    grads = oracle.gradients(np.broadcast_to(theta, (n, pb.dim)),
                             np.full(n, worker)).grads
    se = grads.std(axis=0, ddof=1) / np.sqrt(n)
    # Bonferroni over the d coordinates: family-wise false-failure probability 1e-5.
    family_alpha = 1e-5
    z = NormalDist().inv_cdf(1 - family_alpha / (2 * pb.dim))
    assert np.all(np.abs(grads.mean(axis=0) - exact) < z * se)
    # The check has resolving power: its tolerance is small compared with ∇J itself.
    assert np.linalg.norm(z * se) < 0.25 * np.linalg.norm(exact)


def test_gpomdp_single_trajectory_by_hand():
    """One trajectory, H = 2, written out step by step."""
    sigma, gamma = 0.7, 0.9
    s = LQRSystem.validated(2, 1, A=A2, B=B2, Q=np.eye(2), R=[[0.5]], W=np.eye(2),
                            Sigma0=np.eye(2))
    K = np.array([[0.3, -0.2]])
    rng = np.random.default_rng(3)
    s0, w, eps = rng.standard_normal(2), rng.standard_normal((2, 2)), rng.standard_normal((2, 1))
    x, rewards, scores = s0, [], []
    for t in range(2):
        a = K @ x + sigma * eps[t]
        rewards.append(-(x @ s.Q @ x + a @ s.R @ a))
        scores.append(np.outer(a - K @ x, x) / sigma**2)
        x = s.A @ x + s.B @ a + w[t]
    g0, g1 = rewards[0] + gamma * rewards[1], gamma * rewards[1]
    ret, grad = gpomdp_rollouts(s, K[None], s0[None], w[None], eps[None], sigma, gamma)
    assert ret[0] == pytest.approx(g0, rel=1e-12)
    np.testing.assert_allclose(grad[0], g0 * scores[0] + g1 * scores[1], rtol=1e-12)


@pytest.mark.parametrize("het", [False, True])
def test_batching_never_changes_draws(het):
    pb = make_problem(het)
    points = 0.1 * np.random.default_rng(2).standard_normal((3, pb.dim))  # one K per row
    workers = np.array([0, 0, 1])
    together = pb.oracle(Streams(SEED), 3).gradients(points, workers)
    oracle = pb.oracle(Streams(SEED), 3)
    separate = [oracle.gradients(points[j:j + 1], workers[j:j + 1]).grads for j in range(3)]
    assert np.array_equal(together.grads, np.concatenate(separate))
    assert together.steps.tolist() == [pb.horizon] * 3
    # Interleaving another worker's rows, or a large batch, leaves each row unchanged.
    oracle = pb.oracle(Streams(SEED), 3)
    big = oracle.gradients(np.concatenate([points[:1], np.zeros((500, pb.dim)), points[1:]]),
                           np.concatenate([[0], np.full(500, 2), [0, 1]])).grads
    assert np.array_equal(big[[0, 501, 502]], together.grads)


def test_evaluate_is_exact_and_draws_nothing():
    pb = make_problem(True)
    theta = some_theta(pb)
    oracle = pb.oracle(Streams(SEED), 3)
    ev = oracle.evaluate(theta)
    assert isinstance(ev, Evaluation) and ev == pb.evaluate(theta)
    assert ev.objective == pytest.approx(pb.exact_objective(theta), rel=1e-14)
    assert ev.grad_norm == pytest.approx(np.linalg.norm(pb.exact_gradient(theta)), rel=1e-14)
    after = oracle.gradients(theta[None], np.array([0])).grads
    fresh = pb.oracle(Streams(SEED), 3).gradients(theta[None], np.array([0])).grads
    assert np.array_equal(after, fresh)


# ----------------------------------------------------------------------- heterogeneity

def test_heterogeneous_objective_is_the_worker_average():
    pb = make_problem(True)
    theta = some_theta(pb)
    singles = [LQRProblem(horizon=pb.horizon, gamma=pb.gamma, policy_std=pb.policy_std,
                          **{n: getattr(s, n) for n in ("A", "B", "Q", "R", "W", "Sigma0")})
               for s in pb.worker_systems]
    assert pb.heterogeneous and not singles[0].heterogeneous
    assert pb.exact_objective(theta) == pytest.approx(
        np.mean([p.exact_objective(theta) for p in singles]), rel=1e-12)
    per_worker = pb.exact_worker_gradients(theta)
    assert per_worker.shape == (3, pb.dim)
    np.testing.assert_allclose(per_worker, [p.exact_gradient(theta) for p in singles],
                               rtol=1e-12)
    np.testing.assert_allclose(pb.exact_gradient(theta), per_worker.mean(axis=0), rtol=1e-12)


def test_rennala_count_weighting_is_biased_malenia_is_not():
    pb = make_problem(True)
    theta = some_theta(pb)
    g_i = pb.exact_worker_gradients(theta)  # E[ḡ_i / M_i] = ∇J_i
    counts = np.array([20, 3, 1])  # a fast worker contributes most gradients
    rennala = counts @ g_i / counts.sum()  # E of Σ_i ḡ_i / Σ_i M_i
    malenia = g_i.mean(axis=0)  # E of (1/n) Σ_i ḡ_i / M_i
    exact = pb.exact_gradient(theta)
    np.testing.assert_allclose(malenia, exact, rtol=1e-12)
    assert np.linalg.norm(rennala - exact) > 0.1 * np.linalg.norm(exact)


# ----------------------------------------------------------------------- construction

def test_random_construction_is_reproducible_and_stable():
    a, b = make_problem(), make_problem()
    assert np.array_equal(a.system.A, b.system.A) and np.array_equal(a.system.B, b.system.B)
    assert np.abs(np.linalg.eigvals(a.system.A)).max() == pytest.approx(0.9, rel=1e-12)
    np.testing.assert_array_equal(a.system.Q, np.eye(3))
    assert (a.dim, a.sense, a.heterogeneous, a.steps_per_gradient) == (6, "max", False, 8)
    theta0 = a.initial_point(Streams(SEED).generator("init"))
    assert theta0.shape == (6,) and 0 < np.abs(theta0).max() < 0.01


def test_dimensions_inferred_from_explicit_matrices():
    pb = LQRProblem(A=A2, B=B2)  # no rng needed: nothing random
    assert (pb.state_dim, pb.action_dim, pb.dim) == (2, 1, 2)
    assert pb.gain(np.array([1.0, 2.0])).shape == (1, 2)


@pytest.mark.parametrize("kwargs,name", [
    ({"gamma": 0.0}, "gamma"),
    ({"gamma": 1.5}, "gamma"),
    ({"horizon": 0}, "horizon"),
    ({"horizon": 2.5}, "horizon"),
    ({"policy_std": 0.0}, "policy_std"),
    ({"policy_std": -1}, "policy_std"),
    ({"A": np.eye(2)}, "A"),
    ({"B": np.ones((3, 3))}, "B"),
    ({"Q": [[1, 2, 0], [0, 1, 0], [0, 0, 1]]}, "Q"),
    ({"W": -np.eye(3)}, "W"),
    ({"Sigma0": np.eye(4)}, "Sigma0"),
    ({"worker_matrices": [{}, {"A": np.eye(2)}]}, r"worker_matrices\[1\]\.A"),
    ({"worker_matrices": [{"C": np.eye(3)}]}, r"worker_matrices\[0\]"),
    ({"worker_matrices": []}, "worker_matrices"),
    ({"rng": None}, "rng"),
])
def test_invalid_inputs_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_problem(**kwargs)


def test_oracle_rejects_bad_requests():
    pb = make_problem(True)
    with pytest.raises(ValueError, match="n_workers"):
        pb.oracle(Streams(SEED), 2)
    oracle = pb.oracle(Streams(SEED), 3)
    with pytest.raises(ValueError, match="workers"):
        oracle.gradients(np.zeros((1, pb.dim)), np.array([3]))
    with pytest.raises(ValueError, match="points"):
        oracle.gradients(np.zeros((2, pb.dim)), np.array([0]))
    with pytest.raises(ValueError, match="theta"):
        pb.evaluate(np.zeros(pb.dim + 1))
