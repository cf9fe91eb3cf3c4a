"""GPOMDP estimator and the gymnasium problem/oracle."""

import gymnasium as gym
import numpy as np
import pytest

from asyncnigt.problems import gym_oracle
from asyncnigt.problems.base import Evaluation
from asyncnigt.problems.gpomdp import gpomdp, gpomdp_policy, reward_to_go_weights
from asyncnigt.problems.gym_oracle import (
    draw_trajectory_randomness,
    group_rows,
    worker_observations,
)
from asyncnigt.problems.gym_problem import GymProblem
from asyncnigt.problems.policies import (
    CategoricalMLPPolicy,
    GaussianMLPPolicy,
    LinearGaussianPolicy,
)
from asyncnigt.seeding import Streams

SMALL = {"hidden_sizes": (16, 16)}


def naive_gpomdp(rewards, mask, scores, gamma):
    """g_b = Σ_t (Σ_{h≥t} γ^h r_h) ∇log π_t over valid steps, as two explicit loops."""
    n_b, n_h, d = scores.shape
    g = np.zeros((n_b, d))
    for b in range(n_b):
        for t in range(n_h):
            if not mask[b, t]:
                continue
            to_go = sum(gamma**h * rewards[b, h] for h in range(t, n_h) if mask[b, h])
            g[b] += to_go * scores[b, t]
    return g


# ---------------------------------------------------------------- GPOMDP


def test_reward_to_go_weights_by_hand():
    w = reward_to_go_weights(
        np.array([[1.0, 1.0, 1.0], [2.0, 5.0, 7.0]]),
        np.array([[1, 1, 1], [1, 0, 0]], dtype=bool),
        0.5,
    )
    np.testing.assert_allclose(w, [[1.75, 0.75, 0.25], [2.0, 0.0, 0.0]])


def test_gpomdp_matches_naive_double_loop():
    rng = np.random.default_rng(0)
    n_b, n_h, d = 5, 13, 4
    rewards = rng.standard_normal((n_b, n_h))
    mask = np.arange(n_h) < np.array([13, 1, 7, 0, 12])[:, None]
    scores = rng.standard_normal((n_b, n_h, d))
    scores[~mask] = np.nan  # garbage after termination must not leak
    expected = naive_gpomdp(rewards, mask, scores, 0.9)
    np.testing.assert_allclose(gpomdp(rewards, mask, scores, 0.9), expected, rtol=1e-12)
    flat = gpomdp(rewards, mask, scores.reshape(n_b * n_h, d), 0.9)
    np.testing.assert_allclose(flat, expected, rtol=1e-12)


def test_gpomdp_policy_route_equals_score_route():
    rng = np.random.default_rng(1)
    policy = GaussianMLPPolicy(3, 2, (8, 8))
    theta = policy.init(rng) + 0.2 * rng.standard_normal(policy.dim)
    n_b, n_h = 4, 90
    obs = rng.standard_normal((n_b, n_h, 3))
    u = rng.standard_normal((n_b, n_h, 2))
    mask = np.arange(n_h) < np.array([90, 3, 70, 41])[:, None]
    obs[~mask], u[~mask] = 0.0, 0.0
    rewards = rng.standard_normal((n_b, n_h))
    _, scores = policy.log_prob_and_grad(theta, obs.reshape(-1, 3), u.reshape(-1, 2))
    expected = naive_gpomdp(rewards, mask, scores.reshape(n_b, n_h, -1), 0.99)
    got = gpomdp_policy(policy, theta, obs, u, rewards, mask, 0.99)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10 * np.abs(expected).max())


def test_gpomdp_is_unbiased_on_a_gaussian_bandit():
    """H = 1, r = −(a − c)², a ~ N(k, σ²): ∇_k J = −2 (k − c). Fixed seed, 4 SE."""
    rng = np.random.default_rng(2)
    policy, k, c, n = LinearGaussianPolicy(1, 1, sigma=0.5), np.array([0.3]), 1.2, 20_000
    s = np.ones((n, 1))
    a = policy.sample(k, s, policy.draw_noise(rng, n))
    _, scores = policy.log_prob_and_grad(k, s, a)
    g = gpomdp(-((a[:, 0] - c) ** 2)[:, None], np.ones((n, 1), bool), scores, 0.9)[:, 0]
    assert abs(g.mean() - (-2.0) * (k[0] - c)) < 4 * g.std() / np.sqrt(n)


