r"""Exact finite-horizon objective and policy gradient of a noisy LQR (pure numpy).

Model (shared with :mod:`asyncnigt.problems.lqr`): state s ∈ R^p, action a ∈ R^q,

    s_0 ~ N(0, Σ_0),    a_t = K s_t + σ ε_t,  ε_t ~ N(0, I_q),
    s_{t+1} = A s_t + B a_t + w_t,            w_t ~ N(0, W),
    r_t = −(s_tᵀ Q s_t + a_tᵀ R a_t),         J_H(K) = E[Σ_{t=0}^{H−1} γ^t r_t].

With the closed loop M = A + BK and the per-step cost C = Q + KᵀRK the state stays centred
and its covariance obeys the forward Lyapunov recursion

    Σ_{t+1} = M Σ_t Mᵀ + σ² B Bᵀ + W,
    J_H(K)  = −Σ_{t=0}^{H−1} γ^t [ tr(C Σ_t) + σ² tr(R) ].

Gradient by an adjoint (backward Lyapunov) recursion. Define

    P_H = 0,   P_t = C + γ Mᵀ P_{t+1} M   (t = H−1, …, 0).

Differentiating the forward recursion gives dΣ_0 = 0 and
dΣ_{t+1} = dM Σ_t Mᵀ + M Σ_t dMᵀ + M dΣ_t Mᵀ with dM = B dK. Because
γ^t tr(P_t dΣ_t) = γ^t tr(C dΣ_t) + γ^{t+1} tr(P_{t+1} M dΣ_t Mᵀ), the sum telescopes:

    Σ_t γ^t tr(C dΣ_t) = Σ_t γ^{t+1} tr(P_{t+1} (dM Σ_t Mᵀ + M Σ_t dMᵀ))
                       = Σ_t 2 γ^{t+1} tr(Σ_t Mᵀ P_{t+1} B dK),

and tr(dC Σ_t) = 2 tr(Σ_t Kᵀ R dK). Hence (∇_K f = G for df = tr(Gᵀ dK))

    ∇_K J_H = −2 Σ_{t=0}^{H−1} γ^t (R K + γ Bᵀ P_{t+1} M) Σ_t,

the finite-horizon, discounted, noisy counterpart of the infinite-horizon formula
∇C(K) = 2 E_K Σ_K of Fazel, Ge, Kakade & Mesbahi, "Global Convergence of Policy Gradient
Methods for the Linear Quadratic Regulator", ICML 2018 (their u = −Kx sign aside).

Every function broadcasts over leading axes: matrices may be stacked (one system per
worker) and K may be stacked (one gain per row), following numpy's ``matmul`` rules.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

MATRIX_NAMES = ("A", "B", "Q", "R", "W", "Sigma0")
_SYMMETRIC = ("Q", "R", "W", "Sigma0")


def _t(x: np.ndarray) -> np.ndarray:
    """Transpose of the last two axes (no conjugation: complex-step safe)."""
    return np.swapaxes(x, -1, -2)


def _trace(x: np.ndarray) -> np.ndarray:
    return np.trace(x, axis1=-2, axis2=-1)


@dataclass(frozen=True)
class LQRSystem:
    """The matrices (A, B, Q, R, W, Σ_0) of one LQR system, or a stack of them.

    Shapes (leading axes optional): A (p, p), B (p, q), Q (p, p), R (q, q), W (p, p),
    Sigma0 (p, p). Use :meth:`validated` to build one from user input.
    """

    A: np.ndarray
    B: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    W: np.ndarray
    Sigma0: np.ndarray

    @property
    def state_dim(self) -> int:
        return self.A.shape[-1]

    @property
    def action_dim(self) -> int:
        return self.B.shape[-1]

    @classmethod
    def validated(cls, state_dim: int, action_dim: int, where: str = "", **mats) -> LQRSystem:
        """Check shapes, finiteness, symmetry and positive semi-definiteness.

        Raises ``ValueError`` naming the offending parameter (prefixed by ``where``).
        """
        p, q = state_dim, action_dim
        shapes = {"A": (p, p), "B": (p, q), "Q": (p, p), "R": (q, q), "W": (p, p),
                  "Sigma0": (p, p)}
        out = {}
        for name in MATRIX_NAMES:
            label = f"{where}{name}"
            try:
                m = np.array(mats[name], dtype=float)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{label} must be a numeric matrix: {exc}") from None
            if m.shape != shapes[name]:
                raise ValueError(f"{label} must have shape {shapes[name]}, got {m.shape}")
            if not np.all(np.isfinite(m)):
                raise ValueError(f"{label} must be finite")
            if name in _SYMMETRIC:
                if not np.allclose(m, m.T, rtol=1e-10, atol=1e-12):
                    raise ValueError(f"{label} must be symmetric")
                m = 0.5 * (m + m.T)
                if np.linalg.eigvalsh(m).min() < -1e-10 * max(1.0, np.abs(m).max()):
                    raise ValueError(f"{label} must be positive semi-definite")
            m.setflags(write=False)
            out[name] = m
        return cls(**out)

    @classmethod
    def stack(cls, systems: list[LQRSystem]) -> LQRSystem:
        """One system whose matrices carry a leading axis, one entry per given system."""
        return cls(**{f.name: np.stack([getattr(s, f.name) for s in systems])
                      for f in fields(cls)})

    def take(self, index) -> LQRSystem:
        """The sub-stack ``index`` (an int or an integer array) of a stacked system."""
        return LQRSystem(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


def psd_sqrt(m: np.ndarray) -> np.ndarray:
    """A factor L with L Lᵀ = m for symmetric PSD m (stackable; singular m allowed)."""
    lam, v = np.linalg.eigh(m)
    return v * np.sqrt(np.clip(lam, 0.0, None))[..., None, :]


def closed_loop_radius(system: LQRSystem, K: np.ndarray) -> np.ndarray:
    """Spectral radius ρ(A + BK) (stackable)."""
    return np.abs(np.linalg.eigvals(system.A + system.B @ K)).max(axis=-1)


def state_covariances(system: LQRSystem, K: np.ndarray, sigma: float, horizon: int
                      ) -> np.ndarray:
    """Σ_0, …, Σ_{H−1} stacked on a new leading axis: shape (H, …, p, p)."""
    M = system.A + system.B @ K
    drive = sigma**2 * system.B @ _t(system.B) + system.W
    shape = np.broadcast_shapes(M.shape, drive.shape, system.Sigma0.shape)
    cov = np.broadcast_to(system.Sigma0, shape)
    covs = [cov]
    for _ in range(horizon - 1):
        cov = M @ cov @ _t(M) + drive
        covs.append(cov)
    return np.stack(covs)


def exact_objective(system: LQRSystem, K: np.ndarray, sigma: float, gamma: float,
                    horizon: int) -> np.ndarray:
    """J_H(K) = −Σ_t γ^t [tr((Q + KᵀRK) Σ_t) + σ² tr R] (shape: the broadcast batch)."""
    return exact_objective_and_gradient(system, K, sigma, gamma, horizon, grad=False)[0]


def exact_objective_and_gradient(system: LQRSystem, K: np.ndarray, sigma: float,
                                 gamma: float, horizon: int, grad: bool = True):
    """(J_H(K), ∇_K J_H(K)); the gradient has K's (broadcast) shape (…, q, p).

    ∇_K J_H = −2 Σ_t γ^t (R K + γ Bᵀ P_{t+1} (A + BK)) Σ_t with the adjoint
    P_H = 0, P_t = Q + KᵀRK + γ (A+BK)ᵀ P_{t+1} (A+BK). ``grad=False`` skips it (None).
    """
    covs = state_covariances(system, K, sigma, horizon)
    C = system.Q + _t(K) @ system.R @ K
    disc = gamma ** np.arange(horizon, dtype=float)
    per_step = _trace(C @ covs) + sigma**2 * _trace(system.R)
    J = -np.tensordot(disc, per_step, axes=(0, 0))
    if not grad:
        return J, None
    M = system.A + system.B @ K
    RK = system.R @ K
    P = np.zeros_like(C)  # P_{t+1}, starting from P_H = 0
    g = 0.0
    for t in range(horizon - 1, -1, -1):
        g = g + disc[t] * (RK + gamma * _t(system.B) @ P @ M) @ covs[t]
        P = C + gamma * _t(M) @ P @ M
    return J, -2.0 * g
