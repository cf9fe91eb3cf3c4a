"""Synthetic problems with exact objective and gradient, evaluated in batches.

Both are *minimisation* problems (``sense = "min"``): the oracle returns the ascent
direction −(∇f_i(x) + σ ξ), ξ ~ N(0, I_d), while evaluation reports f(x) and ‖∇f(x)‖.

* :class:`Quadratic`: f(x) = ½ (x − x*)ᵀ diag(λ) (x − x*), λ log-spaced from
  L/condition to L.
* :class:`Chain`: the smooth nonconvex "zero-chain" of Carmon, Duchi, Hinder & Sidford
  (Lower bounds for finding stationary points I, 2020), used in the lower bounds of the
  asynchronous-SGD papers:
  f(x) = −Ψ(1)Φ(x_1) + Σ_{j=2}^{d} [Ψ(−x_{j−1})Φ(−x_j) − Ψ(x_{j−1})Φ(x_j)],
  Ψ(t) = exp(1 − 1/(2t−1)²) for t > ½ (else 0), Φ(t) = √e ∫_{−∞}^t e^{−u²/2} du,
  scaled by ``scale``.

Heterogeneous variant (``heterogeneity`` h > 0): worker i minimises f_i(x) = f(x − s_i)
with shifts s_i = h·z_i, z_i ~ N(0, I) centred so that Σ s_i = 0; the goal is
f̄ = (1/n) Σ_i f_i. For the quadratic f̄ has the same minimiser as f; a count-weighted
(Rennala) average is biased toward fast workers' shifts, Malenia's is not.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Evaluation, GradientBatch, Oracle, Problem

_erf = np.frompyfunc(math.erf, 1, 1)


def chain_value(x: np.ndarray) -> np.ndarray:
    """f(x) of the zero-chain, rows of x (k, d) -> (k,)."""
    psi, phi = _psi(x), _phi(x)
    psi_neg, phi_neg = _psi(-x), _phi(-x)
    first = -phi[:, 0]  # Ψ(1) = 1
    rest = psi_neg[:, :-1] * phi_neg[:, 1:] - psi[:, :-1] * phi[:, 1:]
    return first + rest.sum(axis=1)


def chain_gradient(x: np.ndarray) -> np.ndarray:
    """∇f(x) of the zero-chain, rows of x (k, d) -> (k, d)."""
    psi, dpsi, dphi = _psi(x), _dpsi(x), _dphi(x)
    psi_neg, dpsi_neg, phi, phi_neg = _psi(-x), _dpsi(-x), _phi(x), _phi(-x)
    g = np.zeros_like(x)
    g[:, 0] = -dphi[:, 0]
    # ∂/∂x_j of the j-th term, j >= 2
    g[:, 1:] += -psi_neg[:, :-1] * dphi[:, 1:] * 1.0 - psi[:, :-1] * dphi[:, 1:]
    # ∂/∂x_{j-1} of the j-th term (Φ'(-x) = Φ'(x) and d/dx Ψ(-x) = -Ψ'(-x))
    g[:, :-1] += -dpsi_neg[:, :-1] * phi_neg[:, 1:] - dpsi[:, :-1] * phi[:, 1:]
    return g


def _psi(t):
    out = np.zeros_like(t)
    m = t > 0.5
    out[m] = np.exp(1.0 - 1.0 / (2.0 * t[m] - 1.0) ** 2)
    return out


def _dpsi(t):
    out = np.zeros_like(t)
    m = t > 0.5
    u = 2.0 * t[m] - 1.0
    out[m] = np.exp(1.0 - 1.0 / u**2) * 4.0 / u**3
    return out


def _phi(t):
    return math.sqrt(math.e * math.pi / 2) * (1.0 + _erf(t / math.sqrt(2)).astype(float))


def _dphi(t):
    return math.sqrt(math.e) * np.exp(-0.5 * t**2)


class SyntheticOracle(Oracle):
    """Gradient noise of worker i comes from its own stream, row by row."""

    def __init__(self, problem: SyntheticProblem, streams, n_workers: int):
        self.problem, self.n_workers, self.dim = problem, n_workers, problem.dim
        self.shifts = problem.shifts(streams, n_workers)
        self.rngs = streams.per_worker("oracle", n_workers) if problem.noise > 0 else None

    def gradients(self, points, workers) -> GradientBatch:
        p = self.problem
        workers = np.asarray(workers)
        if self.shifts is None and points.ndim == 2 and points.strides[0] == 0 and len(points) > 1:
            # every row is the same point (a round's query, broadcast): the gradient is
            # row-wise, so it is computed once and repeated (the same values)
            g = np.repeat(p.gradient(points[:1]), len(points), axis=0)
        else:
            x = points - self.shifts[workers] if self.shifts is not None else points
            g = p.gradient(x)
        if self.rngs is not None:
            order = np.argsort(workers, kind="stable")
            sorted_w = workers[order]
            bounds = np.flatnonzero(np.diff(sorted_w)) + 1
            noise = np.concatenate([
                self.rngs[int(sorted_w[a])].standard_normal((b - a, self.dim))
                for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(workers)], strict=True)
            ]) if len(workers) else np.zeros((0, self.dim))
            g[order] += p.noise * noise
        return GradientBatch(-g, np.ones(len(workers), dtype=int))

    def evaluate(self, theta) -> Evaluation:
        p = self.problem
        x = theta[None, :]
        if self.shifts is not None:
            x = theta[None, :] - self.shifts
        value = float(np.mean(p.value(x)))
        grad = np.mean(p.gradient(x), axis=0)
        return Evaluation(value, float(np.linalg.norm(grad)))


class SyntheticProblem(Problem):
    sense = "min"

    def __init__(self, dim: int, noise: float = 0.0, heterogeneity: float = 0.0,
                 init_scale: float = 1.0):
        if dim < 1:
            raise ValueError(f"dim: must be >= 1, got {dim}")
        if not noise >= 0:
            raise ValueError(f"noise: must be >= 0, got {noise}")
        if not heterogeneity >= 0:
            raise ValueError(f"heterogeneity: must be >= 0, got {heterogeneity}")
        self.dim, self.noise, self.heterogeneity = int(dim), float(noise), float(heterogeneity)
        self.heterogeneous = heterogeneity > 0
        self.init_scale = float(init_scale)

    def shifts(self, streams, n: int) -> np.ndarray | None:
        if not self.heterogeneous:
            return None
        z = streams.generator("problem", 1).standard_normal((n, self.dim))
        return self.heterogeneity * (z - z.mean(axis=0))

    def initial_point(self, rng) -> np.ndarray:
        return self.init_scale * rng.standard_normal(self.dim)

    def oracle(self, streams, n_workers: int) -> Oracle:
        return SyntheticOracle(self, streams, n_workers)


class Quadratic(SyntheticProblem):
    """f(x) = ½ Σ_j λ_j x_j², λ = geomspace(L/condition, L, d)."""

    def __init__(self, dim: int, noise: float = 0.0, condition: float = 10.0,
                 smoothness: float = 1.0, heterogeneity: float = 0.0, init_scale: float = 1.0):
        super().__init__(dim, noise, heterogeneity, init_scale)
        if not condition >= 1:
            raise ValueError(f"condition: must be >= 1, got {condition}")
        if not smoothness > 0:
            raise ValueError(f"smoothness: must be > 0, got {smoothness}")
        self.eigenvalues = np.geomspace(smoothness / condition, smoothness, self.dim)

    def value(self, x):
        return 0.5 * (x**2 * self.eigenvalues).sum(axis=1)

    def gradient(self, x):
        return x * self.eigenvalues


class Chain(SyntheticProblem):
    """The zero-chain nonconvex function, scaled: f = scale · chain(x)."""

    def __init__(self, dim: int, noise: float = 0.0, scale: float = 1.0,
                 heterogeneity: float = 0.0, init_scale: float = 0.0):
        super().__init__(dim, noise, heterogeneity, init_scale)
        if not scale > 0:
            raise ValueError(f"scale: must be > 0, got {scale}")
        self.scale = float(scale)

    def value(self, x):
        return self.scale * chain_value(x)

    def gradient(self, x):
        return self.scale * chain_gradient(x)
