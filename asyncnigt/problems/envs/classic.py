"""numpy versions of gymnasium's classic-control environments, k rows at a time.

Each class reproduces ``gymnasium.make(id, **kwargs)``: the environment's ``reset`` and
``step`` (the same float operations, in the same order, on float64 arrays instead of
scalars; numpy's elementwise functions give every element the result they give a
scalar) and the wrappers' ``TimeLimit`` truncation. ``reset`` seeds a fresh generator per
row exactly as ``Env.reset(seed=…)`` does (``gymnasium.utils.seeding.np_random``).
``VectorPendulum`` defers its rewards (``envs/__init__.py``): computed from a log of the
steps, each with gymnasium's float operations.

Supported keyword arguments (others make :func:`vector_batch` return ``None``, and the
oracle then steps gymnasium's own environments): ``Pendulum-v1``: ``g``;
``CartPole-v1``: ``sutton_barto_reward``; ``MountainCarContinuous-v0``: ``goal_velocity``;
all: ``max_episode_steps``.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import gymnasium as gym
import numpy as np


def _rng(seed: int) -> np.random.Generator:
    """The generator ``Env.reset(seed=seed)`` installs (gymnasium.utils.seeding)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed))))


def _pow2(x: np.ndarray) -> np.ndarray:
    """x ** 2 as gymnasium computes it on scalars: C ``pow``, which differs from x·x in the
    last bit for about 0.1% of inputs. ``np.float_power`` calls C ``pow`` per element
    (``np.power`` does not: its exponent-2 fast path is x·x and its SIMD loops are not C
    ``pow``); checked equal to Python's ``v ** 2`` on 16 million values."""
    return np.float_power(x, 2.0)


class _Classic:
    """Common row bookkeeping: per-row parameters, elapsed steps and the time limit."""

    env_id: str
    kwargs_allowed: tuple[str, ...] = ()

    def __init__(self, rows_kwargs: list[dict]):
        spec = gym.spec(self.env_id)
        self.k = len(rows_kwargs)
        self.max_steps = np.array([kw.get("max_episode_steps", spec.max_episode_steps)
                                   for kw in rows_kwargs], dtype=np.int64)
        self.elapsed = np.zeros(self.k, dtype=np.int64)

    @classmethod
    def supports(cls, kwargs: dict) -> bool:
        return set(kwargs) <= set(cls.kwargs_allowed) | {"max_episode_steps"}

    def _rows(self, live: np.ndarray):
        """An index for rows ``live`` (sorted, distinct): a slice when every row is live
        (views instead of copies)."""
        return slice(None) if len(live) == self.k else live

    def _tick(self, live) -> np.ndarray:
        """Count a step of rows ``live`` (indices, or a slice: every row); their
        ``TimeLimit`` truncation flags."""
        if isinstance(live, slice):  # in place, without the copies of live indexing
            np.add(self.elapsed, 1, out=self.elapsed)
            return self.elapsed >= self.max_steps
        self.elapsed[live] += 1
        return self.elapsed[live] >= self.max_steps[live]


