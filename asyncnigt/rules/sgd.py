"""Stochastic gradient ascent θ_{k+1} = θ_k + α_k g_k (also "plain PG ascent").

Used by Rennala/Malenia/minibatch SGD and Rennala/synchronous PG with α_k = α, and by
asynchronous SGD with the gradient of a job dispatched δ_k updates ago; the optional
delay-adaptive step is α_k = α · n / max(n, δ_k) (Koloskova et al. 2022; Mishchenko et
al. 2022), switchable with ``delay_adaptive``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .base import Rule


class SGDState(NamedTuple):
    theta: np.ndarray
    step: int


def sgd(step_size: float) -> Rule:
    """θ ← θ + α g."""

    def init(theta0):
        return SGDState(np.array(theta0, dtype=float), 0)

    def update(state, g, **_):
        return SGDState(state.theta + step_size * g, state.step + 1)

    return Rule(init, lambda s: s.theta, update, lambda s: s.theta)


def asgd(step_size: float, n_workers: int, delay_adaptive: bool = False) -> Rule:
    """θ ← θ + α_δ g with α_δ = α n / max(n, δ) when ``delay_adaptive`` else α."""
    base = sgd(step_size)

    def update(state, g, delay=0, **_):
        alpha = step_size
        if delay_adaptive:
            alpha = step_size * n_workers / max(n_workers, delay)
        return SGDState(state.theta + alpha * g, state.step + 1)

    return base._replace(update=update)
