"""Compatibility alias: the plots live in :mod:`asyncnigt.plotting`."""

from __future__ import annotations

from .plotting import plot_path, plot_run, plot_sweep

__all__ = ["plot_run", "plot_sweep", "plot_path"]