# ---------------------------------------------------------------- helpers


def test_worker_observations_negate_and_flag():
    raw = np.array([[1.0, -2.0], [3.0, 4.0]])
    negate = np.array([False, True])
    np.testing.assert_array_equal(
        worker_observations(raw, negate, True), [[1.0, -2.0, 0.0], [-3.0, -4.0, 1.0]]
    )
    np.testing.assert_array_equal(worker_observations(raw, np.zeros(2, bool), False), raw)


def test_group_rows():
    a, b = np.arange(3.0), np.arange(3.0) + 1
    groups = group_rows(np.stack([a, b, a]))
    assert sorted(tuple(rows) for _, rows in groups) == [(0, 2), (1,)]
    ((theta, rows),) = group_rows(np.broadcast_to(b, (4, 3)))
    np.testing.assert_array_equal(theta, b)
    np.testing.assert_array_equal(rows, np.arange(4))


# ---------------------------------------------------------------- problems


@pytest.fixture(scope="module")
def cartpole():
    return GymProblem("CartPole-v1", horizon=60, gamma=0.95, policy=SMALL, eval_episodes=4)


@pytest.fixture(scope="module")
def pendulum():
    return GymProblem("InvertedPendulum-v5", horizon=40, policy={**SMALL, "init_log_std": -1.0})


def test_discrete_action_env(cartpole):
    assert isinstance(cartpole.policy, CategoricalMLPPolicy)
    assert cartpole.sense == "max" and cartpole.steps_per_gradient == 60
    assert not cartpole.heterogeneous and cartpole.obs_dim == 4
    theta = cartpole.initial_point(Streams(0).generator("init"))
    assert theta.shape == (cartpole.dim,)
    oracle = cartpole.oracle(Streams(0), 3)
    batch = oracle.gradients(np.broadcast_to(theta, (5, cartpole.dim)), np.array([0, 1, 2, 0, 1]))
    assert batch.grads.shape == (5, cartpole.dim) and np.all(np.isfinite(batch.grads))
    assert batch.steps.dtype == np.int64 and np.all((batch.steps >= 1) & (batch.steps <= 60))
    assert np.all(np.linalg.norm(batch.grads, axis=1) > 0)
    oracle.close()


def test_mujoco_env(pendulum):
    assert isinstance(pendulum.policy, GaussianMLPPolicy)
    np.testing.assert_array_equal(pendulum.policy.a_max, [3.0])  # Box(-3, 3)
    theta = pendulum.initial_point(Streams(1).generator("init"))
    oracle = pendulum.oracle(Streams(1), 2)
    batch = oracle.gradients(np.broadcast_to(theta, (4, pendulum.dim)), np.array([0, 1, 0, 1]))
    assert batch.grads.shape == (4, pendulum.dim) and np.all(np.isfinite(batch.grads))
    assert np.all((batch.steps >= 1) & (batch.steps <= 40))
    ev = oracle.evaluate(theta)
    assert isinstance(ev, Evaluation) and ev.grad_norm is None
    assert ev.objective > 0 and dict(ev.extra)["discounted_return"] <= ev.objective
    oracle.close()


def assert_batching_independent(problem, points, workers, seed=7):
    together = problem.oracle(Streams(seed), 2).gradients(points, workers)
    oracle = problem.oracle(Streams(seed), 2)
    alone = [oracle.gradients(points[j : j + 1], workers[j : j + 1]) for j in range(len(workers))]
    np.testing.assert_array_equal(together.grads, np.concatenate([b.grads for b in alone]))
    np.testing.assert_array_equal(together.steps, np.concatenate([b.steps for b in alone]))
    return together


@pytest.mark.parametrize("env", ["cartpole", "pendulum"])
def test_batching_independence(env, request):
    """Rows [w0, w0, w1] (two different θ) in one call == three calls of one row, bit for bit."""
    problem = request.getfixturevalue(env)
    theta = problem.initial_point(Streams(2).generator("init"))
    other = theta + 0.05 * np.random.default_rng(3).standard_normal(problem.dim)
    assert_batching_independent(problem, np.stack([theta, other, theta]), np.array([0, 0, 1]))


