"""Policies: hand-written scores against finite differences, batch invariance, sampling."""

import numpy as np
import pytest

from asyncnigt.problems.policies import (
    CategoricalMLPPolicy,
    GaussianMLPPolicy,
    LinearGaussianPolicy,
    TanhMLP,
)
from asyncnigt.problems.policies.kernels import TIME_CHUNK, segment_outer_sum
from asyncnigt.problems.policies.mlp import ForwardRecord

OBS, ACT = 5, 3
POLICIES = {
    "gaussian_state_std": lambda: GaussianMLPPolicy(OBS, ACT, (8, 7), a_max=[1.0, 2.0, 0.5]),
    "gaussian_free_std": lambda: GaussianMLPPolicy(OBS, ACT, (8, 7), state_dependent_std=False),
    "gaussian_one_layer": lambda: GaussianMLPPolicy(OBS, ACT, (6,), min_std=0.1),
    "categorical": lambda: CategoricalMLPPolicy(OBS, 4, (8, 7)),
    "linear": lambda: LinearGaussianPolicy(OBS, ACT, sigma=0.7, init_scale=0.3),
}


def setup(name, n=6, seed=0):
    """A policy at a generic θ (θ_0 plus a perturbation), states and sampled actions."""
    rng = np.random.default_rng(seed)
    policy = POLICIES[name]()
    theta = policy.init(rng) + 0.3 * rng.standard_normal(policy.dim)
    obs = rng.standard_normal((n, OBS))
    actions = policy.sample(theta, obs, policy.draw_noise(rng, n))
    return policy, theta, obs, actions, rng


def finite_difference_scores(policy, theta, obs, actions, eps=1e-6):
    fd = np.empty((len(obs), policy.dim))
    for i in range(policy.dim):
        e = np.zeros(policy.dim)
        e[i] = eps
        fd[:, i] = policy.log_prob(theta + e, obs, actions) - policy.log_prob(
            theta - e, obs, actions
        )
        fd[:, i] /= 2 * eps
    return fd


@pytest.mark.parametrize("name", POLICIES)
def test_scores_match_central_finite_differences(name):
    policy, theta, obs, actions, _ = setup(name)
    logp, grads = policy.log_prob_and_grad(theta, obs, actions)
    assert grads.shape == (len(obs), policy.dim) and grads.dtype == np.float64
    np.testing.assert_array_equal(logp, policy.log_prob(theta, obs, actions))
    fd = finite_difference_scores(policy, theta, obs, actions)
    rel = np.linalg.norm(grads - fd, axis=1) / np.linalg.norm(fd, axis=1)
    assert rel.max() < 1e-5


def test_default_size_gaussian_scores_on_sampled_coordinates():
    """Paper-sized (64, 64) network: every layer's block checked on random coordinates."""
    rng = np.random.default_rng(1)
    policy = GaussianMLPPolicy(11, 3)
    theta = policy.init(rng) + 0.05 * rng.standard_normal(policy.dim)
    obs = rng.standard_normal((4, 11))
    u = policy.sample(theta, obs, policy.draw_noise(rng, 4))
    _, grads = policy.log_prob_and_grad(theta, obs, u)
    coords = np.concatenate(
        [
            rng.choice(np.arange(a, b), 15, replace=False)
            for a, b in zip(policy.mlp.offsets[:-1], policy.mlp.offsets[1:], strict=True)
        ]
    )
    eps = 1e-6
    for i in coords:
        e = np.zeros(policy.dim)
        e[i] = eps
        fd = (policy.log_prob(theta + e, obs, u) - policy.log_prob(theta - e, obs, u)) / (2 * eps)
        np.testing.assert_allclose(grads[:, i], fd, rtol=1e-5, atol=1e-7)


