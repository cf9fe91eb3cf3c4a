"""Run every method of a scenario and write the run directory.

Layout (docs/outputs.md)::

    OUT/scenario.yaml      resolved scenario (every default filled in)
    OUT/meta.json          seed, versions, platform
    OUT/summary.csv        one row per method (written last: marks a complete run)
    OUT/wall.json          wall-clock seconds per method (not part of the determinism contract)
    OUT/<label>/metrics.csv, summary.json[, events.jsonl]

The directory is assembled under a temporary name beside OUT and renamed into place at
the end, so an interrupted run leaves either a complete directory or none.
"""

from __future__ import annotations

import glob
import json
import math
import os
import platform
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .build import build_context, build_run
from .methods import METHODS
from .results import DIR_MODE, csv_text, json_text, write_atomic
from .sim.engine import simulate

SUMMARY_COLUMNS = (
    "label", "method", "status", "updates", "time", "gradients_used", "gradients_computed",
    "gradients_cancelled", "communications", "comm_time", "final_objective", "final_grad_norm",
)


@dataclass
class MethodOutcome:
    label: str
    summary: dict
    wall_seconds: float


def time_to_target(rows, columns, column: str, target: float, sense: str) -> float | None:
    """Virtual time of the first row whose ``column`` reaches ``target``.

    ``grad_norm`` and minimised objectives reach a target from above (≤), maximised
    objectives from below (≥).
    """
    j, t = columns.index(column), columns.index("time")
    below = column == "grad_norm" or sense == "min"
    for row in rows:
        v = row[j] if j < len(row) else None
        if v is not None and (v <= target if below else v >= target):
            return row[t]
    return None


def summarize(label, config, result, scenario, sense) -> dict:
    cols, rows = result.columns, result.rows
    if rows:
        last = dict(zip(cols, rows[-1], strict=False))  # rows may end early
    else:  # a non-finite initial point or first evaluation: nothing happened
        last = {**dict.fromkeys(cols, 0), "time": 0.0, "comm_time": 0.0}
    j = cols.index("objective")
    evaluated = [r for r in rows if len(r) > j and r[j] is not None]
    final = dict(zip(cols, evaluated[-1], strict=False)) if evaluated else {}
    targets = {
        f"time_to_{key}_{target!r}": time_to_target(rows, cols, key, target, sense)
        for key, values in scenario.targets.items() for target in values
    }
    return {
        "label": label, "method": config.name, "params": config.params,
        "status": result.status, "message": result.message,
        "updates": last["update"], "time": last["time"],
        "gradients_used": last["gradients_used"], "gradients_computed": last["gradients_computed"],
        "gradients_cancelled": last["gradients_cancelled"],
        "communications": last["communications"], "comm_time": last["comm_time"],
        "final_objective": final.get("objective"), "final_grad_norm": final.get("grad_norm"),
        "sense": sense, **targets, **result.extra,
    }


def events_text(events) -> str:
    keys = ("worker", "kind", "start", "end", "update")
    return "".join(json.dumps(dict(zip(keys, e, strict=True))) + "\n" for e in events)


def meta(scenario) -> dict:
    import gymnasium
    import simpy

    return {
        "asyncnigt": __version__, "numpy": np.__version__, "simpy": simpy.__version__,
        "gymnasium": gymnasium.__version__, "python": platform.python_version(),
        "platform": platform.platform(terse=True), "scenario": scenario.name,
        "seed": scenario.seed, "methods": [m.label for m in scenario.methods],
    }


def run_method(scenario, config, problem, streams, theta0, progress=None):
    ctx = build_context(scenario, problem, streams, theta0)
    ctx.progress = progress
    try:
        return simulate(METHODS[config.name], config.params, ctx)
    finally:
        ctx.oracle.close()


