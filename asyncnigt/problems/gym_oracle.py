"""The gym oracle: lockstep GPOMDP rollouts of a ``GymProblem`` (``gym_problem.py``).

``GymOracle.gradients``: the k requested trajectories are rolled out in
lockstep, one batched policy call per step for all live rows that share a θ, the
environments stepped as a batch (``envs/``): the numpy version of a classic-control
environment (``vector_envs``), or one gymnasium environment per row (taken from a pool
per environment variant, created lazily, reused across calls). MuJoCo environments with
a kind (``envs/mujoco_kinds.py``, with ``vector_envs``) step only their physics per row
and the rest on arrays, others run gymnasium's own ``step``; with ``threads`` > 1 the rows
are rolled out as that many concurrent lockstep groups (:meth:`GymOracle._run`).
Trajectory j of worker i first draws, from worker i's generator
``streams.generator("oracle", i)`` and in row order, (1) a reset seed
``rng.integers(2**32)`` and (2) its whole noise matrix ``policy.draw_noise(rng, H)``
(:func:`draw_trajectory_randomness`). A trajectory ends after H steps or when the
environment terminates or truncates. Because every row's arithmetic is batch-invariant
(``policies/kernels.py``) and ``env.reset(seed=…)`` fully reseeds the environment,
results are bit-for-bit independent of how rows are grouped into calls. The rollout
keeps the policy network's layer values of every step (``policies/mlp.py``
ForwardRecord, memory kept by the oracle across calls), and the GPOMDP backward pass
uses them instead of recomputing the forward pass: the same numbers, bit for bit. With
``threads`` > 1, the backward passes of large calls run as that many concurrent parts
of the rows (:meth:`GymOracle._parts`).

Evaluation: ``eval_episodes`` episodes of the stochastic policy, episode e in the
environment of worker e mod n (so J = (1/n) Σ_i J_i is estimated evenly when n divides
``eval_episodes``), drawn from the oracle's one ``streams.generator("evaluation")``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from .base import Evaluation, GradientBatch, Oracle
from .envs import GymBatch, vector_batch
from .envs.mujoco_batch import MujocoBatch
from .envs.mujoco_kinds import kind_of
from .gpomdp import gpomdp_policy
from .policies.mlp import ForwardRecord

MIN_GROUP_STEP = 3e-5  # wall seconds per environment step above which row groups pay
MIN_PART_STEPS = 1000  # environment steps per concurrent part of the backward pass


def draw_trajectory_randomness(rng: np.random.Generator, policy, horizon: int):
    """(reset seed, noise (H, …)) of one trajectory: exactly two draws from ``rng``."""
    return int(rng.integers(2**32)), policy.draw_noise(rng, horizon)


def worker_observations(raw: np.ndarray, negate: np.ndarray, flagged: bool) -> np.ndarray:
    """Observations as workers see them: rows (k, o) negated where ``negate`` (k,) and,
    if ``flagged``, with the 0/1 flag ``negate`` appended as a last coordinate."""
    seen = np.where(negate[:, None], -raw, raw)
    return np.concatenate([seen, negate[:, None].astype(np.float64)], axis=1) if flagged else seen


def group_rows(points: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(θ, row indices)] for the distinct rows of ``points`` (k, d), in order of first
    appearance; one group when all rows are equal (the common case, cheap for broadcast
    views). Rows are compared by their bytes (a hash per row: ``np.unique(axis=0)`` on
    policy-sized rows costs milliseconds per call). Which rows share a call never
    changes their results (the kernels are batch-invariant)."""
    k = len(points)
    if k == 0:
        return []
    if points.strides[0] == 0 or np.array_equal(points, np.broadcast_to(points[0], points.shape)):
        return [(np.ascontiguousarray(points[0]), np.arange(k))]
    first: dict[bytes, list[int]] = {}
    for j, row in enumerate(np.ascontiguousarray(points)):
        first.setdefault(row.tobytes(), []).append(j)
    return [(points[rows[0]].copy(), np.array(rows)) for rows in first.values()]


