"""Argument checks shared by the closed forms (:mod:`asyncnigt.timing.theory`) and the
time complexities (:mod:`asyncnigt.timing.complexity`): each returns the checked value or
raises ``ValueError`` naming the argument."""

from __future__ import annotations

import operator

import numpy as np


def times(x, name: str = "tau") -> np.ndarray:
    """A non-empty 1-D array of finite, strictly positive times."""
    a = np.asarray(x, dtype=float)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"{name} must be finite and > 0")
    return a


def nonneg(x, n: int, name: str) -> np.ndarray:
    """A scalar or length-n array of finite, non-negative values, broadcast to length n."""
    a = np.asarray(x, dtype=float)
    if a.ndim > 1 or (a.ndim == 1 and a.size != n):
        raise ValueError(f"{name} must be a scalar or have length {n}, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"{name} must be finite and >= 0")
    return np.broadcast_to(a, (n,)).astype(float)


def pos_int(x, name: str) -> int:
    """A strictly positive integer (bools and non-integral floats are rejected)."""
    if isinstance(x, bool):
        raise ValueError(f"{name} must be a positive integer, got {x!r}")
    try:
        v = operator.index(x)
    except TypeError:
        raise ValueError(f"{name} must be a positive integer, got {x!r}") from None
    if v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v}")
    return v


def pos_real(x, name: str) -> float:
    """A finite, strictly positive real."""
    v = float(x)
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be finite and > 0, got {x!r}")
    return v


def eps(x) -> np.ndarray:
    """Target accuracies ε: a scalar or an array, finite and strictly positive."""
    e = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(e)) or np.any(e <= 0):
        raise ValueError("eps must be finite and > 0")
    return e


def const(x, name: str) -> float:
    """A problem constant (L, Δ, σ, κ, …): a finite, non-negative real."""
    v = float(x)
    if not (np.isfinite(v) and v >= 0):
        raise ValueError(f"{name} must be finite and >= 0, got {x!r}")
    return v
