"""Time complexities of the methods (``reference/methods.md`` §6, "MT"), in pure numpy.

The time each method needs to reach an ε-stationary point under the fixed computation
model: worker i needs τ_i (SGD family) or ḣ_i (policy gradient: per trajectory) seconds,
and κ is the communication time of one round. Constants are suppressed as in the tables
unless a function says otherwise; every function is vectorized over ``eps`` and cites its
table row or theorem. The closed forms of rounds and arrivals are in
:mod:`asyncnigt.timing.theory`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from . import arguments

__all__ = [
    "MinOverM",
    "complexity_minibatch_sgd",
    "complexity_async_sgd",
    "complexity_rennala_sgd",
    "complexity_malenia_sgd",
    "complexity_sync_pg",
    "complexity_rennala_pg",
    "complexity_sync_nigt",
    "complexity_rennala_nigt",
    "complexity_malenia_nigt",
    "complexity_afedpg",
]


class MinOverM(NamedTuple):
    """A predicted time minimized over the number m of fastest workers, and the minimizer."""

    time: np.ndarray | float
    m: np.ndarray | int


def _hm_prefix(h: np.ndarray) -> np.ndarray:
    """((1/m) Σ_{i≤m} 1/h_(i))^{-1} for m = 1..n over sorted h."""
    m = np.arange(1, h.size + 1)
    return m / np.cumsum(1.0 / np.sort(h))


def _min_over_m(h: np.ndarray, eps: np.ndarray,
                factor: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> MinOverM:
    """min_m [ ((1/m) Σ_{i≤m} 1/h_(i))^{-1} · factor(m, ε) ], vectorized over ε."""
    m = np.arange(1, h.size + 1)
    values = _hm_prefix(h) * factor(m, eps[..., None])
    k = np.argmin(values, axis=-1)
    best = np.take_along_axis(values, k[..., None], axis=-1)[..., 0]
    if best.ndim == 0:
        return MinOverM(float(best), int(k) + 1)
    return MinOverM(best, k + 1)


def _constants(L, Delta, sigma) -> tuple[float, float, float]:
    """The smoothness L, initial gap Δ and noise σ, checked (finite, ≥ 0)."""
    return arguments.const(L, "L"), arguments.const(Delta, "Delta"), arguments.const(sigma, "sigma")


def _out(x: np.ndarray):
    return float(x) if np.ndim(x) == 0 else x


def complexity_minibatch_sgd(tau, eps, *, L=1.0, Delta=1.0, sigma=1.0):
    """MT SGD family, "Minibatch SGD: max_i τ_i · (LΔ/ε + σ²LΔ/(nε²))" (E‖∇f‖² ≤ ε)."""
    tau, e = arguments.times(tau), arguments.eps(eps)
    L, Delta, sigma = _constants(L, Delta, sigma)
    n = tau.size
    return _out(np.max(tau) * (L * Delta / e + sigma**2 * L * Delta / (n * e**2)))


def complexity_async_sgd(tau, eps, *, L=1.0, Delta=1.0, sigma=1.0):
    """MT SGD family, "Asynchronous SGD: ((1/n) Σ_i 1/τ_i)^{-1} (LΔ/ε + σ²LΔ/(nε²))"."""
    tau, e = arguments.times(tau), arguments.eps(eps)
    L, Delta, sigma = _constants(L, Delta, sigma)
    n = tau.size
    return _out(_hm_prefix(tau)[-1] * (L * Delta / e + sigma**2 * L * Delta / (n * e**2)))


def complexity_rennala_sgd(tau, eps, *, L=1.0, Delta=1.0, sigma=1.0) -> MinOverM:
    """MT SGD family, "Rennala SGD (optimal, homogeneous):
    min_m [ ((1/m) Σ_{i≤m} 1/τ_i)^{-1} (LΔ/ε + σ²LΔ/(mε²)) ]". Returns (time, m*)."""
    tau, e = arguments.times(tau), arguments.eps(eps)
    L, Delta, sigma = _constants(L, Delta, sigma)
    return _min_over_m(tau, e, lambda m, x: L * Delta / x + sigma**2 * L * Delta / (m * x**2))


def complexity_malenia_sgd(tau, eps, *, L=1.0, Delta=1.0, sigma=1.0):
    """MT SGD family, "Malenia SGD (optimal, heterogeneous):
    τ_n LΔ/ε + ((1/n) Σ_i τ_i) σ²LΔ/(nε²)"."""
    tau, e = arguments.times(tau), arguments.eps(eps)
    L, Delta, sigma = _constants(L, Delta, sigma)
    n = tau.size
    return _out(np.max(tau) * L * Delta / e + np.mean(tau) * sigma**2 * L * Delta / (n * e**2))


def complexity_sync_pg(hdot, eps, *, kappa=0.0):
    """MT Table 1, "sync PG | max_i ḣ_i (ε^-2 + 1/(n ε^4)) | κ (ε^-2 + 1/(n ε^4)) | yes".

    Computation + communication; constants suppressed as in the table (ε: E‖∇J‖ ≤ ε).
    """
    h, e = arguments.times(hdot, "hdot"), arguments.eps(eps)
    kappa = arguments.const(kappa, "kappa")
    n = h.size
    return _out((np.max(h) + kappa) * (e**-2 + 1.0 / (n * e**4)))


