"""Predicted next to measured timing of a run (``asyncnigt theory``): the rows of
``theory.csv`` and the terminal table.

For each method, :func:`compare` puts a :class:`~asyncnigt.theory_predict.Prediction`
next to the update times t_1..t_K of the method's ``metrics.csv``:

* round methods: measured = mean round time of rounds 2..K (round 1 uses M_init; with
  K = 1, round 1 against the predicted first round);
* stream methods: measured arrival rate K / t_K (the predicted Σ_i 1/c_i is a long-run
  rate; the exact check is on the update times themselves);
* ``exact``: ``rel_error`` = max_k |t_k − t̂_k| / t̂_k, check ok when ≤ 1e-9;
* ``bound``: every round after the first within [low, high] (rel 1e-9), the first exact;
* ``mean`` (exponential times): z = (t_K − E t_K) / sd(t_K) from the exact Gamma law
  when the run stopped on a count, or z = (N(T) − ΛT)/√(ΛT) (Poisson) for a stream
  method stopped at time T; |z| > 4 happens with probability 6.3e-5 for a correct
  emulator and is reported, not treated as an error.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .report import format_table
from .results import csv_text, read_csv, write_atomic

REL = 1e-9
Z = 4.0
COLUMNS = (
    "label", "method", "timing", "quantity", "kind", "predicted", "predicted_low",
    "predicted_high", "measured", "rel_error", "z", "check", "predicted_time",
    "measured_time", "updates", "t_star", "m_star", "note",
)
FAILED = ("MISMATCH", "OUT OF BOUND")


def _stopped_by_time(stop, K: int, used: int | None) -> bool:
    """True when the run ended on ``stop.time`` rather than on a count."""
    if stop.time is None:
        return False
    return (stop.updates is None or K < stop.updates) and (
        stop.gradients is None or used is None or used < stop.gradients)


def compare(pred, times: np.ndarray, stop, used: int | None = None) -> dict:
    """One ``theory.csv`` row: ``pred`` against measured update times."""
    row = dict.fromkeys(COLUMNS)
    row.update(label=pred.label, method=pred.method, timing=pred.timing,
               quantity=pred.quantity, kind=pred.kind, t_star=pred.t_star,
               m_star=pred.m_star, note=pred.note, updates=int(times.size))
    if pred.kind == "none":
        row["check"] = "no closed form"
    expected = pred.times(times.size) if pred.kind == "exact" and times.size else None
    if expected is not None and expected.size < times.size:  # universal model, truncated
        row["note"] += f" (first {expected.size} of {times.size} updates compared)"
        times = times[: expected.size]
    K = times.size
    if K == 0:
        row["check"] = row["check"] or "no updates"
        return row
    row["measured_time"] = float(times[-1])
    rounds = np.diff(np.r_[0.0, times])
    if pred.quantity == "round time":
        row["measured"] = float(rounds[1:].mean() if K > 1 else rounds[0])
    else:
        row["measured"] = K / float(times[-1])
    if pred.kind == "none":
        return row
    # the predicted figure: batch-M rounds (the first round when it is the only one)
    single = K == 1 and pred.quantity == "round time"
    if pred.kind == "exact":
        err = float(np.max(np.abs(times - expected) / expected))
        row.update(predicted_time=float(expected[-1]), rel_error=err,
                   check="exact: ok" if err <= REL else "MISMATCH")
        if pred.value is not None:
            row["predicted"] = pred.first if single else pred.value
        else:  # round times vary (universal model): their predicted mean
            d = np.diff(np.r_[0.0, expected])
            row["predicted"] = float(d[1:].mean() if K > 1 else d[0])
    elif pred.kind == "bound":
        later = rounds[1:]
        ok = (abs(rounds[0] - pred.first) <= REL * pred.first
              and np.all(later >= pred.low * (1 - REL)) and np.all(later <= pred.high * (1 + REL)))
        row.update(predicted_low=pred.low, predicted_high=pred.high,
                   check="within bound" if ok else "OUT OF BOUND")
        if single:
            row["predicted"] = pred.first
    else:  # mean
        row["predicted"] = pred.first if single else pred.value
        if pred.count_moments is not None and _stopped_by_time(stop, K, used):
            mean, sd = pred.count_moments(stop.time)
            z = (K - mean) / sd
        elif not _stopped_by_time(stop, K, used):
            mean, sd = pred.moments(K)
            row["predicted_time"] = mean
            z = (times[-1] - mean) / sd
        else:
            z = None
        row["z"] = None if z is None else float(z)
        row["check"] = ("stopped by time: no z" if z is None
                        else f"z = {z:+.2f}" + ("" if abs(z) <= Z else f" (|z| > {Z:g})"))
    return row


def theory_rows(predictions, run_dir: Path, scenario) -> list[dict]:
    """Rows of ``theory.csv`` for a completed run directory."""
    rows = []
    for pred in predictions:
        _, metrics = read_csv(Path(run_dir) / pred.label / "metrics.csv")
        times = np.array([r["time"] for r in metrics if r["update"] != 0], dtype=float)
        used = int(metrics[-1]["gradients_used"]) if metrics else None
        rows.append(compare(pred, times, scenario.stop, used))
    return rows


def predicted_only(predictions, stop) -> list[dict]:
    """Rows without a run (measured columns empty)."""
    return [compare(p, np.empty(0), stop) for p in predictions]


def write_theory_csv(run_dir: Path, rows: list[dict]) -> Path:
    path = Path(run_dir) / "theory.csv"
    write_atomic(path, csv_text(COLUMNS, [[r[c] for c in COLUMNS] for r in rows]))
    return path


def _num(v) -> str:
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.6g}"


def format_theory(rows: list[dict]) -> str:
    """The terminal table, then one line per method without a closed form or with a note."""
    headers = ["method", "timing", "quantity", "predicted", "measured", "check",
               "t_K predicted", "t_K measured", "t*", "m*"]
    table = []
    for r in rows:
        if r["kind"] == "bound" and r["predicted"] is None:
            predicted = f"[{_num(r['predicted_low'])}, {_num(r['predicted_high'])}]"
        else:
            predicted = _num(r["predicted"])
        table.append([r["label"], r["timing"], r["quantity"], predicted, _num(r["measured"]),
                      r["check"], _num(r["predicted_time"]), _num(r["measured_time"]),
                      _num(r["t_star"]), r["m_star"] or "-"])
    lines = [format_table(headers, table)]
    lines += [f"  {r['label']}: {r['note']}" for r in rows if r["note"]]
    return "\n".join(lines)


def any_failed(rows: list[dict]) -> bool:
    """True when an exact prediction or a bound does not hold (an emulator bug)."""
    return any(r["check"] in FAILED for r in rows)
