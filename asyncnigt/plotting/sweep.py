"""Figures of a sweep: for every grid cell, the median across seeds and the 20–80% band
of the objective (``<cell>/objective.png``) and of the exact ‖∇J‖ (``<cell>/grad_norm.png``,
log scale) against virtual time (left) and gradients used (right), one colour per method,
as in the paper's figures. Curves are put on a common grid by :mod:`.bands`.
"""

from __future__ import annotations

import json
from pathlib import Path

from .bands import band
from .curves import X_AXES, decorate
from .data import CURVES, RunData, series, y_label
from .figure import method_colors, new_figure, save


def cell_runs(cell_dir: Path, seeds) -> list[RunData]:
    """The complete runs of a cell (a missing or partial run is left out)."""
    runs = [RunData(cell_dir / f"seed{s}") for s in seeds]
    return [r for r in runs if (r.path / "summary.csv").is_file()]


def band_figure(runs: list[RunData], column: str, title: str):
    labels = runs[0].labels
    sense = runs[0].sense
    colors = method_colors(labels)
    fig, axes = new_figure(1, 2)
    axes = axes[0]
    values = []
    for label in labels:
        metrics = [r.metrics(label) for r in runs if label in r.labels]
        for ax, (x, _) in zip(axes, X_AXES, strict=True):
            found = band([series(rows, x, column) for rows in metrics])
            if found is None:
                continue
            grid, low, mid, high = found
            ax.fill_between(grid, low, high, color=colors[label], alpha=0.2, lw=0, step="post")
            ax.plot(grid, mid, color=colors[label], lw=1.5, drawstyle="steps-post",
                    label=f"{label} (median, 20-80%)")
            values += [v for v in low.tolist() + high.tolist() if v == v]
    if not values:
        return None
    decorate(axes, column, sense, values, runs[0].targets(column), fig,
             f"{title}: {y_label(column, sense)}, {len(runs)} seeds")
    return fig


def plot_sweep(path: str | Path) -> list[Path]:
    """Write one figure per grid cell and curve; returns the paths."""
    path = Path(path)
    manifest = json.loads((path / "sweep.json").read_text(encoding="utf-8"))
    written = []
    for cell in manifest["cells"]:
        cell_dir = path / cell["name"]
        runs = cell_runs(cell_dir, manifest["seeds"])
        if not runs:
            continue
        for column in CURVES:
            fig = band_figure(runs, column, cell["name"])
            if fig is not None:
                written.append(save(fig, cell_dir / f"{column}.png"))
    return written
