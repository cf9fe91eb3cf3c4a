"""Sweeps: a scenario over seeds and a grid of parameter values.

``OUT/sweep.json`` (the manifest, written first), ``OUT/<cell>/seed<k>/`` (one run
directory per grid cell and seed, written by :func:`~asyncnigt.runner.run_scenario`),
then ``OUT/sweep.csv`` and ``OUT/sweep_summary.csv`` (:mod:`.tables`).

Resume: running the same sweep again skips the complete run directories and runs only
the missing ones; the tables are rebuilt from disk, so the files end up the same as
after an uninterrupted sweep. A complete run directory whose ``scenario.yaml`` differs
from what the sweep would write is an error (the scenario or overrides changed).
Half-built runs and temporary files of a killed sweep are removed first; an advisory
lock on ``OUT`` keeps two sweeps from writing (or cleaning) it at once.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import ScenarioError
from ..results import json_text, write_atomic
from .execute import TaskResult, is_complete, run_tasks
from .grid import parse_grid, parse_seeds
from .plan import MANIFEST, RunTask, SweepPlan, plan_sweep
from .tables import write_tables

__all__ = ["MANIFEST", "RunTask", "SweepPlan", "SweepOutcome", "TaskResult", "exclusive",
           "is_sweep", "parse_grid", "parse_seeds", "plan_sweep", "run_sweep"]


@dataclass
class SweepOutcome:
    ran: int              # runs executed by this call
    skipped: int          # complete runs found on disk
    summary_columns: list
    summary_rows: list


def is_sweep(path: str | Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def run_sweep(plan: SweepPlan, jobs: int = 1, on_start=None, on_done=None) -> SweepOutcome:
    """Run the missing runs of ``plan`` and write the tables.

    ``on_start(pending, total)`` is called once the pending runs are known,
    ``on_done(TaskResult)`` after each run.
    """
    _check_out(plan.out)
    plan.out.mkdir(parents=True, exist_ok=True)
    with exclusive(plan.out):
        _prepare(plan)
        pending = [t for t in plan.tasks if not _complete(t)]
        if on_start is not None:
            on_start(len(pending), len(plan.tasks))
        run_tasks(pending, jobs, on_done or (lambda result: None))
        columns, rows = write_tables(plan)
    return SweepOutcome(len(pending), len(plan.tasks) - len(pending), columns, rows)


@contextmanager
def exclusive(folder: Path):
    """Hold an advisory lock on the sweep directory (released even if killed), so that
    two sweeps never write, or clean up, the same directory at once."""
    try:
        import fcntl
    except ImportError:  # no flock on this platform: no protection
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ScenarioError("--out", f"another sweep is writing {folder}") from None
        yield
    finally:
        os.close(fd)


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ScenarioError("--out", f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not is_sweep(out):
        raise ScenarioError("--out", f"{out} exists and is not a sweep directory (no {MANIFEST})")


def _prepare(plan: SweepPlan) -> None:
    out = plan.out
    for folder in [out, *(out / c.name for c in plan.cells)]:
        _remove_leftovers(folder)
    write_atomic(out / MANIFEST, json_text(plan.manifest()))


def _remove_leftovers(folder: Path) -> None:
    """Temporary files and half-built run directories of a sweep that was killed."""
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        name = entry.name
        if name.startswith(".") and (".partial-" in name or ".old-" in name):
            shutil.rmtree(entry, ignore_errors=True)
        elif name.startswith(".") and name.endswith(".tmp") and entry.is_file():
            entry.unlink(missing_ok=True)


def _complete(task: RunTask) -> bool:
    if not is_complete(task.out):
        return False
    from ..scenario import parse_scenario

    on_disk = (Path(task.out) / "scenario.yaml").read_text(encoding="utf-8")
    if on_disk != parse_scenario(task.doc).to_yaml():
        raise ScenarioError("--out", f"{task.out} holds a run of a different scenario "
                                     "(its scenario.yaml differs); use another --out")
    return True