def gaussian_log_density(u, mu, sigma):
    return np.sum(-0.5 * ((u - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi), -1)


@pytest.mark.parametrize("state_dependent_std", [True, False])
def test_gaussian_log_prob_is_normal_density_of_presquash_action(state_dependent_std):
    rng = np.random.default_rng(2)
    policy = GaussianMLPPolicy(
        OBS, ACT, (8,), state_dependent_std=state_dependent_std, init_log_std=-0.5
    )
    theta = policy.init(rng)
    obs = rng.standard_normal((5, OBS))
    eps = policy.draw_noise(rng, 5)
    u = policy.sample(theta, obs, eps)
    mu = policy.mean_action(theta, obs)
    sigma = (u - mu) / eps
    np.testing.assert_allclose(sigma, np.exp(-0.5), rtol=1e-12)  # exact σ at θ_0
    np.testing.assert_allclose(policy.log_prob(theta, obs, u), gaussian_log_density(u, mu, sigma))
    assert np.abs(mu).max() < 0.1  # small output layer: μ ≈ 0 at θ_0


def test_squash_maps_into_bounds():
    policy = GaussianMLPPolicy(OBS, ACT, a_max=[1.0, 2.0, 0.5])
    u = np.array([[-50.0, 0.3, 50.0], [0.0, -0.2, 1.0]])
    a = policy.squash(u)
    np.testing.assert_array_equal(a, [1.0, 2.0, 0.5] * np.tanh(u))
    assert np.all(np.abs(a) <= [1.0, 2.0, 0.5])
    np.testing.assert_array_equal(policy.env_action(u), a)
    np.testing.assert_array_equal(GaussianMLPPolicy(OBS, ACT, a_max=None).squash(u), u)


@pytest.mark.parametrize("name", POLICIES)
def test_weighted_score_sum_equals_weighted_row_scores(name):
    policy, theta, _, _, rng = setup(name)
    n_b, n_t = 4, 2 * TIME_CHUNK + 10
    obs = rng.standard_normal((n_b, n_t, OBS))
    actions = policy.sample(
        theta, obs, policy.draw_noise(rng, n_b * n_t).reshape((n_b, n_t) + policy.noise_shape)
    )
    w = rng.standard_normal((n_b, n_t))
    w[1, 30:] = 0.0  # terminated early
    w[2] = 0.0  # no contribution at all
    w[3, 5] = 0.0  # a zero weight inside a trajectory
    _, scores = policy.log_prob_and_grad(
        theta, obs.reshape(n_b * n_t, OBS), actions.reshape((n_b * n_t,) + policy.action_shape)
    )
    naive = np.einsum("bt,btd->bd", w, scores.reshape(n_b, n_t, policy.dim))
    got = policy.weighted_score_sum(theta, obs, actions, w)
    np.testing.assert_allclose(got, naive, rtol=1e-11, atol=1e-11 * np.abs(naive).max())
    assert np.all(got[2] == 0.0)


@pytest.mark.parametrize("name", POLICIES)
def test_rows_and_trajectories_are_batch_invariant(name):
    """Bit for bit: a row's result never depends on the rest of the batch."""
    policy, theta, obs, actions, rng = setup(name, n=9)
    noise = policy.draw_noise(rng, 9)
    batch = policy.sample(theta, obs, noise)
    _, grads = policy.log_prob_and_grad(theta, obs, actions)
    for j in (0, 4, 8):
        np.testing.assert_array_equal(
            policy.sample(theta, obs[j : j + 1], noise[j : j + 1]), batch[j : j + 1]
        )
        np.testing.assert_array_equal(
            policy.log_prob_and_grad(theta, obs[j : j + 1], actions[j : j + 1])[1], grads[j : j + 1]
        )
    n_t = 3 * TIME_CHUNK
    obs_t = rng.standard_normal((3, n_t, OBS))
    act_t = policy.sample(
        theta, obs_t, policy.draw_noise(rng, 3 * n_t).reshape((3, n_t) + policy.noise_shape)
    )
    w = rng.standard_normal((3, n_t))
    w[1, 70:] = 0.0
    together = policy.weighted_score_sum(theta, obs_t, act_t, w)
    alone = policy.weighted_score_sum(theta, obs_t[1:2, :70], act_t[1:2, :70], w[1:2, :70])
    np.testing.assert_array_equal(alone[0], together[1])


def test_mlp_unflatten_returns_views_in_documented_layout():
    mlp = TanhMLP((3, 4, 2))
    theta = np.arange(mlp.dim, dtype=np.float64)
    assert mlp.dim == (3 + 1) * 4 + (4 + 1) * 2
    blocks = mlp.unflatten(theta)
    assert all(np.shares_memory(b, theta) for b in blocks)
    np.testing.assert_array_equal(blocks[0][:-1], np.arange(12).reshape(3, 4))  # W_1 rows
    np.testing.assert_array_equal(blocks[0][-1], np.arange(12, 16))  # b_1
    x = np.array([[0.1, -0.2, 0.3]])
    w1, b1, w2, b2 = blocks[0][:-1], blocks[0][-1], blocks[1][:-1], blocks[1][-1]
    np.testing.assert_allclose(
        mlp.forward(theta * 1e-2, x)[0],
        np.tanh(x @ (w1 * 1e-2) + b1 * 1e-2) @ (w2 * 1e-2) + b2 * 1e-2,
    )


def test_init_is_reproducible_and_orthogonal():
    policy = GaussianMLPPolicy(11, 3)
    a = policy.init(np.random.default_rng(5))
    np.testing.assert_array_equal(a, policy.init(np.random.default_rng(5)))
    w1 = policy.mlp.unflatten(a)[0][:-1]  # (11, 64): orthonormal rows, gain √2
    np.testing.assert_allclose(w1 @ w1.T, 2.0 * np.eye(11), atol=1e-12)


def test_linear_policy_convention_and_score():
    """θ = K.ravel() row-major, K (action_dim, state_dim); ∇ = (a − Ks) sᵀ / σ²."""
    rng = np.random.default_rng(3)
    policy = LinearGaussianPolicy(4, 2, sigma=0.5)
    theta = rng.standard_normal(policy.dim)
    k_mat = theta.reshape(2, 4)
    assert np.shares_memory(policy.unflatten(theta), theta)
    s = rng.standard_normal((3, 4))
    eps = rng.standard_normal((3, 2))
    a = policy.sample(theta, s, eps)
    np.testing.assert_allclose(a, s @ k_mat.T + 0.5 * eps, rtol=1e-14)
    np.testing.assert_allclose(policy.mean_action(theta, s), s @ k_mat.T, rtol=1e-14)
    _, g = policy.log_prob_and_grad(theta, s, a)
    expected = np.stack([np.outer(a[i] - k_mat @ s[i], s[i]).ravel() / 0.25 for i in range(3)])
    np.testing.assert_allclose(g, expected, rtol=1e-12)
    np.testing.assert_array_equal(LinearGaussianPolicy(4, 2, 0.5).init(rng), np.zeros(8))


def test_categorical_inverse_cdf_sampling():
    rng = np.random.default_rng(4)  # fixed seed: statistical test
    policy = CategoricalMLPPolicy(OBS, 4, (8,))
    theta = policy.init(rng) + 0.5 * rng.standard_normal(policy.dim)
    s = rng.standard_normal((1, OBS))
    p = policy.probabilities(theta, s)[0]
    n = 40_000
    a = policy.sample(theta, np.repeat(s, n, axis=0), policy.draw_noise(rng, n))
    assert a.dtype == np.int64 and a.min() >= 0 and a.max() <= 3
    freq = np.bincount(a, minlength=4) / n
    assert np.all(np.abs(freq - p) < 4 * np.sqrt(p * (1 - p) / n))
    edges = policy.sample(theta, np.repeat(s, 2, axis=0), np.array([0.0, np.nextafter(1.0, 0)]))
    np.testing.assert_array_equal(edges, [0, 3])
    np.testing.assert_array_equal(policy.mean_action(theta, s), [np.argmax(p)])
    lp, _ = policy.log_prob_and_grad(theta, np.repeat(s, 4, 0), np.arange(4))
    np.testing.assert_allclose(np.exp(lp), p, rtol=1e-13)
    lp2, _ = policy.log_prob_and_grad(theta, np.repeat(s, 4, 0), np.arange(4.0)[:, None])
    np.testing.assert_array_equal(lp, lp2)  # (B, 1) float actions accepted


def test_invalid_arguments():
    with pytest.raises(ValueError):
        GaussianMLPPolicy(OBS, ACT, min_std=0.5, init_log_std=np.log(0.4))
    with pytest.raises(ValueError):
        LinearGaussianPolicy(OBS, ACT, sigma=0.0)
    with pytest.raises(ValueError):
        CategoricalMLPPolicy(OBS, 1)
    with pytest.raises(ValueError):
        TanhMLP((3,))


def test_global_numpy_rng_untouched():
    state = np.random.get_state()[1].copy()
    for name in POLICIES:
        setup(name)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize("name", [n for n in POLICIES if n != "linear"])
def test_weighted_score_sum_with_a_forward_record_is_bit_identical(name):
    """The backward pass on a rollout's recorded network values (ForwardRecord, written step
    by step for the live rows as the gym oracle does: in place while every row is live,
    copied after) equals the recomputed one bit for bit, whatever the lengths (ragged, a
    zero weight inside, a row without any weight)."""
    policy, theta, _, _, rng = setup(name)
    n_b, n_t = 5, 2 * TIME_CHUNK + 9
    obs = rng.standard_normal((n_b, n_t, OBS))
    noise = policy.draw_noise(rng, n_b * n_t).reshape((n_b, n_t) + policy.noise_shape)
    steps = np.array([n_t, 70, n_t, 1, TIME_CHUNK])
    record = ForwardRecord(policy.mlp, n_b + 2, n_t + 30).head(n_b)  # larger, reused memory
    for h in record.hidden:
        h[:] = np.nan  # unwritten steps may hold anything
    actions = np.zeros((n_b, n_t) + policy.action_shape, dtype=policy.sample(
        theta, obs[:1, 0], noise[:1, 0]).dtype)
    for t in range(n_t):
        live = np.flatnonzero(steps > t)
        if len(live) == n_b:
            y, _ = policy.network(theta, obs[:, t], record.step(t))
        else:
            y, hs = policy.network(theta, obs[live, t])
            record.write(live, t, hs, y)
        actions[live, t] = policy.sample_output(theta, y, noise[live, t])
    w = np.where(np.arange(n_t) < steps[:, None], rng.standard_normal((n_b, n_t)), 0.0)
    w[0, 5] = 0.0
    w[2, 100:] = 0.0  # weights end before the trajectory does
    w[3] = 0.0
    expected = policy.weighted_score_sum(theta, obs, actions, w)
    got = policy.weighted_score_sum(theta, obs, actions, w, record=record)
    np.testing.assert_array_equal(got, expected)
    assert np.all(got[3] == 0.0)


@pytest.mark.parametrize("name", ["gaussian_state_std", "gaussian_free_std", "categorical",
                                  "pendulum_size"])
def test_trajectory_sums_are_batch_invariant(name):
    """weighted_score_sum (chunked gemms, each trajectory's last partial chunk grouped with
    the others of the same length, δ carried by per-trajectory gemms) of each trajectory
    alone equals its row inside batches of other sizes, orders and lengths, bit for bit."""
    rng = np.random.default_rng(11)
    if name == "pendulum_size":  # the default network of Pendulum-v1 (64 x 64 hidden)
        policy, obs_dim = GaussianMLPPolicy(3, 1, (64, 64), a_max=2.0), 3
        theta = policy.init(rng) + 0.1 * rng.standard_normal(policy.dim)
    else:
        (policy, theta, _, _, rng), obs_dim = setup(name, seed=11), OBS
    lengths = [2 * TIME_CHUNK + 20, 5, TIME_CHUNK, TIME_CHUNK + 20, 2 * TIME_CHUNK + 3, 1, 20]
    n_b, n_t = len(lengths), max(lengths)
    obs = rng.standard_normal((n_b, n_t, obs_dim))
    noise = policy.draw_noise(rng, n_b * n_t).reshape((n_b, n_t) + policy.noise_shape)
    actions = policy.sample(theta, obs, noise)
    w = np.where(np.arange(n_t) < np.array(lengths)[:, None], rng.standard_normal((n_b, n_t)), 0.0)
    alone = [policy.weighted_score_sum(theta, obs[j : j + 1, :n], actions[j : j + 1, :n],
                                       w[j : j + 1, :n])[0] for j, n in enumerate(lengths)]
    for order in (range(n_b), [3, 0, 5, 1], [4, 6], [2, 2, 0, 6, 3], [1, 1, 4, 4]):
        got = policy.weighted_score_sum(theta, obs[list(order)], actions[list(order)],
                                        w[list(order)])
        for row, j in enumerate(order):
            np.testing.assert_array_equal(got[row], alone[j])


def test_padded_outer_sum_equals_per_segment_sums():
    """segment_outer_sum (chunked, padded) against each segment's sum alone, bit for bit."""
    rng = np.random.default_rng(4)
    lengths = np.array([3, 0, 2 * TIME_CHUNK + 5, TIME_CHUNK, 1])
    a = rng.standard_normal((lengths.sum(), 7))
    b = rng.standard_normal((lengths.sum(), 3))
    together = segment_outer_sum(a, b, lengths)
    starts = np.cumsum(lengths) - lengths
    for s, (start, n) in enumerate(zip(starts, lengths, strict=True)):
        alone = segment_outer_sum(a[start : start + n], b[start : start + n], [n])
        np.testing.assert_array_equal(together[s], alone[0])
        np.testing.assert_allclose(together[s], a[start : start + n].T @ b[start : start + n],
                                   rtol=1e-12, atol=1e-12)
