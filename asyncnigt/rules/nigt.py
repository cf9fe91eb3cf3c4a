"""NIGT: normalized momentum with implicit gradient transport (ascent form).

Cutkosky & Mehta, "Momentum improves normalized SGD", ICML 2020; as used by Rennala NIGT
and Malenia NIGT (Tyurin, Spiridonov, Rudenko, arXiv 2509.24305; methods.md §2)::

    θ̃_t     = θ_t + ((1 − η)/η)(θ_t − θ_{t−1})      query point (extrapolation)
    d_t      = (1 − η) d_{t−1} + η g_t               g_t: aggregated gradient at θ̃_t
    θ_{t+1}  = θ_t + α d_t / ‖d_t‖                   every step has length exactly α

Start (reconstructed, methods.md §2): θ_{−1} = θ_0 so θ̃_0 = θ_0, d_0 = g_0 (the round
of M_init gradients), θ_1 = θ_0 + α d_0/‖d_0‖. With β = 1 − η the extrapolation factor
(1 − η)/η equals β/(1 − β), the Cutkosky–Mehta form; η = 1 gives normalized SGD.
A zero direction d_t = 0 leaves θ unchanged (:func:`~asyncnigt.rules.base.normalized`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .base import Rule, normalized


class NIGTState(NamedTuple):
    theta: np.ndarray  # θ_t
    theta_prev: np.ndarray  # θ_{t−1}
    d: np.ndarray  # d_{t−1} (momentum; zeros before the first update)
    t: int


def extrapolate(theta, theta_prev, eta: float) -> np.ndarray:
    """θ̃ = θ + ((1 − η)/η)(θ − θ_prev)."""
    return theta + ((1.0 - eta) / eta) * (theta - theta_prev)


def nigt(step_size: float, momentum: float) -> Rule:
    """The NIGT rule with step α = ``step_size`` and momentum η = ``momentum`` ∈ (0, 1]."""
    alpha, eta = step_size, momentum
    if not 0 < eta <= 1:
        raise ValueError(f"momentum: must be in (0, 1], got {eta!r}")

    def init(theta0):
        theta0 = np.array(theta0, dtype=float)
        return NIGTState(theta0, theta0, np.zeros_like(theta0), 0)

    def query(s):
        return extrapolate(s.theta, s.theta_prev, eta)

    def update(s, g, **_):
        d = g if s.t == 0 else (1.0 - eta) * s.d + eta * g
        return NIGTState(s.theta + alpha * normalized(d), s.theta, d, s.t + 1)

    return Rule(init, query, update, lambda s: s.theta)