def run_scenario(scenario, out: str | Path, report=None, progress=None) -> list[MethodOutcome]:
    """Run all methods; ``report(label, summary, wall)`` is called after each one.

    ``progress(label)``, if given, returns the hook ``(update, virtual_time)`` of that
    method's simulation (e.g. a :class:`~asyncnigt.progress.ProgressBar`); its
    ``close()``, if any, is called when the method ends.
    """
    out = Path(out)
    inputs = build_run(scenario)  # bad problem input fails before any write
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(out)
    try:
        work = Path(tempfile.mkdtemp(dir=out.parent, prefix=_temp_prefix(out, "partial")))
        os.chmod(work, DIR_MODE)
        outcomes = _run_into(scenario, inputs, work, report, progress)
        _replace_dir(work, out)
    except BaseException:  # Ctrl-C may land anywhere, even inside mkdtemp
        _discard_own(out)
        raise
    return outcomes


def _run_into(scenario, inputs, work: Path, report, progress=None) -> list[MethodOutcome]:
    streams, problem, theta0 = inputs
    write_atomic(work / "scenario.yaml", scenario.to_yaml())
    write_atomic(work / "meta.json", json_text(meta(scenario)))
    outcomes = []
    for config in scenario.methods:
        start = time.perf_counter()
        hook = progress(config.label) if progress is not None else None
        try:
            result = run_method(scenario, config, problem, streams, theta0, hook)
        finally:
            if hasattr(hook, "close"):
                hook.close()
        wall = time.perf_counter() - start
        folder = work / config.label
        write_atomic(folder / "metrics.csv", csv_text(result.columns, result.rows))
        if result.events is not None:
            write_atomic(folder / "events.jsonl", events_text(result.events))
        summary = summarize(config.label, config, result, scenario, problem.sense)
        write_atomic(folder / "summary.json", json_text(_finite(summary)))
        outcomes.append(MethodOutcome(config.label, summary, wall))
        if report is not None:
            report(config.label, summary, wall)
    walls = {o.label: round(o.wall_seconds, 3) for o in outcomes}
    write_atomic(work / "wall.json", json_text(walls))
    target_cols = sorted({k for o in outcomes for k in o.summary if k.startswith("time_to_")})
    cols = SUMMARY_COLUMNS + tuple(target_cols)
    table = [[o.summary.get(c) for c in cols] for o in outcomes]
    write_atomic(work / "summary.csv", csv_text(cols, table))
    return outcomes


def _finite(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    return obj


def _replace_dir(work: Path, out: Path) -> None:
    """Move the finished run WORK to OUT. An earlier run at OUT is first moved aside into
    a ``.old-`` directory, which :func:`_discard_own` puts back if interrupted between
    the two renames."""
    if out.exists():
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=_temp_prefix(out, "old")))
        out.rename(old / "run")
        work.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        work.rename(out)
    sys.stdout.flush()


def _temp_prefix(out: Path, kind: str) -> str:
    """``.NAME.partial-HOST-PID-`` (or ``.old-``): names a temporary directory beside OUT
    with the process that owns it, so that a later run can tell when it is stale."""
    return f".{out.name}.{kind}-{socket.gethostname()}-{os.getpid()}-"


def _discard_own(out: Path) -> None:
    """After an interruption: remove every temporary directory this process made beside
    OUT (a half-built run, or an earlier run moved aside, which goes back to OUT first
    when OUT is missing), whichever instruction the interruption landed on."""
    for kind in ("old", "partial"):
        for entry in out.parent.glob(glob.escape(_temp_prefix(out, kind)) + "*"):
            if kind == "old" and not out.exists() and (entry / "run").is_dir():
                (entry / "run").rename(out)
            shutil.rmtree(entry, ignore_errors=True)


def remove_stale(out: Path) -> None:
    """Remove temporary directories of OUT left by killed runs on this host (their
    process no longer exists); those of live processes and other hosts are left alone."""
    host = socket.gethostname()
    for entry in out.parent.glob(f".{glob.escape(out.name)}.*-*"):
        kind, _, rest = entry.name[len(out.name) + 2:].partition("-")
        owner, pid = rest.rsplit("-", 2)[:2] if rest.count("-") >= 2 else ("", "")
        if kind in ("partial", "old") and owner == host and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True
