"""Batched environments (asyncnigt.problems.envs) against gymnasium.

The numpy classic-control environments are compared with ``gymnasium.make`` step by step
(observations, rewards, terminations and time-limit truncations, exactly), on random and
extreme actions, with rows leaving the batch at different times; the gym oracle gives
the same gradients with and without them, and with any number of MuJoCo threads.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from asyncnigt.problems.envs import GymBatch, vector_batch
from asyncnigt.problems.envs.classic import VECTOR_ENVS
from asyncnigt.problems.gym_problem import GymProblem
from asyncnigt.seeding import Streams


class _ForceSplit(dict):
    """Step statistics that always make GymBatch split a step over its threads."""

    def get(self, key, default=None):
        return {"serial": 1.0, "split": 0.0}.get(key, default)


FORCE_SPLIT = _ForceSplit()


def random_actions(space, rng, k):
    if isinstance(space, gym.spaces.Discrete):
        return rng.integers(space.start, space.start + space.n, size=(k, 1))
    scale = np.abs(space.high)
    a = rng.uniform(-1.5, 1.5, size=(k,) + space.shape) * scale  # beyond the bounds too
    a[rng.random(k) < 0.1] = space.high  # exactly at the bounds
    a[rng.random(k) < 0.1] = space.low
    return np.clip(a, space.low, space.high)  # as the oracle does


@pytest.mark.parametrize("env_id,kwargs", [
    ("Pendulum-v1", {}),
    ("Pendulum-v1", {"g": 9.81}),
    ("CartPole-v1", {}),
    ("CartPole-v1", {"sutton_barto_reward": True}),
    ("MountainCarContinuous-v0", {}),
    ("MountainCarContinuous-v0", {"max_episode_steps": 120}),
])
def test_vector_env_equals_gymnasium_step_by_step(env_id, kwargs):
    """Observations, rewards (at the end for batches that defer them), terminations and
    truncations equal gymnasium's, rows leaving at arbitrary steps."""
    k, rng = 24, np.random.default_rng(7)
    seeds = rng.integers(2**32, size=k).tolist()
    vec = vector_batch(env_id, [kwargs] * k)
    assert vec is not None
    envs = [gym.make(env_id, **kwargs) for _ in range(k)]
    obs = vec.reset(seeds)
    ref = np.array([e.reset(seed=s)[0] for e, s in zip(envs, seeds, strict=True)], dtype=np.float64)
    np.testing.assert_array_equal(obs, ref)
    alive = np.ones(k, dtype=bool)
    steps = 0
    stepped, expected = np.zeros((k, 600), dtype=bool), np.zeros((k, 600))  # rewards
    while alive.any() and steps < 600:
        live = np.flatnonzero(alive)
        if steps % 7 == 3 and live.size > 1:  # rows also leave at arbitrary times
            live = live[rng.random(live.size) < 0.8]
            alive[np.setdiff1d(np.flatnonzero(alive), live)] = False
            if live.size == 0:
                break
        a = random_actions(envs[0].action_space, rng, live.size)
        if isinstance(envs[0].action_space, gym.spaces.Discrete):
            env_a = a[:, 0]
        else:
            env_a = a
        o, r, term, trunc = vec.step(live, env_a)
        out = [envs[j].step(x) for j, x in zip(live, env_a, strict=True)]
        ro, rr, rterm, rtrunc, _ = zip(*out, strict=True)
        np.testing.assert_array_equal(o, np.array(ro, dtype=np.float64).reshape(live.size, -1))
        stepped[live, steps], expected[live, steps] = True, rr
        if not getattr(vec, "defers_rewards", False):
            np.testing.assert_array_equal(r, np.array(rr, dtype=np.float64))
        np.testing.assert_array_equal(term, np.array(rterm))
        np.testing.assert_array_equal(trunc, np.array(rtrunc))
        alive[live] = ~(term | trunc)
        steps += 1
    assert not alive.any() or steps == 600
    if getattr(vec, "defers_rewards", False):
        rewards = vec.rewards(steps)
        np.testing.assert_array_equal(rewards[stepped[:, :steps]], expected[stepped])


def test_vector_envs_only_for_supported_kwargs():
    assert vector_batch("Pendulum-v1", [{"g": 3.0}, {}]) is not None
    assert vector_batch("Pendulum-v1", [{"render_mode": "rgb_array"}]) is None
    assert vector_batch("Hopper-v5", [{}]) is None
    assert set(VECTOR_ENVS) == {"Pendulum-v1", "CartPole-v1", "MountainCarContinuous-v0"}


@pytest.mark.parametrize("env_id,worker_kwargs", [
    ("Pendulum-v1", [{"g": 10.0}, {"g": 8.0}, {"g": 12.0}]),
    ("CartPole-v1", None),
    ("MountainCarContinuous-v0", None),
])
def test_oracle_same_gradients_with_vector_envs(env_id, worker_kwargs):
    """Gradients, step counts and evaluations bit for bit with and without them."""
    out = []
    for vector in (True, False):
        problem = GymProblem(env_id, horizon=150, policy={"hidden_sizes": [8]},
                             worker_env_kwargs=worker_kwargs, vector_envs=vector, eval_episodes=3)
        theta = problem.initial_point(Streams(1).generator("init"))
        oracle = problem.oracle(Streams(2), 3)
        workers = np.array([0, 1, 2, 2, 0, 1])
        batch = oracle.gradients(np.broadcast_to(theta, (6, theta.size)), workers)
        out.append((batch.grads, batch.steps, oracle.evaluate(theta)))
        oracle.close()
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])
    assert out[0][2] == out[1][2]


