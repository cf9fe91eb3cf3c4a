"""Objective curves of one run: the evaluated objective (``objective.png``) and the exact
‖∇J‖ where the problem knows it (``grad_norm.png``, log scale) against virtual time
(left) and against gradients used (right), one line per method; targets of the
scenario that fall inside the plotted range are dotted horizontal lines.
"""

from __future__ import annotations

from .data import RunData, series, y_label
from .figure import method_colors, new_figure, save

X_AXES = (("time", "virtual time [s]"), ("gradients_used", "gradients used"))


def log_scale(column: str, sense: str, values) -> bool:
    """‖∇J‖ and minimised objectives on a log axis when all values are positive."""
    return (column == "grad_norm" or sense == "min") and bool(values) and min(values) > 0


def decorate(axes, column, sense, values, targets, title_fig, title):
    for ax, (_, xlabel) in zip(axes, X_AXES, strict=True):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(y_label(column, sense))
        ax.grid(alpha=0.3)
        if log_scale(column, sense, values):
            ax.set_yscale("log")
        low, high = ax.get_ylim()
        for target in targets:  # only those inside the plotted range: no rescaling
            if low <= target <= high:
                ax.axhline(target, color="0.4", lw=0.8, ls=":")
        ax.set_ylim(low, high)
    axes[0].legend(fontsize="small")
    title_fig.suptitle(title)


def curve_figure(run: RunData, column: str):
    """The figure of ``column`` for every method that evaluated it (None if none did)."""
    fig, axes = new_figure(1, 2)
    axes = axes[0]
    colors = method_colors(run.labels)
    values = []
    for label in run.labels:
        rows = run.metrics(label)
        for ax, (x, _) in zip(axes, X_AXES, strict=True):
            xs, ys = series(rows, x, column)
            if xs:
                ax.plot(xs, ys, label=label, color=colors[label], lw=1.4,
                        marker="." if len(xs) <= 30 else None)
                values += ys
    if not values:
        return None
    decorate(axes, column, run.sense, values, run.targets(column), fig,
             f"{run.title}: {y_label(column, run.sense)}")
    return fig


def plot_curves(run: RunData) -> list:
    written = []
    for column in ("objective", "grad_norm"):
        fig = curve_figure(run, column)
        if fig is not None:
            written.append(save(fig, run.path / f"{column}.png"))
    return written
