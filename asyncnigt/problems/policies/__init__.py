"""numpy policies on flat float64 parameter vectors, with hand-written backprop.

Every policy has ``dim``, ``init(rng) -> θ_0``, ``log_prob_and_grad(θ, obs, actions)``
(per-row log π and scores ∇_θ log π, (B,) and (B, d)), ``weighted_score_sum(θ, obs,
actions, w)`` (Σ_t w_t ∇_θ log π per trajectory, the GPOMDP contraction), ``sample(θ,
obs, noise)`` with caller-supplied noise drawn by ``draw_noise(rng, n)``,
``mean_action(θ, obs)`` and ``env_action(actions)`` (what the environment receives).
Row results never depend on the rest of the batch (``kernels.py``).
"""

from .categorical import CategoricalMLPPolicy
from .gaussian import GaussianMLPPolicy
from .linear import LinearGaussianPolicy
from .mlp import TanhMLP

__all__ = ["CategoricalMLPPolicy", "GaussianMLPPolicy", "LinearGaussianPolicy", "TanhMLP"]
