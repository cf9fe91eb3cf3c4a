"""The GPOMDP policy-gradient estimator, vectorized over trajectories.

For a trajectory τ = (s_0, a_0, r_0, …) truncated at horizon H (Baxter & Bartlett, JAIR
2001; REINFORCE with reward-to-go; ``reference/methods.md`` §1)::

    g_H(τ, θ) = Σ_{t=0}^{H-1} ( Σ_{h=t}^{H-1} γ^h r_h ) ∇_θ log π_θ(a_t | s_t),

an unbiased estimate of ∇J_H(θ). Note the discount γ^h counts from the start of the
trajectory, not from t. Trajectories that terminate after T_b < H steps carry a mask
m_{b,t} = 1[t < T_b]; masked steps contribute nothing.

Computation: the weights w_{b,t} = m_{b,t} Σ_{h≥t} γ^h m_{b,h} r_{b,h} come from one
reversed cumulative sum along t (:func:`reward_to_go_weights`); then
g_b = Σ_t w_{b,t} ∇log π_{b,t} is either

* a contraction of given per-step scores (:func:`gpomdp`, scores (B, H, d) or the
  (B·H, d) output of one batched ``log_prob_and_grad``), or
* preferably, one weighted backward pass of the policy (:func:`gpomdp_policy`), since
  Σ_t w_t ∇log π_t = ∇_θ Σ_t w_t log π_t: the policy's ``weighted_score_sum`` scales each
  row's output gradient by w and sums weight-matrix gradients over t per trajectory, so
  (B, H, d) is never formed (memory O(B·H·width + B·d)).
"""

from __future__ import annotations

import numpy as np


def reward_to_go_weights(rewards: np.ndarray, mask: np.ndarray, gamma: float) -> np.ndarray:
    """w_{b,t} = m_{b,t} Σ_{h=t}^{H-1} γ^h m_{b,h} r_{b,h} for rewards and mask (B, H)."""
    rewards = np.asarray(rewards, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    discounted = np.where(mask, rewards, 0.0) * float(gamma) ** np.arange(rewards.shape[-1])
    to_go = np.cumsum(discounted[..., ::-1], axis=-1)[..., ::-1]
    return np.where(mask, to_go, 0.0)


def gpomdp(rewards: np.ndarray, mask: np.ndarray, scores: np.ndarray, gamma: float) -> np.ndarray:
    """g_H per trajectory (B, d) from rewards, mask (B, H) and scores ∇log π_θ(a_t|s_t)
    given as (B, H, d) or flattened row-major as (B·H, d)."""
    w = reward_to_go_weights(rewards, mask, gamma)
    n_b, n_h = w.shape
    scores = np.asarray(scores, dtype=np.float64).reshape(n_b, n_h, -1)
    return np.einsum("bt,btd->bd", w, np.where(mask[..., None], scores, 0.0))


def gpomdp_policy(
    policy,
    theta: np.ndarray,
    obs: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    mask: np.ndarray,
    gamma: float,
    **backward,
) -> np.ndarray:
    """g_H per trajectory (B, d) for trajectories (obs (B, H, o), actions (B, H, …)) all
    sampled at one θ, via one weighted backward pass (``policy.weighted_score_sum``);
    ``backward``: options of that pass, passed through (MLP policies: ``record``, the
    rollout's network values, which spares the forward pass with the same result bit for
    bit; ``parts`` and ``run``, how it is split: ``MLPPolicy.weighted_score_sum``).

    Masked steps must hold finite observations and actions (e.g. zeros)."""
    w = reward_to_go_weights(rewards, mask, gamma)
    return policy.weighted_score_sum(theta, obs, actions, w, **backward)
