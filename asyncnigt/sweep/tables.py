"""``sweep.csv`` and ``sweep_summary.csv``, built from the run directories on disk.

Both tables are written only from complete run directories, in plan order (cells in grid
order, seeds ascending, methods in scenario order), so a resumed sweep, or one run with
any ``--jobs``, ends with byte-identical tables. Wall-clock times are left out.

``sweep.csv``: one row per (cell, seed, method): ``cell``, one column per grid key (the
key path as given), ``seed``, then the columns of the run's ``summary.csv`` copied as
text.

``sweep_summary.csv``: one row per (cell, method) over the seeds: ``seeds`` (runs),
``ok`` (runs with status ok), ``<m>_q20, <m>_median, <m>_q80`` of ``final_objective``
and ``final_grad_norm`` (over the seeds that have a value), and for every target column
``time_to_*``: ``<t>_reached`` (seeds that reached it) and its quantiles, where a seed
that never reached the target counts as +∞ (an empty quantile: not reached by that
fraction of the seeds). Quantiles: :mod:`asyncnigt.sweep.stats`.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from ..results import csv_text, write_atomic
from .grid import value_text
from .stats import QUANTILES, describe

FINALS = ("final_objective", "final_grad_norm")


def grid_text(value) -> str:
    """A grid value in a CSV cell: strings as they are, other values as JSON."""
    return value if isinstance(value, str) else value_text(value)


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def sweep_rows(plan) -> tuple[list[str], list[list[str]]]:
    """Columns and rows of ``sweep.csv`` (all cells are text)."""
    keys = [a.key for a in plan.axes]
    values = {c.name: dict(c.values) for c in plan.cells}
    summary_cols: list[str] = []
    found = []
    for task in plan.tasks:
        cols, rows = read_rows(Path(task.out) / "summary.csv")
        summary_cols += [c for c in cols if c not in summary_cols]
        found.append((task, rows))
    columns = ["cell", *keys, "seed", *summary_cols]
    out = []
    for task, rows in found:
        head = [task.cell, *(grid_text(values[task.cell][k]) for k in keys), str(task.seed)]
        out += [head + [row.get(c) or "" for c in summary_cols] for row in rows]
    return columns, out


def summary_rows(plan, columns, rows) -> tuple[list[str], list[list]]:
    """Aggregate ``sweep.csv`` rows over seeds per (cell, label)."""
    keys = [a.key for a in plan.axes]
    targets = [c for c in columns if c.startswith("time_to_")]
    finals = [c for c in FINALS if any(_num(r[columns.index(c)]) is not None for r in rows)]
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        rec = dict(zip(columns, row, strict=True))
        groups.setdefault((rec["cell"], rec["label"]), []).append(rec)
    names = [n for n, _ in QUANTILES]
    out_cols = ["cell", *keys, "label", "method", "seeds", "ok"]
    out_cols += [f"{m}_{n}" for m in finals for n in names]
    out_cols += [c for t in targets for c in (f"{t}_reached", *(f"{t}_{n}" for n in names))]
    out = []
    for (cell, label), recs in groups.items():
        first = recs[0]
        line = [cell, *(first[k] for k in keys), label, first["method"], len(recs),
                sum(r["status"] == "ok" for r in recs)]
        for m in finals:
            q = describe([v for v in (_num(r[m]) for r in recs) if v is not None])
            line += [q[n] for n in names]
        for t in targets:
            times = [_num(r[t]) for r in recs]
            q = describe([math.inf if v is None else v for v in times])
            line += [sum(v is not None for v in times), *(q[n] for n in names)]
        out.append(line)
    return out_cols, out


def write_tables(plan) -> tuple[list[str], list[list]]:
    """Write ``sweep.csv`` and ``sweep_summary.csv``; returns the summary table."""
    columns, rows = sweep_rows(plan)
    write_atomic(plan.out / "sweep.csv", _text_csv(columns, rows))
    sum_cols, sum_rows = summary_rows(plan, columns, rows)
    write_atomic(plan.out / "sweep_summary.csv", csv_text(sum_cols, sum_rows))
    return sum_cols, sum_rows


def _text_csv(columns, rows) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


def _num(text: str | None) -> float | None:
    return None if text in (None, "") else float(text)
