"""Median and 20–80% band of curves across seeds (pure numpy).

Each seed's curve is known at its evaluated rows only. On a common grid of x values
(virtual time, or gradients used) a seed's value at x is the value of its last evaluated
row with abscissa ≤ x (step interpolation: the iterate in force at that time). The grid
runs from the largest first abscissa (0 for runs: row 0 is the initial point) to the
smallest final abscissa over the seeds, so every point of the band is taken over all
seeds. Quantiles: ``numpy.quantile`` (default ``linear`` method).
"""

from __future__ import annotations

import numpy as np

GRID_POINTS = 400
LOW, MID, HIGH = 0.2, 0.5, 0.8


def step_values(xs, ys, grid) -> np.ndarray:
    """Value of the step function through (xs, ys) (xs non-decreasing) at each grid x."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    idx = np.searchsorted(xs, grid, side="right") - 1
    return np.where(idx >= 0, ys[np.clip(idx, 0, None)], np.nan)


def common_grid(curves, points: int = GRID_POINTS) -> np.ndarray:
    """From the largest first abscissa to the smallest last one over the curves."""
    start = max(float(xs[0]) for xs, _ in curves)
    end = min(float(xs[-1]) for xs, _ in curves)
    return np.linspace(start, end, points) if end > start else np.array([start])


def band(curves, points: int = GRID_POINTS, low: float = LOW, high: float = HIGH):
    """``(grid, q_low, median, q_high)`` of ``curves`` = [(xs, ys), ...] (one per seed),
    or ``None`` when every curve is empty."""
    curves = [(xs, ys) for xs, ys in curves if len(xs)]
    if not curves:
        return None
    grid = common_grid(curves, points)
    values = np.vstack([step_values(xs, ys, grid) for xs, ys in curves])
    q_low, mid, q_high = np.quantile(values, [low, MID, high], axis=0)
    return grid, q_low, mid, q_high
