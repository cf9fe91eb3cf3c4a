"""The plan of a sweep: every grid cell × seed as one run directory.

``plan_sweep`` validates every cell's scenario before anything is written (a bad grid
key or value is a :class:`~asyncnigt.errors.ScenarioError` naming ``--grid KEY``), and
lists the runs ``OUT/<cell>/seed<k>/`` in a fixed order: cells in grid order, seeds
ascending. A task carries the scenario document itself (plain data), so a worker process
never re-reads the YAML file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..build import build_problem
from ..errors import ScenarioError
from ..scenario import apply_override, parse_scenario, read_yaml
from ..seeding import Streams
from .grid import Cell, cells

MANIFEST = "sweep.json"


@dataclass(frozen=True)
class RunTask:
    cell: str
    seed: int
    doc: dict          # scenario document with --set, grid values and seed applied
    out: str           # the run directory

    @property
    def name(self) -> str:
        return f"{self.cell}/seed{self.seed}"


@dataclass(frozen=True)
class SweepPlan:
    scenario: str
    overrides: tuple[str, ...]
    seeds: tuple[int, ...]
    axes: tuple
    cells: tuple[Cell, ...]
    tasks: tuple[RunTask, ...]
    out: Path

    def manifest(self) -> dict:
        """``sweep.json``: enough to recognise and plot the sweep (no wall-clock data)."""
        return {
            "kind": "sweep", "scenario": self.scenario, "set": list(self.overrides),
            "seeds": list(self.seeds),
            "grid": [{"key": a.key, "values": list(a.values)} for a in self.axes],
            "cells": [{"name": c.name, "values": {k: v for k, v in c.values}} for c in self.cells],
        }


def plan_sweep(scenario: str, overrides, seeds, axes, out) -> SweepPlan:
    """Validate every cell (scenario and problem, with the base seed) and list the runs."""
    base = read_yaml(scenario)
    for assignment in overrides:
        base = apply_override(base, assignment)
    grid_keys = {a.key for a in axes}
    found = cells(axes)
    out = Path(out)
    tasks = []
    for cell in found:
        doc = _cell_doc(base, cell, grid_keys)
        for seed in seeds:
            tasks.append(RunTask(cell.name, seed, {**doc, "seed": seed},
                                 str(out / cell.name / f"seed{seed}")))
    return SweepPlan(str(scenario), tuple(overrides), tuple(seeds), tuple(axes), found,
                     tuple(tasks), out)


def _cell_doc(base: dict, cell: Cell, grid_keys: set) -> dict:
    doc = base
    assignments = cell.assignments()
    try:
        for assignment in assignments:
            doc = apply_override(doc, assignment)
        scenario = parse_scenario(doc, assignments)
        build_problem(scenario, Streams(scenario.seed))  # problem-level checks too
    except ScenarioError as err:
        key = err.path.removeprefix("--set ")
        if key in grid_keys:
            value = dict(cell.values)[key]
            raise ScenarioError(f"--grid {key}", f"{err.message} (value {value!r})") from None
        raise
    return doc