@pytest.mark.parametrize("env_id", ["InvertedPendulum-v5", "Hopper-v5"])
def test_mujoco_threads_do_not_change_results(env_id):
    """Stepping MuJoCo environments in 1, 2 or 3 threads gives the same bits."""
    results = []
    for threads in (1, 2, 3):
        problem = GymProblem(env_id, horizon=60, policy={"hidden_sizes": [16]}, threads=threads,
                             eval_episodes=2)
        theta = problem.initial_point(Streams(3).generator("init"))
        oracle = problem.oracle(Streams(4), 4)
        oracle._step_stats = _ForceSplit()  # split every step over the threads
        workers = np.repeat(np.arange(4), 3)
        b1 = oracle.gradients(np.broadcast_to(theta, (12, theta.size)), workers)
        b2 = oracle.gradients(np.broadcast_to(theta, (5, theta.size)), workers[:5])
        results.append((b1.grads, b1.steps, b2.grads, oracle.evaluate(theta)))
        oracle.close()
    for other in results[1:]:
        for a, b in zip(results[0][:3], other[:3], strict=True):
            np.testing.assert_array_equal(a, b)
        assert results[0][3] == other[3]


def test_gym_batch_threads_equal_serial():
    from concurrent.futures import ThreadPoolExecutor

    k = 9
    outs = []
    for threads in (1, 3):
        envs = [gym.make("InvertedPendulum-v5") for _ in range(k)]
        with ThreadPoolExecutor(2) as ex:
            # a huge measured cost forces the split into threads
            batch = GymBatch(envs, ex if threads > 1 else None, threads, FORCE_SPLIT)
            obs = [batch.reset(list(range(k)))]
            live = np.arange(k)
            for t in range(30):
                a = np.full((live.size, 1), 0.3 * np.sin(t))
                o, r, term, trunc = batch.step(live, a)
                obs.append((o, r, term, trunc))
        outs.append(obs)
        for e in envs:
            e.close()
    for a, b in zip(outs[0][1:], outs[1][1:], strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)


def test_mountain_car_energy_pumping_reaches_the_goal():
    """Bang-bang pumping: the velocity clip, the left wall and the goal are all reached."""
    env_id, k = "MountainCarContinuous-v0", 16
    kwargs = [{"goal_velocity": (0.0, 0.03, 1.0)[r % 3]} for r in range(k)]  # 1.0: never
    vec = vector_batch(env_id, kwargs)
    envs = [gym.make(env_id, **kw) for kw in kwargs]
    seeds = list(range(k))
    np.testing.assert_array_equal(
        vec.reset(seeds), np.array([e.reset(seed=s)[0] for e, s in zip(envs, seeds, strict=True)]))
    state = vec.state.copy()
    alive, seen = np.ones(k, dtype=bool), {"clip": False, "wall": False, "goal": False}
    for t in range(999):
        live = np.flatnonzero(alive)
        if live.size == 0:
            break
        push = np.where(state[live, 1] >= 0, 1.0, -1.0) * (1.0 if t % 5 else 0.93)
        a = push[:, None]
        o, r, term, trunc = vec.step(live, a)
        ref = [envs[j].step(x) for j, x in zip(live, a, strict=True)]
        np.testing.assert_array_equal(o, np.array([x[0] for x in ref], dtype=np.float64))
        np.testing.assert_array_equal(r, np.array([x[1] for x in ref]))
        np.testing.assert_array_equal(term, np.array([x[2] for x in ref]))
        state = vec.state.copy()
        seen["clip"] |= bool(np.any(np.abs(o[:, 1]) >= np.float32(0.07)))
        seen["wall"] |= bool(np.any(o[:, 0] <= np.float32(-1.2)))
        seen["goal"] |= bool(term.any())
        alive[live] = ~(term | trunc)
    assert seen["goal"] and seen["wall"] and seen["clip"]


def test_pendulum_rewards_past_the_time_limit():
    """VectorPendulum's reward log grows past the time limit (a caller may keep stepping)."""
    seeds, k = [3, 4], 2
    vec = vector_batch("Pendulum-v1", [{"max_episode_steps": 3}] * k)
    envs = [gym.make("Pendulum-v1", max_episode_steps=3) for _ in range(k)]
    vec.reset(seeds)
    for e, s in zip(envs, seeds, strict=True):
        e.reset(seed=s)
    expected = []
    for _ in range(8):
        action = np.array([[0.5], [-1.5]])
        obs, _, _, trunc = vec.step(np.arange(k), action)
        out = [e.unwrapped.step(a) for e, a in zip(envs, action, strict=True)]
        np.testing.assert_array_equal(obs, np.array([o for o, *_ in out], dtype=np.float64))
        expected.append([r for _, r, *_ in out])
    np.testing.assert_array_equal(trunc, True)
    np.testing.assert_array_equal(vec.rewards(8), np.array(expected).T)