def test_batching_independence_long_trajectories():
    """Hopper without termination: trajectories longer than one time chunk (64 steps)."""
    problem = GymProblem(
        "Hopper-v5", horizon=150, policy=SMALL, env_kwargs={"terminate_when_unhealthy": False}
    )
    theta = problem.initial_point(Streams(4).generator("init"))
    points = np.stack([theta, theta + 1e-3, theta])
    batch = assert_batching_independent(problem, points, np.array([0, 0, 1]))
    np.testing.assert_array_equal(batch.steps, [150, 150, 150])


def test_gradients_equal_naive_gpomdp_of_the_rollouts(cartpole):
    theta = cartpole.initial_point(Streams(5).generator("init"))
    points, workers = np.broadcast_to(theta, (3, cartpole.dim)), np.array([2, 0, 2])
    grads = cartpole.oracle(Streams(5), 3).gradients(points, workers).grads
    traj = cartpole.oracle(Streams(5), 3).rollouts(points, workers)
    n_b, n_t = traj.rewards.shape
    _, scores = cartpole.policy.log_prob_and_grad(
        theta, traj.obs.reshape(n_b * n_t, -1), traj.actions.reshape(-1)
    )
    expected = naive_gpomdp(traj.rewards, traj.mask, scores.reshape(n_b, n_t, -1), 0.95)
    np.testing.assert_allclose(grads, expected, rtol=1e-10, atol=1e-10 * np.abs(expected).max())
    np.testing.assert_array_equal(traj.rewards[traj.mask], 1.0)  # CartPole pays 1 per step


def test_negated_observation_workers_see_flag():
    problem = GymProblem("CartPole-v1", horizon=20, policy=SMALL, negate_observation_workers=[1])
    assert problem.heterogeneous and problem.obs_dim == 5 and problem.policy.obs_dim == 5
    theta = problem.initial_point(Streams(6).generator("init"))
    traj = problem.oracle(Streams(6), 2).rollouts(
        np.broadcast_to(theta, (2, problem.dim)), np.array([0, 1])
    )
    env = gym.make("CartPole-v1")
    for row, (negate, sign) in enumerate([(0.0, 1.0), (1.0, -1.0)]):
        seed, _ = draw_trajectory_randomness(
            Streams(6).generator("oracle", row), problem.policy, 20
        )
        raw, _ = env.reset(seed=seed)  # the documented draw order reproduces the reset
        np.testing.assert_array_equal(traj.obs[row, 0], np.append(sign * raw, negate))
        np.testing.assert_array_equal(traj.obs[row, : traj.steps[row], -1], negate)


def test_worker_env_kwargs():
    kwargs = [{}, {"reset_noise_scale": 0.1}]
    problem = GymProblem("InvertedPendulum-v5", horizon=5, policy=SMALL, worker_env_kwargs=kwargs)
    assert problem.heterogeneous
    assert problem.make_env(1).unwrapped._reset_noise_scale == 0.1
    assert problem.make_env(0).unwrapped._reset_noise_scale == 0.01
    with pytest.raises(ValueError, match="2 entries for 3 workers"):
        problem.oracle(Streams(0), 3)
    oracle = problem.oracle(Streams(0), 2)
    theta = problem.initial_point(Streams(0).generator("init"))
    for _ in range(2):  # environments are pooled per variant and reused
        oracle.gradients(np.broadcast_to(theta, (3, problem.dim)), np.array([0, 1, 1]))
    assert sorted(len(pool) for pool in oracle._pools.values()) == [1, 2]
    same = GymProblem("InvertedPendulum-v5", horizon=5, policy=SMALL, worker_env_kwargs=[{}, {}])
    assert not same.heterogeneous


