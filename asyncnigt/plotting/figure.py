"""Matplotlib figures without global state, saved atomically as PNG.

Figures are built with the object-oriented API (``matplotlib.figure.Figure``), never
through ``pyplot``: no backend is selected, nothing leaks between figures, and a
notebook's own backend is left alone. PNGs carry no software/date metadata.
"""

from __future__ import annotations

import io
from pathlib import Path

from ..results import write_bytes_atomic

DPI = 110
KIND_COLORS = {
    "used": "#2ca02c", "discarded": "#ff7f0e", "cancelled": "#d62728",
    "download": "#9ecae1", "upload": "#1f77b4", "aggregate": "#9467bd",
}


def new_figure(rows: int = 1, cols: int = 1, size=(11, 4), **kw):
    """A figure and its axes (``squeeze=False``: always a 2-D array of axes)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, **kw)
    return fig, axes


def save(fig, path: str | Path) -> Path:
    """Render ``fig`` to PNG and write it atomically; returns the path."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    write_bytes_atomic(path, buf.getvalue())
    return Path(path)


def method_colors(labels) -> dict[str, str]:
    """One colour per method label, stable across the figures of a run or sweep."""
    return {label: f"C{i % 10}" for i, label in enumerate(labels)}
