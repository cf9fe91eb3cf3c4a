"""PNG plots of runs and sweeps (docs/outputs.md).

``plot_run(DIR)`` writes into a run directory ``objective.png`` and ``grad_norm.png``
(:mod:`.curves`), ``timeline.png`` when events were recorded (:mod:`.timeline`) and
``workers.png`` (:mod:`.workers`). ``plot_sweep(DIR)`` writes the median/band figures of
each grid cell (:mod:`.sweep`). ``plot_path`` picks one from what the directory holds.
Every PNG is written atomically.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ScenarioError
from .curves import plot_curves
from .data import RunData
from .sweep import plot_sweep
from .timeline import plot_timeline
from .workers import plot_workers

__all__ = ["plot_run", "plot_sweep", "plot_path"]


def plot_run(run: str | Path) -> list[Path]:
    """Write the PNG plots of a run directory; returns their paths."""
    data = RunData(Path(run))
    return plot_curves(data) + plot_timeline(data) + plot_workers(data)


def plot_path(path: str | Path) -> list[Path]:
    """Plot a sweep directory (``sweep.json``) or a run directory (``summary.csv``)."""
    path = Path(path)
    if (path / "sweep.json").is_file():
        return plot_sweep(path)
    if (path / "summary.csv").is_file():
        return plot_run(path)
    raise ScenarioError("", f"{path} is neither a run directory (summary.csv) "
                            "nor a sweep directory (sweep.json)")