def test_evaluation_is_deterministic_and_uses_its_own_stream(cartpole):
    theta = cartpole.initial_point(Streams(8).generator("init"))
    a, b = cartpole.oracle(Streams(8), 2), cartpole.oracle(Streams(8), 2)
    first = a.evaluate(theta)
    assert first == b.evaluate(theta)
    assert a.evaluate(theta) == b.evaluate(theta)  # the stream advances identically
    points, workers = np.broadcast_to(theta, (2, cartpole.dim)), np.array([0, 1])
    fresh = cartpole.oracle(Streams(8), 2).gradients(points, workers)
    np.testing.assert_array_equal(a.gradients(points, workers).grads, fresh.grads)


def test_rejects_bad_configurations():
    with pytest.raises(ValueError, match="Box observation space"):
        GymProblem("FrozenLake-v1")
    with pytest.raises(ValueError, match="unknown policy options"):
        GymProblem("CartPole-v1", policy={"hidden": (4,)})
    with pytest.raises(ValueError, match="out of range"):
        GymProblem("CartPole-v1", negate_observation_workers=[2]).oracle(Streams(0), 2)
    with pytest.raises(ValueError):
        GymProblem("CartPole-v1", gamma=0.0)


def test_global_numpy_rng_untouched(cartpole):
    state = np.random.get_state()[1].copy()
    oracle = cartpole.oracle(Streams(9), 1)
    theta = cartpole.initial_point(Streams(9).generator("init"))
    oracle.gradients(theta[None], np.array([0]))
    oracle.evaluate(theta)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize("env", ["cartpole", "pendulum", "Pendulum-v1"])
def test_gradients_reuse_the_rollout_forward_bit_for_bit(env, request):
    """gradients (backward on the rollout's ForwardRecord, memory reused across calls)
    equals GPOMDP recomputing the forward pass on the same trajectories, bit for bit:
    one θ for all rows, and rows at two θ (the per-group path); Pendulum-v1 with rows
    longer than a time chunk, one of them truncated early by its time limit."""
    if env == "Pendulum-v1":
        problem = GymProblem(env, horizon=150, policy=SMALL, negate_observation_workers=[1],
                             worker_env_kwargs=[{}, {"g": 9.0, "max_episode_steps": 90}])
    else:
        problem = request.getfixturevalue(env)
    theta = problem.initial_point(Streams(8).generator("init"))
    other = theta + 0.05 * np.random.default_rng(9).standard_normal(problem.dim)
    workers = np.array([0, 1, 1, 0, 1])
    oracle = problem.oracle(Streams(8), 2)
    replay = problem.oracle(Streams(8), 2)
    for points in (np.broadcast_to(theta, (5, problem.dim)),
                   np.stack([theta, other, theta, other, other]),
                   np.broadcast_to(other, (3, problem.dim))):
        w = workers[: len(points)]
        grads = oracle.gradients(points, w).grads
        traj = replay.rollouts(points, w)
        for theta_g, rows in group_rows(points):
            expected = gpomdp_policy(problem.policy, theta_g, traj.obs[rows], traj.actions[rows],
                                     traj.rewards[rows], traj.mask[rows], problem.gamma)
            np.testing.assert_array_equal(grads[rows], expected)


@pytest.mark.parametrize("threads", [2, 3])
def test_backward_parts_do_not_change_results(threads, monkeypatch):
    """gradients' backward pass split into concurrent parts of the rows (GymOracle._parts,
    forced here for small calls) equals the serial one bit for bit: rows at one θ and at
    two θ, a row truncated early by its time limit."""
    monkeypatch.setattr(gym_oracle, "MIN_PART_STEPS", 1)
    grads = {}
    for n in (1, threads):
        problem = GymProblem("Pendulum-v1", horizon=80, policy=SMALL, threads=n,
                             worker_env_kwargs=[{}, {"max_episode_steps": 30}])
        theta = problem.initial_point(Streams(3).generator("init"))
        oracle = problem.oracle(Streams(3), 2)
        assert len(oracle._parts(np.full(7, 80))) == n
        workers = np.array([0, 1, 0, 0, 1, 0, 0])
        grads[n] = [oracle.gradients(points, workers).grads
                    for points in (np.broadcast_to(theta, (7, problem.dim)),
                                   np.stack([theta, theta + 0.01] * 3 + [theta]))]
        oracle.close()
    for serial, split in zip(grads[1], grads[threads], strict=True):
        np.testing.assert_array_equal(split, serial)
