"""The gradient-oracle interface every problem implements.

A *problem* is a stateless description (dimension, objective, how to build θ_0); an
*oracle* is its per-run, per-method sampler holding the workers' random streams.

Sign convention (``reference/methods.md``): update rules always *ascend*. An oracle
therefore returns stochastic estimates of ∇J where J is the objective to maximise. For a
minimisation problem (``sense == "min"``, e.g. a quadratic f) J = −f: the oracle returns
−(∇f + noise), while :class:`Evaluation` reports the natural objective f and ‖∇f‖.

Batching contract: :meth:`Oracle.gradients` takes k rows at once, each with its own
point and worker. Worker i's random stream is consumed row by row in the order its rows
appear, so results never depend on how requests are grouped into batches.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Evaluation:
    """Exact or estimated quality of a point.

    ``objective``: the problem's natural objective (f for "min", J or the average return
    for "max"); ``grad_norm``: exact ‖∇J(θ)‖ where the problem knows it, else ``None``;
    ``extra``: further named columns (e.g. the discounted return).
    """

    objective: float | None
    grad_norm: float | None = None
    extra: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class GradientBatch:
    """k stochastic ascent directions and the environment steps each one took."""

    grads: np.ndarray  # (k, d)
    steps: np.ndarray  # (k,) int: trajectory lengths (1 for synthetic problems)


class Oracle(ABC):
    """Per-run stochastic gradient oracle for ``n`` workers."""

    n_workers: int
    dim: int

    @abstractmethod
    def gradients(self, points: np.ndarray, workers: np.ndarray) -> GradientBatch:
        """Stochastic ascent directions g(points[j]) sampled by worker ``workers[j]``.

        ``points`` is (k, d) (it may be a broadcast view of one point); ``workers`` is (k,).
        """

    @abstractmethod
    def evaluate(self, theta: np.ndarray) -> Evaluation:
        """Quality of θ; consumes only the evaluation stream, never virtual time."""

    def advance(self, worker: int, rows: int, point: np.ndarray) -> None:
        """Consume worker ``worker``'s stream exactly as ``rows`` rows at ``point`` would,
        discarding them (the ``per: step`` buffer skips committed trajectories it never
        handed out, ``sim/trajectories.py``). This default computes the rows; oracles
        whose rows draw the same randomness at every point override it to draw only."""
        if rows > 0:
            self.gradients(np.broadcast_to(point, (rows, np.size(point))),
                           np.full(rows, worker, dtype=np.int64))

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (environments)."""


class Problem(ABC):
    """A problem family instantiated for a scenario."""

    dim: int
    sense: str = "max"  # "max" (RL return) or "min" (synthetic losses)
    heterogeneous: bool = False  # True when workers have different objectives J_i
    steps_per_gradient: int = 1  # nominal trajectory length, for `per: step` timing

    @abstractmethod
    def initial_point(self, rng: np.random.Generator) -> np.ndarray:
        """θ_0, drawn from the run's ``init`` stream (shared by all methods)."""

    @abstractmethod
    def oracle(self, streams, n_workers: int) -> Oracle:
        """A fresh oracle whose worker i draws from ``streams.generator("oracle", i)``
        and whose evaluation draws from ``streams.generator("evaluation")``."""
