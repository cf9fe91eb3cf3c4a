"""The :class:`Rule` tuple shared by all update rules, and a safe normalisation."""

from __future__ import annotations

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
    leaves θ unchanged rather than producing NaN)."""
    norm = float(np.linalg.norm(d))
    return d / norm if norm > 0 else np.zeros_like(d)