class VectorPendulum(_Classic):
    """``Pendulum-v1`` (gymnasium.envs.classic_control.pendulum).

    A step costs numpy's per-call overhead on k-element arrays, so it makes few calls and
    creates few views: the state is one array (4, k) of θ, θ̇, the last action u and
    sin θ (computed for the observation, reused by the next step's gravity term),
    updated in place, with the views of a step of every row made once (:meth:`_arrays`);
    the constants are 0-d float64 arrays (gymnasium's values; numpy applies them faster
    than Python floats). The rewards are deferred (``defers_rewards``): a step logs
    (θ, θ̇, u) and :meth:`rewards` computes the rewards of all the steps at once.
    """

    env_id = "Pendulum-v1"
    kwargs_allowed = ("g",)
    max_speed, max_torque, dt, m, length = 8, 2.0, 0.05, 1.0, 1.0
    defers_rewards = True

    def __init__(self, rows_kwargs: list[dict]):
        super().__init__(rows_kwargs)
        self.g = np.array([float(kw.get("g", 10.0)) for kw in rows_kwargs])
        self.state = np.zeros((4, self.k))  # θ, θ̇, u, sin θ
        self.log = np.zeros((int(self.max_steps.max(initial=1)), 3, self.k))  # θ, θ̇, u
        self.n_steps = 0  # steps since reset: the log's rows in use
        # step's constant factors, with gymnasium's operations: 3 g / (2 l) and 3 / (m l²)
        self.gravity_factor = 3 * self.g / (2 * self.length)
        self.c = SimpleNamespace(**{name: np.array(value, dtype=np.float64) for name, value in {
            "dt": self.dt, "torque_factor": 3.0 / (self.m * self.length**2),
            "max_torque": self.max_torque, "max_speed": self.max_speed}.items()})
        self.c.min_torque, self.c.min_speed = -self.c.max_torque, -self.c.max_speed
        self.every = self._arrays(slice(None))
        self.never = np.zeros(self.k, dtype=bool)  # terminated: Pendulum never terminates
        self.never.flags.writeable = False

    def _arrays(self, rows) -> tuple:
        """The arrays of a step of rows ``rows`` (a slice: every row, views of this batch's
        arrays; indices: a copy of their state, to be written back): state (4, n) and its
        rows θ, θ̇, u, sin θ; 3g/(2l)."""
        state = self.state[:, rows]
        return (state, *state, self.gravity_factor[rows])

    def reset(self, seeds) -> np.ndarray:
        """gymnasium's θ, θ̇ = uniform(low=−high, high=high), high = (π, 1), drawn as two
        scalar draws (the same two draws, low + (high − low) · u each, in order)."""
        for r, seed in enumerate(seeds):
            rng = _rng(seed)
            self.state[:2, r] = rng.uniform(-np.pi, np.pi), rng.uniform(-1.0, 1.0)
        self.elapsed[:] = 0
        self.n_steps = 0
        return self._obs(self.state[0], self.state[1], self.state[3])

    @staticmethod
    def _obs(theta, thetadot, sin) -> np.ndarray:
        """[cos θ, sin θ, θ̇] rounded to float32 (gymnasium's observation), as float64;
        sin θ is written into ``sin`` (the state's, for the next step)."""
        obs = np.empty((len(theta), 3), dtype=np.float32)
        np.sin(theta, out=sin)
        obs[:, 0], obs[:, 1], obs[:, 2] = np.cos(theta), sin, thetadot
        return obs.astype(np.float64)

    def _log_row(self) -> np.ndarray:
        """The log's row (3, k) of the next step (the log grows when full)."""
        if self.n_steps == len(self.log):
            self.log = np.concatenate([self.log, np.zeros_like(self.log)])
        self.n_steps += 1
        return self.log[self.n_steps - 1]

    def step(self, live: np.ndarray, actions: np.ndarray):
        """gymnasium's step for rows ``live`` (rewards deferred: None, see :meth:`rewards`)::

            u = clip(a, ±2),
            θ̇' = clip(θ̇ + (3g/(2l) sin θ + 3/(m l²) u) dt, ±8),  θ' = θ + θ̇' dt.

        clip(x, lo, hi) is computed as min(max(x, lo), hi), equal for non-zero bounds."""
        every, c = len(live) == self.k, self.c
        rows = slice(None) if every else live
        state, th, thdot, u, sin_th, gravity_factor = (
            self.every if every else self._arrays(rows))
        np.minimum(np.maximum(actions[:, 0], c.min_torque), c.max_torque, out=u)
        self._log_row()[:, rows] = state[:3]
        np.add(thdot, (gravity_factor * sin_th + c.torque_factor * u) * c.dt, out=thdot)
        np.minimum(np.maximum(thdot, c.min_speed, out=thdot), c.max_speed, out=thdot)
        np.add(th, thdot * c.dt, out=th)
        obs = self._obs(th, thdot, sin_th)
        if not every:
            self.state[:, rows] = state
        return obs, None, self.never[: len(live)], self._tick(rows)

    def rewards(self, n_t: int) -> np.ndarray:
        """The rewards (k, n_t) of the first n_t steps since reset (a row's entries at
        steps where it was not live are unspecified), computed from the log as gymnasium
        computes each::

            −cost,  cost = angle(θ)² + 0.1 θ̇² + 0.001 u²  (C pow),
            angle(θ) = ((θ + π) mod 2π) − π."""
        theta, thetadot, u = np.moveaxis(self.log[:n_t], 1, 0)
        angle = ((theta + np.pi) % (2 * np.pi)) - np.pi
        costs = _pow2(angle) + 0.1 * _pow2(thetadot) + 0.001 * _pow2(u)
        return -costs.T


