r"""Noisy linear-quadratic regulator with a linear-Gaussian policy: exact J and ∇J,
GPOMDP stochastic gradients for the workers.

Model. State s ∈ R^p, action a ∈ R^q, finite horizon H, discount γ ∈ (0, 1]:

    s_0 ~ N(0, Σ_0),   s_{t+1} = A s_t + B a_t + w_t,   w_t ~ N(0, W),
    a_t = K s_t + σ ε_t,   ε_t ~ N(0, I_q),   θ = K.ravel()   (K is (q, p), row-major),
    r_t = −(s_tᵀ Q s_t + a_tᵀ R a_t),   J_H(K) = E[Σ_{t=0}^{H−1} γ^t r_t]   (maximised).

The θ ↔ K convention is the one of ``asyncnigt.problems.policies.linear``; the sampler here
is self-contained. Exact values (see :mod:`asyncnigt.problems.lqr_exact` for the
derivation): with M = A + BK and the covariance recursion Σ_{t+1} = M Σ_t Mᵀ + σ²BBᵀ + W,

    J_H(K)   = −Σ_t γ^t [tr((Q + KᵀRK) Σ_t) + σ² tr R],
    ∇_K J_H  = −2 Σ_t γ^t (R K + γ Bᵀ P_{t+1} M) Σ_t,   P_H = 0,
    P_t      = Q + KᵀRK + γ Mᵀ P_{t+1} M            (Fazel et al., ICML 2018).

Stochastic gradient of one trajectory (GPOMDP, Baxter & Bartlett, JAIR 2001, with
reward-to-go), unbiased for ∇J_H:

    g = Σ_t G_t ∇_K log π(a_t | s_t),   G_t = Σ_{h=t}^{H−1} γ^h r_h,
    ∇_K log π(a | s) = (a − K s) sᵀ / σ² = ε sᵀ / σ.

Randomness. Worker i draws from ``streams.generator("oracle", i)``. Each trajectory takes
exactly ONE call ``standard_normal(p + H (p + q))``, laid out as [z_0 (p) | H blocks of
(z_w (p), ε (q))], with s_0 = Σ_0^{1/2} z_0 and w_t = W^{1/2} z_w. Rows are served in the
order they appear, so grouping requests into batches never changes the draws. Rollouts
are vectorized over trajectories (one Python loop over t only); evaluation is exact and
consumes no randomness.

Heterogeneous variant: ``worker_matrices[i]`` overrides some of (A, B, Q, R, W, Sigma0)
for worker i. Then J = (1/n) Σ_i J_i, :meth:`LQRProblem.evaluate` reports this average
and the exact ‖∇J‖, and worker i's stochastic gradients estimate ∇J_i.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from asyncnigt.problems.base import Evaluation, GradientBatch, Oracle, Problem
from asyncnigt.problems.lqr_exact import (
    MATRIX_NAMES,
    LQRSystem,
    closed_loop_radius,
    exact_objective_and_gradient,
    psd_sqrt,
)

__all__ = ["LQRProblem", "LQROracle", "gpomdp_rollouts"]


def gpomdp_rollouts(system: LQRSystem, K: np.ndarray, s0: np.ndarray, w: np.ndarray,
                    eps: np.ndarray, sigma: float, gamma: float):
    """Roll out k trajectories and return (discounted returns (k,), GPOMDP grads (k, q, p)).

    ``K`` is (k, q, p) (one gain per row); ``s0`` (k, p); ``w`` (k, H, p) process noise
    (already scaled by W^{1/2}); ``eps`` (k, H, q) standard normal action noise. The
    matrices of ``system`` are either unbatched or carry a leading axis of length k.
    """
    k, horizon, _ = eps.shape
    states = np.empty(w.shape)
    disc_rewards = np.empty((k, horizon))
    s = s0
    for t in range(horizon):
        a = (K @ s[:, :, None])[:, :, 0] + sigma * eps[:, t]
        states[:, t] = s
        cost = (s[:, None, :] @ system.Q @ s[:, :, None] + a[:, None, :] @ system.R @ a[:, :, None])
        disc_rewards[:, t] = -(gamma**t) * cost[:, 0, 0]
        s = (system.A @ s[:, :, None] + system.B @ a[:, :, None])[:, :, 0] + w[:, t]
    to_go = np.cumsum(disc_rewards[:, ::-1], axis=1)[:, ::-1]  # G_t = Σ_{h≥t} γ^h r_h
    # Σ_t G_t ε_t s_tᵀ / σ  as a (q, H) @ (H, p) product per row
    grads = np.swapaxes(to_go[:, :, None] * eps, 1, 2) @ states / sigma
    return to_go[:, 0], grads


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _real(name: str, value, low: float, low_open: bool, high: float = math.inf) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(x) or x < low or (low_open and x == low) or x > high:
        bound = f"{'(' if low_open else '['}{low}, {high}{']' if high < math.inf else ')'}"
        raise ValueError(f"{name} must lie in {bound}, got {value!r}")
    return x


def _first_dim(name: str, given: int | None, default: int,
               candidates: Sequence[tuple[str, object, int]]) -> int:
    """``given`` if set, else the size of the first explicit matrix that fixes it."""
    if given is not None:
        return _positive_int(name, given)
    for mat_name, mat, axis in candidates:
        if mat is not None:
            shape = np.shape(mat)
            if len(shape) != 2:
                raise ValueError(f"{mat_name} must be a 2-D matrix, got shape {shape}")
            return _positive_int(name, shape[axis])
    return default


class LQRProblem(Problem):
    """Finite-horizon noisy LQR with a linear-Gaussian policy (see module docstring).

    Parameters: ``state_dim`` p and ``action_dim`` q (inferred from A / B when omitted,
    else 4 and 2); ``horizon`` H; ``gamma`` γ ∈ (0, 1]; ``policy_std`` σ > 0;
    explicit matrices ``A, B, Q, R, W, Sigma0`` (nested lists or arrays), each optional.
    Missing ones default to: A = G ρ/ρ(G) with G standard normal (``spectral_radius`` ρ),
    B standard normal, Q = I, R = ``action_cost``·I, W = ``process_noise``·I, Σ_0 = I;
    random ones come from ``rng`` (the caller passes ``streams.generator("problem")``),
    drawn A first, then B. ``worker_matrices``: optional list (one entry per worker) of
    mappings overriding some of these matrices for that worker (heterogeneous problem).
    ``init_scale``: θ_0 = init_scale · N(0, I_d) from the ``init`` stream.
    """

    sense = "max"

    def __init__(self, state_dim: int | None = None, action_dim: int | None = None,
                 horizon: int = 20, gamma: float = 0.95, policy_std: float = 0.5, *,
                 A=None, B=None, Q=None, R=None, W=None, Sigma0=None,
                 worker_matrices: Sequence[Mapping] | None = None,
                 rng: np.random.Generator | None = None, spectral_radius: float = 0.9,
                 action_cost: float = 1.0, process_noise: float = 0.1,
                 init_scale: float = 1e-3):
        self.horizon = _positive_int("horizon", horizon)
        self.gamma = _real("gamma", gamma, 0.0, True, 1.0)
        self.policy_std = _real("policy_std", policy_std, 0.0, True)
        self.init_scale = _real("init_scale", init_scale, 0.0, False)
        spectral_radius = _real("spectral_radius", spectral_radius, 0.0, True)
        action_cost = _real("action_cost", action_cost, 0.0, False)
        process_noise = _real("process_noise", process_noise, 0.0, False)
        p = self.state_dim = _first_dim("state_dim", state_dim, 4, [("A", A, 0), ("B", B, 0)])
        q = self.action_dim = _first_dim("action_dim", action_dim, 2, [("B", B, 1), ("R", R, 0)])
        self.dim = p * q
        self.steps_per_gradient = self.horizon

        if (A is None or B is None) and rng is None:
            raise ValueError("rng is required when A or B is not given (pass "
                             "streams.generator('problem'))")
        if A is None:
            G = rng.standard_normal((p, p))
            A = G * (spectral_radius / max(np.abs(np.linalg.eigvals(G)).max(), 1e-12))
        if B is None:
            B = rng.standard_normal((p, q))
        base = {"A": A, "B": B,
                "Q": np.eye(p) if Q is None else Q,
                "R": action_cost * np.eye(q) if R is None else R,
                "W": process_noise * np.eye(p) if W is None else W,
                "Sigma0": np.eye(p) if Sigma0 is None else Sigma0}
        self.system = LQRSystem.validated(p, q, **base)

        self.heterogeneous = worker_matrices is not None
        if self.heterogeneous:
            if isinstance(worker_matrices, Mapping) or len(worker_matrices) == 0:
                raise ValueError("worker_matrices must be a non-empty list of mappings")
            systems = []
            for i, over in enumerate(worker_matrices):
                over = {} if over is None else over
                if not isinstance(over, Mapping):
                    raise ValueError(f"worker_matrices[{i}] must be a mapping, got {over!r}")
                unknown = set(over) - set(MATRIX_NAMES)
                if unknown:
                    raise ValueError(f"worker_matrices[{i}] has unknown keys {sorted(unknown)};"
                                     f" allowed: {list(MATRIX_NAMES)}")
                systems.append(LQRSystem.validated(p, q, where=f"worker_matrices[{i}].",
                                                   **{**base, **over}))
            self.worker_systems: tuple[LQRSystem, ...] = tuple(systems)
        else:
            self.worker_systems = (self.system,)
        self._stacked = LQRSystem.stack(list(self.worker_systems))

    # ------------------------------------------------------------------ exact maths
    def gain(self, theta) -> np.ndarray:
        """K (q, p) of θ (row-major), after checking θ's shape."""
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (self.dim,):
            raise ValueError(f"theta must have shape ({self.dim},), got {theta.shape}")
        return theta.reshape(self.action_dim, self.state_dim)

    def _exact(self, theta, grad: bool = True):
        """(J_i (n_sys,), ∇J_i (n_sys, d) or None) for every worker system."""
        J, g = exact_objective_and_gradient(self._stacked, self.gain(theta), self.policy_std,
                                            self.gamma, self.horizon, grad=grad)
        return J, None if g is None else g.reshape(len(self.worker_systems), self.dim)

    def exact_objective(self, theta) -> float:
        """J(θ) = (1/n) Σ_i J_i(θ) (J_H(θ) when homogeneous)."""
        return float(self._exact(theta, grad=False)[0].mean())

    def exact_gradient(self, theta) -> np.ndarray:
        """∇J(θ) = (1/n) Σ_i ∇J_i(θ), shape (d,)."""
        return self._exact(theta)[1].mean(axis=0)

    def exact_worker_gradients(self, theta) -> np.ndarray:
        """∇J_i(θ) for each worker system: (n, d) (one row when homogeneous)."""
        return self._exact(theta)[1]

    def evaluate(self, theta) -> Evaluation:
        """Exact J(θ) and ‖∇J(θ)‖ (no randomness); extra: max_i ρ(A_i + B_i K)."""
        J, g = self._exact(theta)
        radius = closed_loop_radius(self._stacked, self.gain(theta)).max()
        return Evaluation(objective=float(J.mean()),
                          grad_norm=float(np.linalg.norm(g.mean(axis=0))),
                          extra=(("closed_loop_radius", float(radius)),))

    # ------------------------------------------------------------------ interface
    def initial_point(self, rng: np.random.Generator) -> np.ndarray:
        return self.init_scale * rng.standard_normal(self.dim)

    def oracle(self, streams, n_workers: int) -> LQROracle:
        return LQROracle(self, streams, n_workers)


