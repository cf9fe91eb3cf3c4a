"""Softmax MLP policy for discrete actions.

    π_θ(a|s) = softmax(ℓ_θ(s))_a,   ℓ_θ = tanh MLP (``mlp.py``) with n_actions outputs,
    log π_θ(a|s) = ℓ_a − log Σ_b e^{ℓ_b},   ∂ log π_θ(a|s)/∂ℓ = onehot(a) − π_θ(·|s).

Actions are integer indices 0 … n_actions − 1 (arrays of shape (B,); (B, 1) is accepted).
Sampling is by inverse CDF from caller-supplied uniforms U ∈ [0, 1):
a = #{b : Σ_{c≤b} π_c < U}, so the caller owns the randomness.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .mlp import MLPPolicy, TanhMLP


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax along the last axis (max-shifted)."""
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class CategoricalMLPPolicy(MLPPolicy):
    """π_θ(a|s) = softmax(ℓ_θ(s))_a; see the module docstring."""

    def __init__(self, obs_dim: int, n_actions: int, hidden_sizes: Sequence[int] = (64, 64)):
        self.obs_dim, self.n_actions = int(obs_dim), int(n_actions)
        if self.n_actions < 2:
            raise ValueError(f"need >= 2 actions, got {n_actions}")
        self.mlp = TanhMLP((self.obs_dim, *hidden_sizes, self.n_actions))
        self.dim = self.mlp.dim
        self.action_shape = ()
        self.noise_shape = ()

    def init(self, rng: np.random.Generator) -> np.ndarray:
        """θ_0: orthogonal hidden layers, output gain 0.01 (π_θ0 ≈ uniform)."""
        return self.mlp.init(rng)

    def _head(self, theta, logits, actions):
        a = np.asarray(actions)
        if a.shape == logits.shape[:-1] + (1,):
            a = a[..., 0]
        a = a.astype(np.int64)
        m = logits.max(axis=-1, keepdims=True)
        e = np.exp(logits - m)
        s = e.sum(axis=-1, keepdims=True)
        log_z = (m + np.log(s))[..., 0]  # log Σ_b e^{ℓ_b}
        logp = np.take_along_axis(logits, a[..., None], axis=-1)[..., 0] - log_z
        dy = (np.arange(self.n_actions) == a[..., None]) - e / s
        return logp, dy, logits[..., :0]

    def probabilities(self, theta: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """π_θ(·|s) per row, (B, n_actions)."""
        logits, _ = self.mlp.forward(theta, np.asarray(obs, dtype=np.float64))
        return softmax(logits)

    def sample_output(self, theta: np.ndarray, y: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """Actions (B,) int64 by inverse CDF of caller-supplied uniforms ``noise`` (B,), from
        the logits y (``sample(θ, obs, U)`` runs the network first)."""
        cdf = np.cumsum(softmax(y), axis=-1)
        u = np.reshape(noise, cdf.shape[:-1])[..., None]
        return np.minimum(np.sum(cdf < u, axis=-1), self.n_actions - 1).astype(np.int64)

    def mean_action(self, theta: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """The most probable action (B,) int64."""
        logits, _ = self.mlp.forward(theta, np.asarray(obs, dtype=np.float64))
        return np.argmax(logits, axis=-1).astype(np.int64)

    def env_action(self, actions: np.ndarray) -> np.ndarray:
        """Indices as given (the caller adds a Discrete space's ``start``)."""
        return np.asarray(actions, dtype=np.int64)

    def draw_noise(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """U for n steps, (n,) uniforms on [0, 1), in one call."""
        return rng.random(n)
