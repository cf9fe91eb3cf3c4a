"""Plots of a run directory: the evaluated objective (and exact ‖∇J‖ where known)
against virtual time and against gradients used, one line per method.

Written after every ``asyncnigt run`` as ``objective.png`` (and ``grad_norm.png``, log
scale) in the run directory. Uses the non-interactive Agg backend.
"""

from __future__ import annotations

import io
from pathlib import Path

from .results import read_csv, write_bytes_atomic


def _series(rows, x: str, y: str):
    pts = [(r[x], r[y]) for r in rows if r.get(y) is not None]
    return [p[0] for p in pts], [p[1] for p in pts]


def _figure(run: Path, labels, column: str, log: bool, ylabel: str) -> bytes | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    drawn = False
    for label in labels:
        _, rows = read_csv(run / label / "metrics.csv")
        for ax, x in zip(axes, ("time", "gradients_used")):
            xs, ys = _series(rows, x, column)
            if xs:
                ax.plot(xs, ys, label=label, drawstyle="steps-post" if len(xs) > 200 else "default")
                drawn = True
    if not drawn:
        plt.close(fig)
        return None
    for ax, xlabel in zip(axes, ("virtual time [s]", "gradients used")):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if log:
            ax.set_yscale("log")
    axes[0].legend()
    fig.suptitle(f"{run.name}: {ylabel}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def plot_run(run: str | Path) -> list[Path]:
    """Write the run's PNG plots; returns their paths."""
    run = Path(run)
    _, summary = read_csv(run / "summary.csv")
    labels = [str(r["label"]) for r in summary]
    sense = "min"
    written = []
    for column, log, ylabel in (("objective", False, "objective"), ("grad_norm", True, "‖∇J‖ (exact)")):
        if column == "objective":
            import json

            sense = json.loads((run / labels[0] / "summary.json").read_text())["sense"]
            log = sense == "min"
            ylabel = "return" if sense == "max" else "objective f (log)"
        png = _figure(run, labels, column, log, ylabel)
        if png is not None:
            path = run / f"{column}.png"
            write_bytes_atomic(path, png)
            written.append(path)
    return written
