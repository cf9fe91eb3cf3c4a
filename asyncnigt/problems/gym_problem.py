"""Policy gradients (GPOMDP) on gymnasium environments.

``GymProblem`` maximises J_H(θ) = E[Σ_{t<H} γ^t r_t] of a numpy policy (``policies/``):
a squashed Gaussian MLP for Box actions (a = a_max tanh(u), a_max = max(|low|, |high|)
per coordinate; symmetric bounds assumed, actions are clipped to [low, high] anyway) or
a softmax MLP for Discrete actions. Observations must be a Box (flattened to a vector).

Heterogeneous workers (``methods.md`` §1 and §5(e)): worker i may run its own variant of
the environment (``worker_env_kwargs[i]`` overrides ``env_kwargs``) and/or see negated
observations (``negate_observation_workers``). As in arXiv 2509.24305, once any worker
negates, *every* worker's observation gets a flag coordinate appended: 1 for negating
workers, 0 otherwise, so that one policy can tell the MDPs apart.

The oracle (lockstep rollouts, the trajectories' randomness, evaluation) is
:class:`~asyncnigt.problems.gym_oracle.GymOracle`.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np

from ..threads import default_threads
from .base import Problem
from .envs.gym_batch import is_mujoco
from .gym_oracle import GymOracle
from .policies import CategoricalMLPPolicy, GaussianMLPPolicy

POLICY_OPTIONS = ("hidden_sizes", "state_dependent_std", "min_std", "init_log_std")


class GymProblem(Problem):
    """GPOMDP on gymnasium environment ``env``; see the module docstring.

    ``policy``: options of the policy, among ``POLICY_OPTIONS`` (the Gaussian-only ones
    are ignored for Discrete actions); kept as ``policy_options``, while the attribute
    ``policy`` holds the policy object (``policies/``).

    ``vector_envs``: roll classic-control environments out with their numpy versions
    (``envs/classic.py``) and step MuJoCo environments with a kind through
    ``envs/mujoco_batch.py`` (both equal to gymnasium step by step) where available; ``threads``:
    threads stepping MuJoCo environments and running parts of the backward pass (default
    one per core). Neither changes results.
    """

    sense = "max"

    def __init__(
        self,
        env: str,
        horizon: int = 1000,
        gamma: float = 0.99,
        policy: dict | None = None,
        env_kwargs: dict | None = None,
        worker_env_kwargs: Sequence[dict] | None = None,
        negate_observation_workers: Sequence[int] | None = None,
        eval_episodes: int = 10,
        vector_envs: bool = True,
        threads: int | None = None,
    ):
        self.env_id, self.horizon, self.gamma = str(env), int(horizon), float(gamma)
        self.vector_envs = bool(vector_envs)
        self.threads = default_threads() if threads is None else int(threads)
        if self.threads < 1:
            raise ValueError(f"threads: must be >= 1, got {threads}")
        self.eval_episodes = int(eval_episodes)
        if self.horizon < 1 or not 0.0 < self.gamma <= 1.0 or self.eval_episodes < 1:
            raise ValueError(
                f"need horizon >= 1, 0 < gamma <= 1, eval_episodes >= 1; got "
                f"{horizon=}, {gamma=}, {eval_episodes=}"
            )
        self.env_kwargs = dict(env_kwargs or {})
        self.worker_env_kwargs = (
            None if worker_env_kwargs is None else tuple(dict(kw) for kw in worker_env_kwargs)
        )
        self.negate_observation_workers = tuple(int(i) for i in negate_observation_workers or ())
        self.flagged = bool(self.negate_observation_workers)
        self.heterogeneous = self.flagged or any(self.worker_env_kwargs or ())
        self.steps_per_gradient = self.horizon

        probe = gym.make(self.env_id, **self.env_kwargs)
        self.observation_space, self.action_space = probe.observation_space, probe.action_space
        self.mujoco = is_mujoco(probe)
        probe.close()
        if not isinstance(self.observation_space, gym.spaces.Box):
            raise ValueError(
                f"GymProblem needs a Box observation space; {self.env_id} has "
                f"{self.observation_space}"
            )
        self.obs_dim = int(np.prod(self.observation_space.shape)) + int(self.flagged)
        self.policy_options = dict(policy or {})
        self.policy = self._make_policy(dict(self.policy_options))
        self.dim = self.policy.dim

    def _make_policy(self, options: dict):
        unknown = set(options) - set(POLICY_OPTIONS)
        if unknown:
            raise ValueError(f"unknown policy options {sorted(unknown)}; known: {POLICY_OPTIONS}")
        hidden = tuple(options.pop("hidden_sizes", (64, 64)))
        space = self.action_space
        if isinstance(space, gym.spaces.Discrete):
            return CategoricalMLPPolicy(self.obs_dim, int(space.n), hidden)
        if isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
            a_max = np.maximum(np.abs(space.low), np.abs(space.high)).astype(np.float64)
            a_max = a_max if np.all(np.isfinite(a_max)) else None  # unbounded: no squashing
            return GaussianMLPPolicy(self.obs_dim, space.shape[0], hidden, a_max=a_max, **options)
        raise ValueError(
            f"GymProblem needs a Discrete or 1-D Box action space; {self.env_id} has {space}"
        )

    def worker_kwargs(self, worker: int) -> dict:
        """gymnasium.make kwargs of worker ``worker``'s environment."""
        extra = self.worker_env_kwargs[worker] if self.worker_env_kwargs is not None else {}
        return {**self.env_kwargs, **extra}

    def make_env(self, worker: int) -> gym.Env:
        """A new instance of worker ``worker``'s environment (spaces checked)."""
        env = gym.make(self.env_id, **self.worker_kwargs(worker))
        if (
            env.observation_space.shape != self.observation_space.shape
            or env.action_space != self.action_space
        ):
            env.close()
            raise ValueError(
                f"worker {worker}'s environment {self.worker_kwargs(worker)} "
                f"changes the observation or action space"
            )
        return env

    def initial_point(self, rng: np.random.Generator) -> np.ndarray:
        return self.policy.init(rng)

    def oracle(self, streams, n_workers: int) -> GymOracle:
        return GymOracle(self, streams, n_workers)
