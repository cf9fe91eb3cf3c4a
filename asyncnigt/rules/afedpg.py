"""AFedPG: asynchronous federated policy gradient with delay-adaptive lookahead.

Lan et al., ICLR 2025 (arXiv 2404.08003); reconstructed from secondary descriptions
(methods.md §4, no public code). A stream rule: every arrival is an update.

On dispatch the worker receives the server state (θ_k, θ_{k−1}, d_{k−1}) and samples at
the lookahead point θ̃ = θ_k + ((1 − η)/η)(θ_k − θ_{k−1}); it forms
d = (1 − η_k) d_{k−1} + η_k g(θ̃) and uploads d. On arrival the server sets
θ ← θ + α d/‖d‖ and stores d as the latest momentum: the momentum is the one the job
carried (stale by the job's delay), the step is applied at the current θ.
Start (reconstructed, as NIGT's d_0 = g_0): a job dispatched before the first update
carried d_{−1} = 0 and uploads d = g (the same step as η g, but the stored momentum
is not shrunk by η).

``momentum_schedule`` (reconstructed, switchable):

* ``"constant"`` (default): η_k = η, as the ICLR 2026 experiments tune constant η;
* ``"delay_adaptive"``: η_k = min(1, η (1 + δ_k)) where δ_k is the job's delay (updates
  applied between its dispatch and its arrival): staler jobs trust their own fresh
  gradient more than the stale momentum they carried. The lookahead keeps η
  (methods.md writes η_k there too, but a job's delay is unknown at dispatch).
"""

from __future__ import annotations

import numpy as np

from .base import Rule, normalized
from .nigt import NIGTState, extrapolate

SCHEDULES = ("constant", "delay_adaptive")


def afedpg(step_size: float, momentum: float, momentum_schedule: str = "constant") -> Rule:
    alpha, eta = step_size, momentum
    if not 0 < eta <= 1:
        raise ValueError(f"momentum: must be in (0, 1], got {eta!r}")
    if momentum_schedule not in SCHEDULES:
        raise ValueError(f"momentum_schedule: expected one of {SCHEDULES}, "
                         f"got {momentum_schedule!r}")
    adaptive = momentum_schedule == "delay_adaptive"

    def init(theta0):
        theta0 = np.array(theta0, dtype=float)
        return NIGTState(theta0, theta0, np.zeros_like(theta0), 0)

    def query(s):
        return extrapolate(s.theta, s.theta_prev, eta)

    def update(s, g, dispatched=None, delay=0, **_):
        base = s if dispatched is None else dispatched
        eta_k = min(1.0, eta * (1 + delay)) if adaptive else eta
        d = g if base.t == 0 and not base.d.any() else (1.0 - eta_k) * base.d + eta_k * g
        return NIGTState(s.theta + alpha * normalized(d), s.theta, d, s.t + 1)

    return Rule(init, query, update, lambda s: s.theta)
