"""Reading what a run directory holds, for the plots (docs/outputs.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ..results import read_csv

CURVES = ("objective", "grad_norm")


@dataclass
class RunData:
    """Lazy view of one run directory."""

    path: Path

    @cached_property
    def summary(self) -> list[dict]:
        return read_csv(self.path / "summary.csv")[1]

    @cached_property
    def title(self) -> str:
        """"<scenario name>, seed <seed>" from ``meta.json`` (the folder's name if it has
        none), so that a figure does not depend on where the run was written."""
        meta = self.path / "meta.json"
        if meta.is_file():
            info = json.loads(meta.read_text(encoding="utf-8"))
            if "scenario" in info and "seed" in info:
                return f"{info['scenario']}, seed {info['seed']}"
        return self.path.name

    @property
    def labels(self) -> list[str]:
        return [str(r["label"]) for r in self.summary]

    def metrics(self, label: str) -> list[dict]:
        return read_csv(self.path / label / "metrics.csv")[1]

    def method_summary(self, label: str) -> dict:
        return json.loads((self.path / label / "summary.json").read_text(encoding="utf-8"))

    @cached_property
    def sense(self) -> str:
        """``max`` (returns, J) or ``min`` (synthetic losses f)."""
        return self.method_summary(self.labels[0]).get("sense", "max")

    def events(self, label: str) -> list[dict] | None:
        path = self.path / label / "events.jsonl"
        if not path.is_file():
            return None
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def targets(self, column: str) -> list[float]:
        """Target values of ``column``, from the ``time_to_<column>_<value>`` columns."""
        prefix = f"time_to_{column}_"
        keys = self.summary[0].keys() if self.summary else ()
        return [float(k[len(prefix):]) for k in keys if k.startswith(prefix)]


def series(rows, x: str, y: str):
    """(xs, ys) of the rows where ``y`` was evaluated."""
    pts = [(r[x], r[y]) for r in rows if r.get(y) is not None and r.get(x) is not None]
    return [p[0] for p in pts], [p[1] for p in pts]


def y_label(column: str, sense: str) -> str:
    if column == "grad_norm":
        return "‖∇J(θ)‖ (exact)"
    return "objective J (return)" if sense == "max" else "objective f"
