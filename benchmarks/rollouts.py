"""Rollout benchmark: environment steps per wall second of a whole gradient computation.

A Rennala round of the paper's setting (n = 10 workers, batch M = 20, so the trajectory
buffer asks for 2 trajectories per worker at one θ) is computed by the gym oracle
(:class:`asyncnigt.problems.gym_oracle.GymOracle`: policy forward, environment steps and
the GPOMDP backward pass) and compared, side by side in one process, with

* a **naive loop**: one environment, one trajectory at a time, the policy called on one
  observation per step, then GPOMDP on that trajectory (the same policy code);
* the **hardware limit**: for MuJoCo, raw ``mujoco.mj_step`` on every core replaying the
  oracle round's own trajectories (one thread per core, each stepping its own ``MjData``
  from the trajectory's reset state with the recorded controls, ``frame_skip`` physics
  steps per environment step; MuJoCo releases the GIL), so that the limit pays for the
  same contacts as the oracle; for classic control, raw ``env.step`` of one gymnasium
  environment with a constant action.

MuJoCo environments run with ``terminate_when_unhealthy=False``, so that every trajectory
lasts the horizon (as a trained policy's do) whatever the untrained policy does. Repeats
alternate between the variants; medians of wall-clock rates are reported.

    python benchmarks/rollouts.py
    python benchmarks/rollouts.py --envs Hopper-v5 --horizon 1000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

import gymnasium as gym
import numpy as np

from asyncnigt.problems.gpomdp import gpomdp_policy
from asyncnigt.problems.gym_oracle import draw_trajectory_randomness
from asyncnigt.problems.gym_problem import GymProblem
from asyncnigt.seeding import Streams

ENVS = ("Pendulum-v1", "Hopper-v5", "Humanoid-v5")
N_WORKERS, BATCH = 10, 20
MIN_ORACLE_SECONDS = 0.1  # a Pendulum round takes about 9 ms: time several per repeat


def make(env_id: str, horizon: int, **options) -> tuple[GymProblem, np.ndarray]:
    problem = GymProblem(env_id, horizon=horizon, **options)
    theta = problem.initial_point(Streams(0).generator("init"))
    return problem, theta


def round_workers() -> np.ndarray:
    """Rows of the trajectory buffer's first call for a Rennala round: ⌈M/n⌉ per worker."""
    per = -(-BATCH // N_WORKERS)
    return np.repeat(np.arange(N_WORKERS), per)


def oracle_round(problem, theta, seed: int) -> tuple[int, float]:
    """(environment steps, wall seconds) of batched gradient calls of a round's rows,
    repeated (the oracle's next rows) until ``MIN_ORACLE_SECONDS`` have passed, so that a
    short call's timing noise averages out."""
    oracle = problem.oracle(Streams(seed), N_WORKERS)
    workers = round_workers()
    points = np.broadcast_to(theta, (len(workers), theta.size))
    oracle.gradients(points, workers)  # warm up: environments are made on first use, pooled
    steps, t0 = 0, time.perf_counter()
    while True:
        steps += int(oracle.gradients(points, workers).steps.sum())
        wall = time.perf_counter() - t0
        if wall >= MIN_ORACLE_SECONDS:
            break
    oracle.close()
    return steps, wall


def naive_round(problem, theta, seed: int) -> tuple[int, float]:
    """One environment, one trajectory at a time, the policy called per step."""
    policy, horizon = problem.policy, problem.horizon
    rngs = Streams(seed).per_worker("oracle", N_WORKERS)
    env = problem.make_env(0)
    box = isinstance(problem.action_space, gym.spaces.Box)
    low, high = (problem.action_space.low, problem.action_space.high) if box else (None, None)
    env.reset(seed=0)
    steps = 0
    t0 = time.perf_counter()
    for w in round_workers():
        reset_seed, noise = draw_trajectory_randomness(rngs[w], policy, horizon)
        obs = np.asarray(env.reset(seed=reset_seed)[0], dtype=np.float64).reshape(-1)
        o_hist = np.zeros((horizon, problem.obs_dim))
        a_hist = np.zeros((horizon,) + policy.action_shape, dtype=np.float64 if box else np.int64)
        rewards = np.zeros(horizon)
        t = 0
        while t < horizon:
            o_hist[t] = obs
            a_hist[t] = policy.sample(theta, obs[None], noise[t][None])[0]
            a = policy.env_action(a_hist[t][None])[0]
            a = np.clip(a, low, high) if box else a
            obs, r, terminated, truncated, _ = env.step(a)
            obs = np.asarray(obs, dtype=np.float64).reshape(-1)
            rewards[t] = r
            t += 1
            if terminated or truncated:
                break
        mask = (np.arange(horizon) < t)[None]
        gpomdp_policy(policy, theta, o_hist[None], a_hist[None], rewards[None], mask, problem.gamma)
        steps += t
    wall = time.perf_counter() - t0
    env.close()
    return steps, wall


def raw_limit(problem, theta, seed: int) -> tuple[int, float]:
    """Environment steps and wall seconds of the hardware limit (see the docstring)."""
    env = problem.make_env(0)
    mujoco_env = hasattr(env.unwrapped, "model") and hasattr(env.unwrapped, "frame_skip")
    env.close()
    return mj_step_replay(problem, theta, seed) if mujoco_env else env_step_limit(problem)


def mj_step_replay(problem, theta, seed: int) -> tuple[int, float]:
    """Raw ``mj_step`` on every core over the oracle round's own trajectories.

    The round of :func:`oracle_round` (same streams, so the same trajectories) is rolled
    out once; then one thread per core replays its share of the trajectories, each from
    a copy of the environment's ``MjData`` after its reset, setting the recorded control
    and calling ``mj_step(model, data, nstep=frame_skip)`` per environment step: the
    physics of exactly the oracle's work, with nothing else (MuJoCo releases the GIL)."""
    import mujoco

    oracle = problem.oracle(Streams(seed), N_WORKERS)
    workers = round_workers()
    traj = oracle.rollouts(np.broadcast_to(theta, (len(workers), theta.size)), workers)
    oracle.close()
    rngs = Streams(seed).per_worker("oracle", N_WORKERS)
    seeds = [draw_trajectory_randomness(rngs[w], problem.policy, problem.horizon)[0]
             for w in workers]
    space = problem.action_space
    jobs = []
    for w, reset_seed, u, steps in zip(workers, seeds, traj.actions, traj.steps, strict=True):
        env = problem.make_env(int(w))
        env.reset(seed=reset_seed)
        controls = np.clip(problem.policy.env_action(u[:steps]), space.low, space.high)
        jobs.append((env.unwrapped.model, env.unwrapped.data, int(env.unwrapped.frame_skip),
                     controls))
    work = iter(jobs)

    def replay():
        for model, start, skip, controls in work:
            data = mujoco.MjData(model)
            mujoco.mj_copyData(data, model, start)
            for a in controls:
                data.ctrl[:] = a
                mujoco.mj_step(model, data, nstep=skip)

    threads = [threading.Thread(target=replay) for _ in range(os.cpu_count() or 1)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return int(traj.steps.sum()), time.perf_counter() - t0


def env_step_limit(problem, seconds: float = 1.0) -> tuple[int, float]:
    """Raw ``env.step`` of one gymnasium environment with a constant action."""
    env = problem.make_env(0)
    env.reset(seed=0)
    action = np.zeros(env.action_space.shape) if isinstance(env.action_space, gym.spaces.Box) \
        else env.action_space.start
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(200):
            _, _, terminated, truncated, _ = env.step(action)
            steps += 1
            if terminated or truncated:
                env.reset()
    wall = time.perf_counter() - t0
    env.close()
    return steps, wall


FULL_LENGTH = {"terminate_when_unhealthy": False}  # MuJoCo: every trajectory lasts H steps


def measure(env_id: str, horizon: int, repeats: int, options: dict | None = None) -> dict:
    options = dict(options or {})
    if env_id != "Pendulum-v1":
        options.setdefault("env_kwargs", FULL_LENGTH)
    problem, theta = make(env_id, horizon, **options)
    rates = {"oracle": [], "naive": [], "limit": []}
    for r in range(repeats):
        for name, fn in (("oracle", oracle_round), ("naive", naive_round)):
            steps, wall = fn(problem, theta, r)
            rates[name].append(steps / wall)
        steps, wall = raw_limit(problem, theta, r)
        rates["limit"].append(steps / wall)
    return {k: statistics.median(v) for k, v in rates.items()}


def table(envs=ENVS, horizon: int | None = None, repeats: int = 3, out=print,
          options: dict | None = None) -> list:
    """Measure and print the rollout table; returns its rows."""
    out(f"{'environment':<13} {'H':>5} {'oracle steps/s':>15} {'naive steps/s':>14} "
        f"{'limit steps/s':>14} {'oracle/naive':>13} {'oracle/limit':>13}")
    rows = []
    for env_id in envs:
        h = horizon or (200 if env_id == "Pendulum-v1" else 1000)
        r = measure(env_id, h, repeats, options)
        out(f"{env_id:<13} {h:>5} {r['oracle']:>15,.0f} {r['naive']:>14,.0f} {r['limit']:>14,.0f} "
            f"{r['oracle'] / r['naive']:>13.2f} {r['oracle'] / r['limit']:>13.2f}")
        rows.append(dict(env=env_id, horizon=h, **r))
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=list(ENVS))
    parser.add_argument("--horizon", type=int, default=None,
                        help="default: 200 (Pendulum), 1000 (MuJoCo)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    table(args.envs, args.horizon, args.repeats)


if __name__ == "__main__":
    main()
