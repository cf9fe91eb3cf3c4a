"""Quantiles across seeds.

:func:`quantile` is numpy's default ``linear`` method (Hyndman & Fan type 7: with the n
values sorted, position h = (n − 1)q, interpolate linearly between the order statistics
⌊h⌋ and ⌈h⌉), computed with numpy's own interpolation formula so that finite inputs give
exactly ``numpy.quantile``. It also accepts ``+inf`` (a seed that never reached a
target): a quantile that needs an infinite order statistic is ``+inf``, i.e. "not
reached by that fraction of seeds within the budget".
"""

from __future__ import annotations

import math

import numpy as np

QUANTILES = (("q20", 0.2), ("median", 0.5), ("q80", 0.8))


def quantile(values, q: float) -> float:
    v = np.sort(np.asarray(values, dtype=float))
    if v.size == 0:
        return math.nan
    h = (v.size - 1) * q
    lo = int(math.floor(h))
    t = h - lo
    if t == 0.0:
        return float(v[lo])
    a, b = v[lo], v[lo + 1]
    if math.isinf(b):
        return math.inf
    diff = b - a  # numpy's _lerp, branch-for-branch
    return float(b - diff * (1 - t) if t >= 0.5 else a + diff * t)


def describe(values) -> dict[str, float | None]:
    """``{q20, median, q80}`` of ``values`` (``None`` where empty or infinite)."""
    out = {}
    for name, q in QUANTILES:
        x = quantile(values, q) if len(values) else math.nan
        out[name] = x if math.isfinite(x) else None
    return out