@dataclass(frozen=True)
class Trajectories:
    """k trajectories padded with zeros to a common length T = max(steps)."""

    obs: np.ndarray  # (k, T, o) observations as the workers saw them
    actions: np.ndarray  # (k, T, …) policy actions (pre-squash u for Gaussian policies)
    rewards: np.ndarray  # (k, T)
    steps: np.ndarray  # (k,) int: steps actually taken
    record: ForwardRecord | None = None  # the policy network's values of every step

    @property
    def mask(self) -> np.ndarray:
        """(k, T) bool: 1 on steps actually taken."""
        return np.arange(self.rewards.shape[1]) < self.steps[:, None]

    def rows(self, index) -> Trajectories:
        """The trajectories ``index`` selects."""
        record = None if self.record is None else self.record.rows(index)
        return Trajectories(self.obs[index], self.actions[index], self.rewards[index],
                            self.steps[index], record)


def merge_trajectories(parts: list[slice], done: list[Trajectories], k: int,
                       rec: ForwardRecord | None) -> Trajectories:
    """The k rows' Trajectories from those of row groups ``parts`` (zero-padded to the
    longest)."""
    n_t = max(int(t.steps.max(initial=0)) for t in done)
    first = done[0]
    obs = np.zeros((k, n_t) + first.obs.shape[2:])
    actions = np.zeros((k, n_t) + first.actions.shape[2:], dtype=first.actions.dtype)
    rewards = np.zeros((k, n_t))
    steps = np.zeros(k, dtype=np.int64)
    for rows, t in zip(parts, done, strict=True):
        m = t.rewards.shape[1]
        obs[rows, :m], actions[rows, :m], rewards[rows, :m] = t.obs, t.actions, t.rewards
        steps[rows] = t.steps
    return Trajectories(obs, actions, rewards, steps, rec)


