"""Squashed Gaussian MLP policy (the policy of arXiv 2509.24305, ``methods.md`` §1).

    u ~ N(μ_θ(s), diag σ_θ(s)²),      a = a_max ⊙ tanh(u).

μ_θ is a tanh MLP (default two hidden layers of 64 units, ``mlp.py``). The standard
deviation is either state dependent, σ_θ(s) = softplus(z_θ(s)) + σ_min from a second
output head (the paper's choice), or a learned state-independent vector σ = exp(ℓ)
(``state_dependent_std=False``; ℓ are the last ``action_dim`` entries of θ).

**Actions are the pre-squash u.** a = a_max tanh(u) is invertible and its Jacobian does
not depend on θ, so log π_θ(a|s) = log N(u; μ_θ(s), σ_θ(s)²) − log|da/du| and

    ∇_θ log π_θ(a|s) = ∇_θ log N(u; μ_θ(s), σ_θ(s)²).

:meth:`sample` and :meth:`mean_action` therefore return u, :meth:`log_prob_and_grad`
takes u, and only :meth:`squash` (= :meth:`env_action`) maps u to the environment's a.
The log-density reported is log N(u; μ, σ²) (without the constant Jacobian term).

Scores, with z = (u − μ)/σ per action coordinate::

    ∂ log N/∂μ = z/σ,   ∂ log N/∂σ = (z² − 1)/σ,   ∂σ/∂z_θ = sigmoid(z_θ),   ∂ log N/∂ℓ = z² − 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .mlp import MLPPolicy, TanhMLP

_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + eˣ), overflow-free."""
    return np.logaddexp(0.0, x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e⁻ˣ) = (1 + tanh(x/2)) / 2, overflow-free (the derivative of softplus)."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class GaussianMLPPolicy(MLPPolicy):
    """u ~ N(μ_θ(s), diag σ²), a = a_max tanh(u); see the module docstring.

    ``a_max``: scalar or (action_dim,) bound; ``None`` disables the squashing (a = u).
    ``init_log_std``: log σ at initialisation (exactly, for every state).
    """

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        hidden_sizes: Sequence[int] = (64, 64),
        *,
        state_dependent_std: bool = True,
        min_std: float = 1e-3,
        init_log_std: float = 0.0,
        a_max: float | np.ndarray | None = 1.0,
    ):
        self.obs_dim, self.action_dim = int(obs_dim), int(action_dim)
        self.state_dependent_std = bool(state_dependent_std)
        self.min_std = float(min_std)
        self.init_log_std = float(init_log_std)
        if self.state_dependent_std and not np.exp(self.init_log_std) > self.min_std >= 0.0:
            raise ValueError(
                f"need exp(init_log_std) > min_std >= 0, got {init_log_std=}, {min_std=}"
            )
        self.a_max = None if a_max is None else np.asarray(a_max, dtype=np.float64)
        n_out = 2 * self.action_dim if self.state_dependent_std else self.action_dim
        self.mlp = TanhMLP((self.obs_dim, *hidden_sizes, n_out))
        self.dim = self.mlp.dim + (0 if self.state_dependent_std else self.action_dim)
        self.action_shape = (self.action_dim,)
        self.noise_shape = (self.action_dim,)

    def init(self, rng: np.random.Generator) -> np.ndarray:
        """θ_0: orthogonal hidden layers, output layer gain 0.01 (μ ≈ 0), σ = exp(init_log_std)."""
        theta = np.zeros(self.dim)
        theta[: self.mlp.dim] = self.mlp.init(rng)
        sigma0 = np.exp(self.init_log_std)
        if self.state_dependent_std:
            out_layer = self.mlp.unflatten(theta)[-1]
            out_layer[:-1, self.action_dim :] = 0.0  # σ does not depend on s at θ_0
            y = sigma0 - self.min_std
            out_layer[-1, self.action_dim :] = y + np.log(-np.expm1(-y))  # softplus⁻¹
        else:
            theta[self.mlp.dim :] = self.init_log_std
        return theta

    def _mean_std(self, theta, y, slope: bool = True):
        """(μ, σ, ∂σ/∂z_θ or None) from the network output y (the slope only if asked)."""
        mu = y[..., : self.action_dim]
        if self.state_dependent_std:
            pre = y[..., self.action_dim :]
            return mu, softplus(pre) + self.min_std, sigmoid(pre) if slope else None
        return mu, np.broadcast_to(np.exp(theta[self.mlp.dim :]), mu.shape), None

    def _head(self, theta, y, u):
        mu, sigma, dsigma = self._mean_std(theta, y)
        z = (np.asarray(u, dtype=np.float64) - mu) / sigma
        logp = -0.5 * np.sum(z * z, axis=-1) - np.sum(np.log(sigma), axis=-1)
        logp -= self.action_dim * _HALF_LOG_2PI
        z2m1 = z * z - 1.0
        if self.state_dependent_std:
            dy = np.concatenate([z / sigma, z2m1 / sigma * dsigma], axis=-1)
            return logp, dy, z2m1[..., :0]
        return logp, z / sigma, z2m1

    def sample_output(self, theta: np.ndarray, y: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """Pre-squash actions u = μ_θ(s) + σ_θ(s) ⊙ ε from the network output y for
        caller-supplied ε ~ N(0, I) (``sample(θ, obs, ε)`` runs the network first)."""
        mu, sigma, _ = self._mean_std(theta, y, slope=False)
        return mu + sigma * noise

    def mean_action(self, theta: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """The deterministic pre-squash action μ_θ(s) (squash it for the environment)."""
        y, _ = self.mlp.forward(theta, np.asarray(obs, dtype=np.float64))
        return y[..., : self.action_dim].copy()

    def squash(self, u: np.ndarray) -> np.ndarray:
        """Environment action a = a_max ⊙ tanh(u) (identity when ``a_max`` is None)."""
        return np.array(u, dtype=np.float64) if self.a_max is None else self.a_max * np.tanh(u)

    env_action = squash

    def draw_noise(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """ε for n steps, (n, action_dim) standard normals, in one call."""
        return rng.standard_normal((n, self.action_dim))