def complexity_rennala_pg(hdot, eps, *, kappa=0.0) -> MinOverM:
    """MT Table 1, "Rennala PG | min_m [ ((1/m) Σ_{i≤m} 1/ḣ_i)^{-1} (ε^-2 + 1/(m ε^4)) ] |
    κ ε^-2 | yes". Computation + communication; returns (time, m*)."""
    h, e = arguments.times(hdot, "hdot"), arguments.eps(eps)
    kappa = arguments.const(kappa, "kappa")
    comp = _min_over_m(h, e, lambda m, x: x**-2 + 1.0 / (m * x**4))
    return MinOverM(_out(comp.time + kappa * e**-2), comp.m)


def complexity_sync_nigt(hdot, eps, *, kappa=0.0):
    """MT Table 1, "sync NIGT | Ω(max_i ḣ_i / (n ε^{7/2})) | κ ε^{-7/2} | yes".

    A lower bound (Ω): max_i ḣ_i / (n ε^{7/2}) + κ ε^{-7/2}; constants suppressed.
    """
    h, e = arguments.times(hdot, "hdot"), arguments.eps(eps)
    kappa = arguments.const(kappa, "kappa")
    return _out((np.max(h) / h.size + kappa) * e**-3.5)


def complexity_afedpg(hdot, eps, *, kappa=0.0):
    """MT Table 1, "AFedPG | ((1/n) Σ_i 1/ḣ_i)^{-1} (n^{4/3} ε^{-7/3} + 1/(n ε^{7/2})) |
    ≥ κ ε^-3 | no". Computation + the communication lower bound; constants suppressed."""
    h, e = arguments.times(hdot, "hdot"), arguments.eps(eps)
    kappa = arguments.const(kappa, "kappa")
    n = h.size
    comp = _hm_prefix(h)[-1] * (n ** (4 / 3) * e ** (-7 / 3) + 1.0 / (n * e**3.5))
    return _out(comp + kappa * e**-3.0)


def _nigt_terms(e, L, Delta, L_h):
    """L_gΔ/ε² + √L_h Δ/ε^{3/2}, the iteration count shared by the NIGT bounds."""
    return L * Delta / e**2 + np.sqrt(L_h) * Delta / e**1.5


def _nigt_constants(L, Delta, sigma, L_h, gamma):
    L, Delta, sigma = _constants(L, Delta, sigma)
    L_h = arguments.const(L_h, "L_h")
    gamma = float(gamma)
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"gamma must be in [0, 1), got {gamma!r}")
    return L, Delta, sigma, L_h, 1.0 / (1.0 - gamma)


def complexity_rennala_nigt(hdot, eps, *, kappa=0.0, L=1.0, Delta=1.0, sigma=1.0, L_h=1.0,
                            gamma=0.0) -> MinOverM:
    """MT Theorem 4.4 (Table 1 row "Rennala NIGT | min_m [ ((1/m) Σ_{i≤m} 1/ḣ_i)^{-1}
    (ε^-2 + 1/(m ε^{7/2})) ] | κ ε^-2 | yes"), full form up to log factors:

    κ (L_gΔ/ε² + √L_h Δ/ε^{3/2}) + (1/(1−γ)) min_m [ ((1/m) Σ_{i≤m} 1/ḣ_i)^{-1}
      (L_gΔ/ε² + √L_h Δ/ε^{3/2} + σ²/(m ε²) + σ² √L_h Δ/(m ε^{7/2})) ].

    ``L`` is L_g; γ defaults to 0 so that 1/(1−γ) = 1. Returns (time, m*).
    """
    h, e = arguments.times(hdot, "hdot"), arguments.eps(eps)
    kappa = arguments.const(kappa, "kappa")
    L, Delta, sigma, L_h, horizon = _nigt_constants(L, Delta, sigma, L_h, gamma)

    def factor(m, x):
        return (_nigt_terms(x, L, Delta, L_h) + sigma**2 / (m * x**2)
                + sigma**2 * np.sqrt(L_h) * Delta / (m * x**3.5))

    comp = _min_over_m(h, e, factor)
    return MinOverM(_out(kappa * _nigt_terms(e, L, Delta, L_h) + horizon * comp.time), comp.m)


def complexity_malenia_nigt(hdot, eps, *, kappa=0.0, L=1.0, Delta=1.0, sigma=1.0, L_h=1.0,
                            gamma=0.0):
    """MT Theorem 5.1 (Malenia NIGT, heterogeneous), up to log factors:

    κ (L_gΔ/ε² + √L_h Δ/ε^{3/2}) + (1/(1−γ)) [ ḣ_n (L_gΔ/ε² + √L_h Δ/ε^{3/2})
      + ((1/n) Σ_i ḣ_i)(σ²/(n ε²) + σ² √L_h Δ/(n ε^{7/2})) ].

    ``L`` is L_g; γ defaults to 0 so that 1/(1−γ) = 1.
    """
    h, e = arguments.times(hdot, "hdot"), arguments.eps(eps)
    kappa = arguments.const(kappa, "kappa")
    L, Delta, sigma, L_h, horizon = _nigt_constants(L, Delta, sigma, L_h, gamma)
    n = h.size
    iters = _nigt_terms(e, L, Delta, L_h)
    noise = sigma**2 / (n * e**2) + sigma**2 * np.sqrt(L_h) * Delta / (n * e**3.5)
    return _out(kappa * iters + horizon * (np.max(h) * iters + np.mean(h) * noise))