class GymOracle(Oracle):
    """Lockstep GPOMDP rollouts for ``n_workers`` workers; see the module docstring."""

    def __init__(self, problem, streams, n_workers: int):
        n = int(n_workers)
        wk, neg = problem.worker_env_kwargs, problem.negate_observation_workers
        if wk is not None and len(wk) != n:
            raise ValueError(f"worker_env_kwargs has {len(wk)} entries for {n} workers")
        if any(not 0 <= i < n for i in neg):
            raise ValueError(f"negate_observation_workers {neg} out of range for {n} workers")
        self.problem, self.policy = problem, problem.policy
        self.n_workers, self.dim = n, problem.dim
        self._rngs = streams.per_worker("oracle", n)
        self._eval_rng = streams.generator("evaluation")
        self._negate = np.isin(np.arange(n), neg)
        configs = [problem.worker_kwargs(i) for i in range(n)]
        self._env_key = [configs.index(c) for c in configs]  # workers with equal kwargs share
        self._pools: dict[int, list[gym.Env]] = {}
        space = problem.action_space
        self._box = isinstance(space, gym.spaces.Box)
        self._offset = 0 if self._box else int(space.start)
        if self._box:  # the bounds as float64 (np.clip would convert them at every step)
            self._low, self._high = (np.asarray(b, dtype=np.float64) for b in (space.low,
                                                                             space.high))
            a_max = getattr(self.policy, "a_max", None)
            self._clip = not (a_max is not None and np.all(self._high == a_max)
                              and np.all(self._low == -a_max))
        self._executor = None  # threads stepping MuJoCo environments, made on first use
        self._step_stats: dict = {}  # measured cost of an environment step (GymBatch)
        self._record_memory: ForwardRecord | None = None  # reused by gradients (_record)

    def _batch(self, workers: np.ndarray):
        """The environments of rows ``workers``: a numpy batch (classic control) or pooled
        gymnasium environments, stepped in threads for MuJoCo (``envs/``)."""
        problem = self.problem
        if problem.vector_envs:
            batch = vector_batch(problem.env_id, [problem.worker_kwargs(int(w)) for w in workers])
            if batch is not None:
                return batch
        envs = self._environments(workers)
        if not problem.mujoco:
            return GymBatch(envs)
        return self._mujoco_batch(envs, threaded=problem.threads > 1)

    def _mujoco_batch(self, envs: list, threaded: bool):
        """Pooled MuJoCo environments as a batch (``MujocoBatch`` for environments with a
        kind, else gymnasium's step), splitting each step's physics over the threads if
        ``threaded``, else stepped in the calling thread."""
        kind = kind_of(envs[0]) if self.problem.vector_envs else None
        pool = (self._pool(), self.problem.threads, self._step_stats) if threaded else ()
        return GymBatch(envs, *pool) if kind is None else MujocoBatch(envs, kind, *pool)

    def _pool(self) -> ThreadPoolExecutor:
        """The oracle's worker threads (threads − 1 of them; the caller is the other)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.problem.threads - 1,
                                                thread_name_prefix="asyncnigt-env")
        return self._executor

    def _environments(self, workers: np.ndarray) -> list[gym.Env]:
        """One distinct pooled environment per row, created lazily."""
        envs, used = [], {}
        for w in workers:
            key = self._env_key[w]
            pool = self._pools.setdefault(key, [])
            j = used[key] = used.get(key, -1) + 1
            if j == len(pool):
                pool.append(self.problem.make_env(int(w)))
            envs.append(pool[j])
        return envs

    def _env_actions(self, actions: np.ndarray) -> np.ndarray:
        """What the environments receive: the policy's env_action, clipped to a Box's
        bounds (skipped when it cannot change anything: a = a_max tanh(u) with
        a_max = high = −low, so |a| ≤ a_max), or shifted by a Discrete space's start."""
        a = self.policy.env_action(actions)
        if self._box:
            return np.clip(a, self._low, self._high) if self._clip else a
        return a + self._offset

    def _groups(self, workers: np.ndarray) -> int:
        """How many row groups roll out concurrently (see :meth:`_run`): one per thread for
        MuJoCo batches of at least two rows per thread whose environment step has been
        measured at ``MIN_GROUP_STEP`` wall seconds or more (serial steps of earlier
        calls); else 1. Cheap physics (InvertedPendulum) leaves little to overlap with
        the Python of the other group, and two threads then only contend for the GIL."""
        threads, serial = self.problem.threads, self._step_stats.get("serial")
        if not self.problem.mujoco or threads <= 1 or len(workers) < 2 * threads:
            return 1
        return threads if serial is not None and serial >= MIN_GROUP_STEP else 1

    def _run(self, points, workers, seeds, noise, rec: ForwardRecord | None = None
             ) -> Trajectories:
        """Lockstep rollout of rows (points[j], workers[j]) with the given randomness;
        ``rec``: where to keep the network's values of every step (``Trajectories.record``).

        MuJoCo rows are split into G interleaved groups (rows g, g + G, …), one per
        thread, each rolled out in its own lockstep by :meth:`_lockstep` on its own
        environments: one group's Python (policy, observations) runs while the other's
        physics does (MuJoCo releases the GIL), which beats splitting each lockstep's
        physics alone. Rows are independent and every row's arithmetic is batch-invariant,
        so the grouping never changes results."""
        n_groups = self._groups(workers)
        if n_groups == 1:
            return self._lockstep(points, workers, seeds, noise, rec, self._batch(workers))
        envs = self._environments(workers)
        parts = [slice(g, None, n_groups) for g in range(n_groups)]

        def group(rows: slice) -> Trajectories:
            batch = self._mujoco_batch(envs[rows], threaded=False)
            return self._lockstep(points[rows], workers[rows], seeds[rows], noise[rows],
                                  rec.rows(rows) if rec else None, batch)

        done = self._concurrently(group, [(rows,) for rows in parts])
        return merge_trajectories(parts, done, len(workers), rec)

    def _concurrently(self, fn, jobs: list[tuple]) -> list:
        """[fn(*job) for job in jobs], the first job in the calling thread and the others
        in the oracle's worker threads."""
        futures = [self._pool().submit(fn, *job) for job in jobs[1:]]
        return [fn(*jobs[0])] + [f.result() for f in futures]

    def _lockstep(self, points, workers, seeds, noise, rec, batch) -> Trajectories:
        """The lockstep rollout of :meth:`_run` on environments ``batch``: while every row
        is live at one θ (the common case), each step works on whole arrays, the network
        writing into the record in place (when its rows are contiguous); then, or with
        rows at several θ, each step works on the live rows of each θ group."""
        k, horizon, flagged = len(workers), self.problem.horizon, self.problem.flagged
        policy, step = self.policy, batch.step
        negate = self._negate[workers]
        as_seen = flagged or bool(negate.any())  # observations differ from the raw ones
        raw = batch.reset(seeds)
        current = worker_observations(raw.reshape(k, -1), negate, flagged)
        obs = np.zeros((k, horizon, self.problem.obs_dim))
        a_type = np.float64 if self._box else np.int64
        actions = np.zeros((k, horizon) + policy.action_shape, dtype=a_type)
        rewards = np.zeros((k, horizon))
        steps = np.full(k, horizon, dtype=np.int64)  # set when a row ends
        groups = group_rows(points)
        alive = np.ones(k, dtype=bool)
        every, t_whole = np.arange(k), 0  # steps taken on whole arrays
        in_place = rec is not None and rec.contiguous  # else the forward's arrays are copied
        if len(groups) == 1:
            theta = groups[0][0]
            biases = policy.mlp.tiled_biases(theta, k) if in_place else None
        for t in range(horizon if len(groups) == 1 else 0):  # every row live at one θ
            obs[:, t] = current
            if in_place:
                y, _ = policy.network(theta, current, rec.step(t), biases)
            else:
                y, hs = policy.network(theta, current)
                if rec:
                    rec.write(slice(None), t, hs, y)
            actions[:, t] = policy.sample_output(theta, y, noise[:, t])
            raw, r, terminated, truncated = step(every, self._env_actions(actions[:, t]))
            if r is not None:
                rewards[:, t] = r
            current = worker_observations(raw, negate, flagged) if as_seen else raw
            t_whole = t + 1
            done = terminated | truncated
            if np.count_nonzero(done):
                alive[done], steps[done] = False, t_whole
                break
        current = current.copy()  # written row by row from now on
        for t in range(t_whole, horizon):
            live = np.flatnonzero(alive)
            if live.size == 0:
                break
            obs[live, t] = current[live]
            for theta, rows in groups:
                sel = rows[alive[rows]]
                if sel.size:
                    y, hs = policy.network(theta, current[sel])
                    actions[sel, t] = policy.sample_output(theta, y, noise[sel, t])
                    if rec:
                        rec.write(sel, t, hs, y)
            raw, r, terminated, truncated = step(live, self._env_actions(actions[live, t]))
            if r is not None:
                rewards[live, t] = r
            current[live] = worker_observations(raw, negate[live], flagged) if as_seen else raw
            ended = live[terminated | truncated]
            alive[ended], steps[ended] = False, t + 1
        n_t = int(steps.max()) if k else 0
        if getattr(batch, "defers_rewards", False):
            mask = np.arange(n_t) < steps[:, None]
            rewards[:, :n_t] = np.where(mask, batch.rewards(n_t), 0.0)
        return Trajectories(obs[:, :n_t], actions[:, :n_t], rewards[:, :n_t], steps, rec)

    def draw(self, worker: int):
        """The randomness of worker ``worker``'s next trajectory (reset seed, noise), as
        a row would draw it from the worker's stream; rows given it
        (``gradients(..., draws=)``) equal rows that draw it themselves."""
        return draw_trajectory_randomness(self._rngs[worker], self.policy, self.problem.horizon)

    def rollouts(self, points: np.ndarray, workers: np.ndarray,
                 record: bool | ForwardRecord = False, draws=None) -> Trajectories:
        """Trajectories of rows (points[j], workers[j]), consuming the workers' streams
        (or using ``draws[j]`` from :meth:`draw`) (with the policy network's values of
        every step if ``record``: True for a new ``ForwardRecord``, or one of at least
        len(workers) rows to write into)."""
        points = np.asarray(points, dtype=np.float64)
        workers = np.asarray(workers, dtype=np.int64).reshape(-1)
        if points.shape != (len(workers), self.dim):
            raise ValueError(f"points must be ({len(workers)}, {self.dim}), got {points.shape}")
        if np.any((workers < 0) | (workers >= self.n_workers)):
            raise ValueError(f"worker indices must be in [0, {self.n_workers}), got {workers}")
        if draws is None:
            draws = [self.draw(w) for w in workers.tolist()]
        elif len(draws) != len(workers):
            raise ValueError(f"need one draw per row ({len(workers)}), got {len(draws)}")
        seeds = [s for s, _ in draws]
        noise = np.array([e for _, e in draws]).reshape(
            (len(workers), self.problem.horizon) + self.policy.noise_shape
        )
        if record is True:
            record = ForwardRecord(self.policy.mlp, len(workers), self.problem.horizon)
        return self._run(points, workers, seeds, noise, record or None)

    def advance(self, worker: int, rows: int, point: np.ndarray | None = None) -> None:
        """Consume worker ``worker``'s stream as ``rows`` trajectories would (at any point:
        their randomness does not depend on it), drawing it without rolling them out."""
        for _ in range(rows):
            self.draw(worker)

    def gradients(self, points: np.ndarray, workers: np.ndarray, draws=None) -> GradientBatch:
        """GPOMDP estimates g_H (k, d) of the rows' trajectories (``gpomdp.py``), one
        backward pass per group of rows at one θ (:meth:`_gpomdp`); ``draws``: the rows'
        randomness from :meth:`draw` (default: drawn here)."""
        points = np.asarray(points, dtype=np.float64)
        traj = self.rollouts(points, workers, record=self._record(len(points)), draws=draws)
        groups = group_rows(points)
        if len(groups) == 1:  # the common case: no copies
            return GradientBatch(grads=self._gpomdp(groups[0][0], traj), steps=traj.steps)
        grads = np.zeros((len(points), self.dim))
        for theta, rows in groups:
            grads[rows] = self._gpomdp(theta, traj.rows(rows))
        return GradientBatch(grads=grads, steps=traj.steps)

    def _gpomdp(self, theta: np.ndarray, traj: Trajectories) -> np.ndarray:
        """GPOMDP estimates (k, d) of trajectories ``traj`` sampled at θ; the backward pass
        reuses the rollout's network values (``ForwardRecord``) and runs as concurrent
        parts of the rows (:meth:`_parts`)."""
        return gpomdp_policy(self.policy, theta, traj.obs, traj.actions, traj.rewards,
                             traj.mask, self.problem.gamma, record=traj.record,
                             parts=self._parts(traj.steps), run=self._concurrently)

    def _parts(self, steps: np.ndarray) -> list[slice]:
        """Contiguous row ranges whose backward passes run concurrently, one per thread
        (numpy's matrix products release the GIL): as many as threads when each would get
        ``MIN_PART_STEPS`` environment steps or more, else one. Every row's arithmetic is
        batch-invariant, so the split never changes results."""
        k, threads = len(steps), self.problem.threads
        n = threads if threads > 1 and steps.sum() >= threads * MIN_PART_STEPS else 1
        n = min(n, k) or 1
        bounds = [k * j // n for j in range(n + 1)]
        return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    def _record(self, k: int) -> ForwardRecord:
        """A ForwardRecord of k rows whose memory is reused across calls (fresh pages cost
        more than the backward pass saves; the rollout overwrites every step it reads)."""
        if self._record_memory is None or self._record_memory.n_rows < k:
            self._record_memory = ForwardRecord(self.policy.mlp, k, self.problem.horizon)
        return self._record_memory.head(k)

    def evaluate(self, theta: np.ndarray) -> Evaluation:
        """Mean undiscounted (objective) and discounted return of ``eval_episodes`` episodes."""
        theta = np.asarray(theta, dtype=np.float64)
        n_ep, horizon = self.problem.eval_episodes, self.problem.horizon
        draws = [
            draw_trajectory_randomness(self._eval_rng, self.policy, horizon) for _ in range(n_ep)
        ]
        noise = np.array([e for _, e in draws]).reshape((n_ep, horizon) + self.policy.noise_shape)
        points = np.broadcast_to(theta, (n_ep, self.dim))
        traj = self._run(points, np.arange(n_ep) % self.n_workers, [s for s, _ in draws], noise)
        discount = self.problem.gamma ** np.arange(traj.rewards.shape[1])
        return Evaluation(
            objective=float(np.mean(traj.rewards.sum(axis=1))),
            extra=(("discounted_return", float(np.mean(traj.rewards @ discount))),),
        )

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None
        for pool in self._pools.values():
            for env in pool:
                env.close()
        self._pools.clear()
