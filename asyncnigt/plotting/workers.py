"""Gradients contributed per worker (``workers.png``): for every method, how many of
each worker's gradients entered an update (``gradients_per_worker`` of its
``summary.json``), as grouped bars over the worker index.
"""

from __future__ import annotations

from .data import RunData
from .figure import method_colors, new_figure, save


def workers_figure(run: RunData):
    counts = {}
    for label in run.labels:
        per_worker = run.method_summary(label).get("gradients_per_worker")
        if per_worker:
            counts[label] = per_worker
    if not counts:
        return None
    n = max(len(c) for c in counts.values())
    fig, axes = new_figure(1, 1, size=(max(6.0, min(16.0, 2 + 0.45 * n * len(counts) ** 0.5)), 3.8))
    ax = axes[0, 0]
    colors = method_colors(run.labels)
    width = 0.8 / len(counts)
    for j, (label, c) in enumerate(counts.items()):
        xs = [i - 0.4 + width * (j + 0.5) for i in range(len(c))]
        ax.bar(xs, c, width=width, label=f"{label} ({sum(c)})", color=colors[label])
    ax.set_xlabel("worker")
    ax.set_ylabel("gradients used in updates")
    if n <= 30:
        ax.set_xticks(range(n))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small")
    fig.suptitle(f"{run.title}: gradients contributed per worker (total in legend)")
    return fig


def plot_workers(run: RunData) -> list:
    fig = workers_figure(run)
    return [] if fig is None else [save(fig, run.path / "workers.png")]