class LQROracle(Oracle):
    """GPOMDP oracle of an :class:`LQRProblem`; worker i uses stream ("oracle", i)."""

    def __init__(self, problem: LQRProblem, streams, n_workers: int):
        n_workers = _positive_int("n_workers", n_workers)
        if problem.heterogeneous and n_workers != len(problem.worker_systems):
            raise ValueError(f"n_workers must equal len(worker_matrices) = "
                             f"{len(problem.worker_systems)}, got {n_workers}")
        self.problem = problem
        self.n_workers = n_workers
        self.dim = problem.dim
        self._rngs = streams.per_worker("oracle", n_workers)
        self._w_half = psd_sqrt(problem._stacked.W)
        self._s0_half = psd_sqrt(problem._stacked.Sigma0)

    def _draws_per_trajectory(self) -> int:
        pb = self.problem
        return pb.state_dim + pb.horizon * (pb.state_dim + pb.action_dim)

    def rollouts(self, points: np.ndarray, workers: np.ndarray):
        """(discounted returns (k,), GPOMDP gradients (k, d)) of one trajectory per row.

        Row j is sampled at ``points[j]`` from worker ``workers[j]``'s stream.
        """
        pb = self.problem
        p, q, H = pb.state_dim, pb.action_dim, pb.horizon
        points = np.asarray(points, dtype=float)
        workers = np.asarray(workers)
        k = workers.shape[0] if workers.ndim == 1 else -1
        if points.shape != (k, self.dim):
            raise ValueError(f"points must have shape (len(workers), {self.dim}), "
                             f"got {points.shape} for workers of shape {workers.shape}")
        if not np.issubdtype(workers.dtype, np.integer) or np.any(workers < 0) or np.any(
                workers >= self.n_workers):
            raise ValueError(f"workers must be integers in [0, {self.n_workers})")
        size = self._draws_per_trajectory()
        z = np.empty((k, size))
        for j, i in enumerate(workers):
            z[j] = self._rngs[i].standard_normal(size)
        blocks = z[:, p:].reshape(k, H, p + q)
        rows = workers if pb.heterogeneous else 0  # homogeneous: unbatched, broadcast
        s0 = (self._s0_half[rows] @ z[:, :p, None])[:, :, 0]
        w = (self._w_half[rows][..., None, :, :] @ blocks[:, :, :p, None])[..., 0]
        system = pb._stacked.take(rows)
        returns, grads = gpomdp_rollouts(system, points.reshape(k, q, p), s0, w,
                                         blocks[:, :, p:], pb.policy_std, pb.gamma)
        return returns, grads.reshape(k, self.dim)

    def gradients(self, points: np.ndarray, workers: np.ndarray) -> GradientBatch:
        _, grads = self.rollouts(points, workers)
        return GradientBatch(grads=grads, steps=np.full(len(grads), self.problem.horizon))

    def evaluate(self, theta: np.ndarray) -> Evaluation:
        return self.problem.evaluate(theta)
