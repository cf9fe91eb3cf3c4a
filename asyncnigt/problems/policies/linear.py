"""Linear-Gaussian policy (the LQR policy class).

    a = K s + σ ε,   ε ~ N(0, I),   θ = K.ravel()  (row-major, K of shape (action_dim, state_dim)),

with σ > 0 fixed (not learned). This parameter convention is shared with the LQR module,
which computes the exact J(K) and ∇J(K): keep it exactly. Scores::

    log π_K(a|s) = −‖a − K s‖² / (2σ²) − m log σ − (m/2) log 2π,
    ∇_K log π_K(a|s) = (a − K s) sᵀ / σ²   (flattened row-major like θ).
"""

from __future__ import annotations

import numpy as np

from .kernels import active_steps, row_outer, rowwise_matmul, segment_outer_sum

_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


class LinearGaussianPolicy:
    """a = K s + σ ε with θ = K.ravel(); see the module docstring.

    ``init_scale``: θ_0 = init_scale · N(0, I) (0 gives K_0 = 0).
    """

    def __init__(self, state_dim: int, action_dim: int, sigma: float, init_scale: float = 0.0):
        self.state_dim, self.action_dim = int(state_dim), int(action_dim)
        self.obs_dim = self.state_dim
        if not sigma > 0.0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        self.sigma = float(sigma)
        self.init_scale = float(init_scale)
        self.dim = self.state_dim * self.action_dim
        self.action_shape = (self.action_dim,)
        self.noise_shape = (self.action_dim,)

    def unflatten(self, theta: np.ndarray) -> np.ndarray:
        """K = θ viewed as (action_dim, state_dim), row-major (a view, no copy)."""
        return theta.reshape(self.action_dim, self.state_dim)

    def init(self, rng: np.random.Generator) -> np.ndarray:
        """θ_0 = init_scale · N(0, I_d) (drawn even when init_scale = 0, for stream parity)."""
        return self.init_scale * rng.standard_normal(self.dim)

    def mean_action(self, theta: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """K s per row."""
        return rowwise_matmul(np.asarray(obs, dtype=np.float64), self.unflatten(theta).T)

    def sample(self, theta: np.ndarray, obs: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """a = K s + σ ε for caller-supplied ε ~ N(0, I)."""
        return self.mean_action(theta, obs) + self.sigma * noise

    def _residual(self, theta, obs, actions):
        """(a − K s)/σ² and log π per row."""
        diff = np.asarray(actions, dtype=np.float64) - self.mean_action(theta, obs)
        logp = -0.5 * np.sum(diff * diff, axis=-1) / self.sigma**2
        logp -= self.action_dim * (np.log(self.sigma) + _HALF_LOG_2PI)
        return diff / self.sigma**2, logp

    def log_prob(self, theta: np.ndarray, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """log π_K(a | s) per row."""
        return self._residual(theta, obs, actions)[1]

    def log_prob_and_grad(
        self, theta: np.ndarray, obs: np.ndarray, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """log π_K(a_i|s_i) (B,) and scores (a_i − K s_i) s_iᵀ/σ² flattened, (B, d)."""
        obs = np.asarray(obs, dtype=np.float64)
        r, logp = self._residual(theta, obs, actions)
        return logp, row_outer(r, obs).reshape(len(obs), self.dim)

    def weighted_score_sum(
        self, theta: np.ndarray, obs: np.ndarray, actions: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        """Σ_t w_{b,t} (a_{b,t} − K s_{b,t}) s_{b,t}ᵀ/σ² per trajectory b, (B, d), for
        inputs (B, T, ·) and weights (B, T) (padding after the last w ≠ 0 is skipped)."""
        weights = np.asarray(weights, dtype=np.float64)
        active, lengths = active_steps(weights)
        s = np.asarray(obs, dtype=np.float64)[active]
        r, _ = self._residual(theta, s, np.asarray(actions)[active])
        out = segment_outer_sum(r * weights[active][:, None], s, lengths)
        return out.reshape(len(weights), self.dim)

    def env_action(self, actions: np.ndarray) -> np.ndarray:
        """Actions are used as given."""
        return np.asarray(actions, dtype=np.float64)

    def draw_noise(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """ε for n steps, (n, action_dim) standard normals, in one call."""
        return rng.standard_normal((n, self.action_dim))
