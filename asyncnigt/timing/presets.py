"""Per-worker value profiles: explicit lists and the presets used in the papers.

For workers i = 1..n (one-based, as in the papers):

* ``equal``:  v_i = scale
* ``sqrt``:   v_i = scale · √i      (the paper's heterogeneous setting, ḣ_i = √i)
* ``linear``: v_i = scale · i
"""

from __future__ import annotations

import numpy as np

PRESETS = {
    "equal": lambda i: np.ones_like(i),
    "sqrt": np.sqrt,
    "linear": lambda i: i,
}


def preset_values(preset: str, n: int, scale: float = 1.0) -> np.ndarray:
    """The per-worker values of ``preset`` for n workers (float array of length n)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
    i = np.arange(1, n + 1, dtype=float)
    with np.errstate(over="ignore"):  # callers check for overflow and report it
        return scale * PRESETS[preset](i)