class VectorCartPole(_Classic):
    """``CartPole-v1`` (gymnasium.envs.classic_control.cartpole), Euler integrator."""

    env_id = "CartPole-v1"
    kwargs_allowed = ("sutton_barto_reward",)
    gravity, masscart, masspole, length, force_mag, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    x_threshold = 2.4
    theta_threshold = 12 * 2 * math.pi / 360

    def __init__(self, rows_kwargs: list[dict]):
        super().__init__(rows_kwargs)
        self.sutton_barto = np.array([bool(kw.get("sutton_barto_reward", False))
                                      for kw in rows_kwargs])
        self.total_mass = self.masspole + self.masscart
        self.polemass_length = self.masspole * self.length
        self.state = np.zeros((self.k, 4))

    def reset(self, seeds) -> np.ndarray:
        for r, seed in enumerate(seeds):
            self.state[r] = _rng(seed).uniform(low=-0.05, high=0.05, size=(4,))
        self.elapsed[:] = 0
        return self.state.astype(np.float32).astype(np.float64)

    def step(self, live: np.ndarray, actions: np.ndarray):
        x, x_dot, theta, theta_dot = self.state[live].T
        force = np.where(np.asarray(actions).reshape(-1) == 1, self.force_mag, -self.force_mag)
        costheta = np.cos(theta)
        sintheta = np.sin(theta)
        temp = (force + self.polemass_length * np.square(theta_dot) * sintheta) / self.total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * np.square(costheta) / self.total_mass)
        )
        xacc = temp - self.polemass_length * thetaacc * costheta / self.total_mass
        x = x + self.tau * x_dot
        x_dot = x_dot + self.tau * xacc
        theta = theta + self.tau * theta_dot
        theta_dot = theta_dot + self.tau * thetaacc
        state = np.stack([x, x_dot, theta, theta_dot], axis=1)
        self.state[live] = state
        terminated = ((x < -self.x_threshold) | (x > self.x_threshold)
                      | (theta < -self.theta_threshold) | (theta > self.theta_threshold))
        sb = self.sutton_barto[live]
        reward = np.where(terminated, np.where(sb, -1.0, 1.0), np.where(sb, 0.0, 1.0))
        obs = state.astype(np.float32).astype(np.float64)
        return obs, reward, terminated, self._tick(live)


class VectorMountainCarContinuous(_Classic):
    """``MountainCarContinuous-v0`` (gymnasium.envs.classic_control.continuous_mountain_car).

    gymnasium keeps the state in float32 after the first step and mixes Python floats
    (weakly typed) and numpy scalars, so a step's arithmetic is float64 except where a
    float32 operand meets a Python float; ``first`` marks rows whose state is still the
    float64 state of ``reset``.
    """

    env_id = "MountainCarContinuous-v0"
    kwargs_allowed = ("goal_velocity",)
    min_position, max_position, max_speed, goal_position, power = -1.2, 0.6, 0.07, 0.45, 0.0015

    def __init__(self, rows_kwargs: list[dict]):
        super().__init__(rows_kwargs)
        self.goal_velocity = np.array([float(kw.get("goal_velocity", 0)) for kw in rows_kwargs])
        self.state = np.zeros((self.k, 2))
        self.first = np.ones(self.k, dtype=bool)

    def reset(self, seeds) -> np.ndarray:
        for r, seed in enumerate(seeds):
            self.state[r] = (_rng(seed).uniform(low=-0.6, high=-0.4), 0.0)
        self.first[:] = True
        self.elapsed[:] = 0
        return self.state.astype(np.float32).astype(np.float64)

    def step(self, live: np.ndarray, actions: np.ndarray):
        position, velocity = self.state[live, 0], self.state[live, 1]
        first = self.first[live]
        a = np.asarray(actions, dtype=np.float64)[:, 0]
        force = np.minimum(np.maximum(a, -1.0), 1.0)
        p32 = position.astype(np.float32)
        three_p = np.where(first, 3 * position, (np.float32(3) * p32).astype(np.float64))
        velocity = velocity + (force * self.power - 0.0025 * np.cos(three_p))
        clipped = (velocity > self.max_speed) | (velocity < -self.max_speed)
        velocity = np.clip(velocity, -self.max_speed, self.max_speed)
        # float32 position + a clipped velocity (a Python float) stays in float32
        in32 = ~first & clipped
        sum32 = (p32 + velocity.astype(np.float32)).astype(np.float64)
        position = np.where(in32, sum32, position + velocity)
        position = np.clip(position, self.min_position, self.max_position)
        velocity = np.where((position == self.min_position) & (velocity < 0), 0.0, velocity)
        terminated = (position >= self.goal_position) & (velocity >= self.goal_velocity[live])
        cost = _pow2(a) * 0.1  # math.pow(a, 2), as gymnasium
        reward = np.where(terminated, 100.0, 0.0) - cost
        state = np.stack([position, velocity], axis=1).astype(np.float32)
        self.state[live] = state
        self.first[live] = False
        return state.astype(np.float64), reward, terminated, self._tick(live)


VECTOR_ENVS = {c.env_id: c for c in (VectorPendulum, VectorCartPole, VectorMountainCarContinuous)}


def vector_batch(env_id: str, rows_kwargs: list[dict]):
    """A numpy batch for rows with these ``gymnasium.make`` kwargs, or ``None`` when the
    environment or one of the kwargs is not supported."""
    cls = VECTOR_ENVS.get(env_id)
    if cls is None or not all(cls.supports(kw) for kw in rows_kwargs):
        return None
    return cls(rows_kwargs)
