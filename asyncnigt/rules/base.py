"""The :class:`Rule` tuple shared by all update rules, and a safe normalisation."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np


class Rule(NamedTuple):
    init: Callable[[np.ndarray], Any]
    query: Callable[[Any], np.ndarray]
    update: Callable[..., Any]
    params: Callable[[Any], np.ndarray]


def normalized(d: np.ndarray) -> np.ndarray:
    """d/‖d‖, and the zero vector when d = 0 (documented choice: a zero direction
    leaves θ unchanged rather than producing NaN).

    A nonzero d whose ‖d‖ under- or overflows (entries below ~1e-154 or above ~1e154) is
    rescaled by max|d| first, so it still gives a unit vector; NaN and inf propagate.
    """
    norm = float(np.linalg.norm(d))
    if 0 < norm < math.inf:
        return d / norm
    scale = float(np.max(np.abs(d))) if d.size else 0.0
    if scale == 0:
        return np.zeros_like(d)
    with np.errstate(invalid="ignore"):  # inf / inf: NaN, reported by the caller's checks
        u = d / scale
        return u / np.linalg.norm(u)
