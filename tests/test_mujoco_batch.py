"""The lean MuJoCo batch (asyncnigt.problems.envs.mujoco_batch) against gymnasium.

Every kind is compared with ``gymnasium.make`` environments stepped by their own ``step``,
row by row: observations, rewards, terminations and time-limit truncations must be
bit-for-bit equal, with rows that use different keyword arguments, leave the batch at
different times, and are stepped serially or split over threads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import gymnasium as gym
import numpy as np
import pytest
from test_envs import FORCE_SPLIT, random_actions

from asyncnigt.problems.envs.gym_batch import GymBatch
from asyncnigt.problems.envs.mujoco_batch import MujocoBatch
from asyncnigt.problems.envs.mujoco_kinds import kind_of
from asyncnigt.problems.gym_problem import GymProblem
from asyncnigt.seeding import Streams

CASES = [  # (environment, per-row kwargs cycled over the rows)
    ("Hopper-v5", [{}, {"healthy_reward": 2.0, "ctrl_cost_weight": 0.01},
                   {"terminate_when_unhealthy": False, "max_episode_steps": 40}]),
    ("Walker2d-v5", [{}, {"forward_reward_weight": 0.5, "healthy_z_range": (0.9, 2.0)}]),
    ("InvertedPendulum-v5", [{}, {"max_episode_steps": 25}]),
    ("Humanoid-v5", [{}, {"contact_cost_weight": 1e-3, "terminate_when_unhealthy": False}]),
    ("Humanoid-v5", [{"include_cinert_in_observation": False,
                      "exclude_current_positions_from_observation": False}]),
]


def _step_gymnasium(envs, live, actions):
    out = [envs[j].step(a) for j, a in zip(live.tolist(), actions, strict=True)]
    obs, rewards, terminated, truncated, _ = zip(*out, strict=True)
    return (np.array(obs, dtype=np.float64), np.array(rewards, dtype=np.float64),
            np.array(terminated), np.array(truncated))


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("env_id,row_kwargs", CASES)
def test_lean_batch_equals_gymnasium_step_by_step(env_id, row_kwargs, threads):
    k, rng = 7, np.random.default_rng(11)
    kwargs = [row_kwargs[j % len(row_kwargs)] for j in range(k)]
    reference = [gym.make(env_id, **kw) for kw in kwargs]
    envs = [gym.make(env_id, **kw) for kw in kwargs]
    kind = kind_of(envs[0])
    assert kind is not None
    with ThreadPoolExecutor(threads - 1 or 1) as pool:
        batch = MujocoBatch(envs, kind, pool if threads > 1 else None, threads, FORCE_SPLIT)
        seeds = rng.integers(2**32, size=k).tolist()
        np.testing.assert_array_equal(
            batch.reset(seeds),
            np.array([e.reset(seed=s)[0] for e, s in zip(reference, seeds, strict=True)]))
        alive, steps = np.ones(k, dtype=bool), 0
        for _ in range(120):
            live = np.flatnonzero(alive)
            if live.size == 0:
                break
            actions = random_actions(envs[0].action_space, rng, live.size)
            got = batch.step(live, actions)
            want = _step_gymnasium(reference, live, actions)
            for g, w in zip(got, want, strict=True):
                np.testing.assert_array_equal(g, w)
            alive[live] = ~(got[2] | got[3])
            steps += live.size
    assert steps > 3 * k  # the comparison covered real trajectories
    for env in reference + envs:
        env.close()


def test_lean_batch_covers_terminations_and_truncations():
    """The Hopper case above sees both ways out of a trajectory."""
    k = 6
    envs = [gym.make("Hopper-v5", max_episode_steps=30 if j % 2 else 1000) for j in range(k)]
    batch = MujocoBatch(envs, kind_of(envs[0]))
    batch.reset(list(range(k)))
    live, ended = np.arange(k), {"terminated": 0, "truncated": 0}
    rng = np.random.default_rng(0)
    while live.size:
        _, _, terminated, truncated = batch.step(live, rng.uniform(-1, 1, (live.size, 3)))
        ended["terminated"] += int(terminated.sum())
        ended["truncated"] += int(truncated.sum())
        live = live[~(terminated | truncated)]
    assert ended["terminated"] > 0 and ended["truncated"] > 0


def test_environments_without_a_kind_use_gymnasium_step():
    problem = GymProblem("Reacher-v5", horizon=5, policy={"hidden_sizes": [4]})
    oracle = problem.oracle(Streams(0), 2)
    assert kind_of(gym.make("Reacher-v5")) is None
    assert type(oracle._batch(np.array([0, 1]))) is GymBatch
    oracle.close()


@pytest.mark.parametrize("env_id", ["Hopper-v5", "Humanoid-v5"])
def test_oracle_results_do_not_depend_on_the_lean_batch_or_row_groups(env_id):
    """gymnasium's step vs the lean batch, one lockstep vs concurrent row groups (2 or 3
    threads), with trajectories ending at different steps: the same bits."""
    out = []
    for vector, threads in ((False, 1), (True, 1), (True, 2), (False, 2), (True, 3)):
        problem = GymProblem(env_id, horizon=40, policy={"hidden_sizes": [8]},
                             vector_envs=vector, threads=threads, eval_episodes=7)
        theta = problem.initial_point(Streams(1).generator("init"))
        oracle = problem.oracle(Streams(2), 3)
        assert (type(oracle._batch(np.array([0]))) is MujocoBatch) is vector
        workers = np.array([0, 1, 2, 2, 0, 1, 1])
        assert oracle._groups(workers) == 1  # no step measured yet
        oracle._step_stats["serial"] = 1.0  # a measured cost at which groups pay
        assert oracle._groups(workers) == (threads if threads > 1 else 1)
        batch = oracle.gradients(np.broadcast_to(theta, (7, theta.size)), workers)
        out.append((batch.grads, batch.steps, oracle.evaluate(theta)))
        oracle.close()
    assert len(set(out[0][1].tolist())) > 1  # rows left the lockstep at different steps
    for other in out[1:]:
        np.testing.assert_array_equal(out[0][0], other[0])
        np.testing.assert_array_equal(out[0][1], other[1])
        assert out[0][2] == other[2]


def test_row_groups_follow_the_measured_step_cost():
    """Concurrent row groups only for physics-heavy steps, and only for enough rows."""
    problem = GymProblem("Hopper-v5", horizon=5, policy={"hidden_sizes": [4]}, threads=2)
    oracle = problem.oracle(Streams(0), 4)
    rows = np.arange(4)
    oracle._step_stats["serial"] = 1e-6  # cheap steps: two threads would only contend
    assert oracle._groups(rows) == 1
    oracle._step_stats["serial"] = 1e-4
    assert oracle._groups(rows) == 2 and oracle._groups(rows[:3]) == 1
    oracle.close()
