"""Reading runs for analysis: the helpers the notebooks use (no modelling in notebooks).

Runs come from two places and look the same afterwards, a mapping ``label ->``
:class:`MethodRun`:

* :func:`run_doc` runs a scenario document (the python form of a YAML file) in memory,
  exactly as ``asyncnigt run`` does (same streams, same θ_0, a fresh context per method)
  but without writing files; :func:`run_seeds` does it for several seeds;
* :func:`load_run` reads a run directory written by ``asyncnigt run``, and
  :func:`load_sweep` every run directory below a sweep directory
  (``<cell>/seed<k>/``).

Then :func:`round_times`, :func:`time_to_target`, :func:`increments`, :func:`band` and
:func:`describe` turn metrics rows into numbers; :func:`fixed_times` and
:func:`universal_profiles` read the timing inputs of the closed forms of
:mod:`asyncnigt.timing.theory` off a parsed scenario; :func:`complexity` evaluates the
predicted time complexity of a named method (``reference/methods.md`` §6) and
:func:`scale_to` / :func:`loglog_slope` compare shapes.
"""

from __future__ import annotations

import copy
import json
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .build import build_problem, build_run
from .plotting import bands as _bands
from .results import read_csv
from .runner import run_method, summarize
from .scenario import parse_scenario
from .seeding import Streams
from .sweep.stats import quantile  # noqa: F401  (re-exported for notebooks)
from .timing import complexity as time_complexity
from .timing.durations import Fixed

__all__ = [
    "MethodRun", "run_doc", "run_seeds", "run_to_target", "load_run", "load_sweep", "problem_dim",
    "column", "update_times", "round_times", "increments", "time_to_target", "curve",
    "band", "quantile", "describe", "fixed_times", "universal_profiles", "contributors",
    "COMPLEXITY", "complexity", "scale_to", "loglog_slope",
]


@dataclass(frozen=True)
class MethodRun:
    """One method's metrics rows (dicts keyed by the ``metrics.csv`` columns; ``None``
    where a row was not evaluated) and its ``summary.json`` content."""

    label: str
    method: str
    rows: list[dict]
    summary: dict = field(default_factory=dict)

    def column(self, name: str) -> np.ndarray:
        """Column ``name`` of every row as floats (NaN where empty)."""
        return column(self.rows, name)


def _rows(columns, tuples) -> list[dict]:
    width = len(columns)
    return [dict(zip(columns, tuple(r) + (None,) * (width - len(r)), strict=True)) for r in tuples]


def run_doc(doc: dict, *, quiet_warnings: bool = True) -> dict[str, MethodRun]:
    """Validate scenario document ``doc`` and run all its methods in memory.

    Same results as ``asyncnigt run`` (the same code path: ``parse_scenario``,
    ``build_problem``, ``run_method``, ``summarize``), nothing written. With
    ``quiet_warnings`` the heterogeneity ScenarioWarning is silenced (the notebooks run
    count-weighted methods on heterogeneous problems on purpose).
    """
    scenario = parse_scenario(copy.deepcopy(doc))
    with warnings.catch_warnings():
        if quiet_warnings:
            warnings.simplefilter("ignore")
        streams, problem, theta0 = build_run(scenario)
    out = {}
    for config in scenario.methods:
        result = run_method(scenario, config, problem, streams, theta0)
        summary = summarize(config.label, config, result, scenario, problem.sense)
        out[config.label] = MethodRun(config.label, config.name,
                                      _rows(result.columns, result.rows), summary)
    return out


def _seed_task(args):
    doc, out = args
    if out is None:
        return run_doc(doc)
    from .runner import run_scenario  # written exactly as `asyncnigt run --out` does

    out = Path(out)
    resolved = parse_scenario(copy.deepcopy(doc)).to_yaml()
    if (out / "summary.csv").is_file():
        if (out / "scenario.yaml").read_text(encoding="utf-8") != resolved:
            raise ValueError(f"{out} holds a run of a different scenario; use another directory")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run_scenario(parse_scenario(copy.deepcopy(doc)), out)
    return load_run(out)


def run_seeds(doc: dict, seeds, out=None, jobs: int = 1) -> dict[int, dict[str, MethodRun]]:
    """Run ``doc`` once per seed: ``{seed: {label: MethodRun}}``.

    ``out`` None: in memory (:func:`run_doc`). ``out`` a directory: seed k is the run
    directory ``out/seed<k>`` (as ``asyncnigt run`` writes it); a complete one of the
    same scenario is read instead of run again (a cache), one of a different scenario is
    an error. ``jobs`` > 1 runs seeds in that many processes; results are identical
    (every run is determined by its scenario and seed).
    """
    seeds = [int(s) for s in seeds]
    tasks = [({**doc, "seed": s}, None if out is None else Path(out) / f"seed{s}") for s in seeds]
    jobs = max(1, min(int(jobs), len(tasks)))
    if jobs == 1:
        results = [_seed_task(t) for t in tasks]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            results = list(pool.map(_seed_task, tasks))
    return dict(zip(seeds, results, strict=True))


def run_to_target(doc: dict, target: float, column_name: str = "grad_norm", *,
                  time: float, max_time: float, growth: float = 2.0) -> dict[str, MethodRun]:
    """Run every method of ``doc`` with the virtual-time budget ``stop: {time: T}``,
    starting at T = ``time`` and multiplying T by ``growth`` (up to ``max_time``) for the
    methods that have not reached ``target`` yet (see :func:`time_to_target`).

    Each method's results do not depend on the other methods of the scenario (common
    random numbers), so re-running only the unfinished ones gives the same results as one
    run with the final budget, at a cost within a factor growth/(growth − 1) of the
    cheapest budget. A method that never reaches the target keeps its ``max_time`` run.
    """
    if not (time > 0 and max_time >= time and growth > 1):
        raise ValueError("need 0 < time <= max_time and growth > 1")
    methods = [dict(m) for m in doc["methods"]]
    labels = [m.get("label", m["name"]) for m in methods]
    pending, out, budget = list(range(len(methods))), {}, float(time)
    while pending:
        runs = run_doc({**doc, "methods": [methods[j] for j in pending],
                        "stop": {"time": budget}})
        still = []
        for j in pending:
            out[labels[j]] = runs[labels[j]]
            if math.isinf(time_to_target(runs[labels[j]], target, column_name)):
                still.append(j)
        if budget >= max_time:
            break
        pending, budget = still, min(budget * growth, float(max_time))
    return {label: out[label] for label in labels}


def problem_dim(doc: dict) -> int:
    """The parameter dimension d of the scenario's problem (e.g. a policy's size)."""
    scenario = parse_scenario(copy.deepcopy(doc))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return int(build_problem(scenario, Streams(scenario.seed)).dim)


def load_run(path) -> dict[str, MethodRun]:
    """Read a run directory (``summary.csv`` and ``<label>/metrics.csv``,
    ``<label>/summary.json``), methods in the order of ``summary.csv``."""
    path = Path(path)
    _, summary_rows = read_csv(path / "summary.csv")
    out = {}
    for row in summary_rows:
        label = str(row["label"])
        _, rows = read_csv(path / label / "metrics.csv")
        summary_file = path / label / "summary.json"
        summary = (json.loads(summary_file.read_text(encoding="utf-8"))
                   if summary_file.is_file() else row)
        out[label] = MethodRun(label, str(row["method"]), rows, summary)
    return out


_SEED_DIR = re.compile(r"seed(\d+)")


def load_sweep(path) -> dict[str, dict[int, dict[str, MethodRun]]]:
    """Every complete run directory ``<cell>/seed<k>/`` below ``path`` (complete = has
    ``summary.csv``): ``{cell: {seed: {label: MethodRun}}}``, cells and seeds sorted.
    A run directory directly at ``path/seed<k>`` belongs to cell ``""``."""
    path = Path(path)
    found: dict[str, dict[int, dict[str, MethodRun]]] = {}
    for summary in sorted(path.glob("**/summary.csv")):
        run_dir = summary.parent
        m = _SEED_DIR.fullmatch(run_dir.name)
        if m is None or run_dir.name.startswith("."):
            continue
        cell = run_dir.parent.relative_to(path).as_posix()
        cell = "" if cell == "." else cell
        found.setdefault(cell, {})[int(m.group(1))] = load_run(run_dir)
    return {c: dict(sorted(s.items())) for c, s in sorted(found.items())}


# ------------------------------------------------------------------ rows -> numbers


def column(rows, name: str) -> np.ndarray:
    """Column ``name`` of ``rows`` (dicts) as a float array, NaN where empty."""
    return np.array([np.nan if r.get(name) is None else float(r[name]) for r in rows])


def _rows_of(run) -> list[dict]:
    return run.rows if isinstance(run, MethodRun) else run


def update_times(run) -> np.ndarray:
    """Virtual times of updates 1, 2, … (row 0 is the initial point at time 0)."""
    return column(_rows_of(run), "time")[1:]


def round_times(run) -> np.ndarray:
    """Durations of the updates: t_k − t_{k−1} for k = 1, 2, … (t_0 = 0). For round
    methods these are the round times (computation plus aggregation), for stream methods
    the times between arrivals."""
    return np.diff(column(_rows_of(run), "time"))


def increments(run, counter: str) -> np.ndarray:
    """Per-update increments of a cumulative counter (``gradients_used``,
    ``communications``, ``gradients_cancelled``, …)."""
    return np.diff(column(_rows_of(run), counter))


def time_to_target(run, target: float, column_name: str = "grad_norm",
                   sense: str | None = None) -> float:
    """Virtual time of the first evaluated row whose ``column_name`` reaches ``target``;
    ``inf`` if none does. ``grad_norm`` and minimised objectives (``sense="min"``) reach
    it from above (≤), maximised objectives from below (≥). ``sense`` defaults to the
    run's summary (or ``"max"``)."""
    rows = _rows_of(run)
    if sense is None:
        sense = run.summary.get("sense", "max") if isinstance(run, MethodRun) else "max"
    below = column_name == "grad_norm" or sense == "min"
    for row in rows:
        v = row.get(column_name)
        if v is not None and (v <= target if below else v >= target):
            return float(row["time"])
    return math.inf


def curve(run, y: str = "objective", x: str = "time") -> tuple[np.ndarray, np.ndarray]:
    """(x, y) at the evaluated rows of a run (rows where ``y`` is empty are skipped)."""
    rows = [r for r in _rows_of(run) if r.get(y) is not None]
    return column(rows, x), column(rows, y)


def band(curves, points: int = 200, low: float = 0.2, high: float = 0.8):
    """Median and ``low``–``high`` quantile band of step curves across seeds:
    :func:`asyncnigt.plotting.bands.band` (the sweep plots' definition), raising
    ``ValueError`` when every curve is empty. Returns ``(grid, q_low, median, q_high)``."""
    found = _bands.band(curves, points, low, high)
    if found is None:
        raise ValueError("no non-empty curve")
    return found


def describe(values, low: float = 0.2, high: float = 0.8) -> dict[str, float]:
    """``{"low", "median", "high"}`` quantiles of ``values`` (see :func:`quantile`)."""
    return {"low": quantile(values, low), "median": quantile(values, 0.5),
            "high": quantile(values, high)}


# -------------------------------------------------------- scenario -> theory inputs


def _scenario(scenario_or_doc):
    if isinstance(scenario_or_doc, dict):
        return parse_scenario(copy.deepcopy(scenario_or_doc))
    return scenario_or_doc


def fixed_times(scenario_or_doc) -> np.ndarray:
    """τ_i of a scenario whose computation times are fixed (``model: fixed``), in worker
    order: the input of the closed forms of :mod:`asyncnigt.timing.theory`."""
    sc = _scenario(scenario_or_doc)
    if not all(isinstance(m, Fixed) for m in sc.compute):
        raise ValueError("computation times are not fixed")
    return np.array([m.value for m in sc.compute])


def universal_profiles(scenario_or_doc) -> tuple[list, list]:
    """Per-worker (breakpoints, speeds in gradients per second) of a scenario with fixed
    times and ``speed``/``outages`` profiles, ready for
    :func:`asyncnigt.timing.theory.universal_round_ends` (v_i(t) = s_i(t)/τ_i)."""
    sc = _scenario(scenario_or_doc)
    tau = fixed_times(sc)
    speeds = sc.speeds or (None,) * sc.n
    breakpoints, values = [], []
    for t, p in zip(tau, speeds, strict=True):
        if p is None:
            breakpoints.append([0.0])
            values.append([1.0 / t])
        else:
            breakpoints.append(list(p.breakpoints))
            values.append([s / t for s in p.speeds])
    return breakpoints, values


def contributors(run: MethodRun) -> int:
    """Number of workers that contributed at least one gradient to an update."""
    per_worker = run.summary.get("gradients_per_worker")
    if per_worker is None:
        raise ValueError(f"{run.label}: the summary has no gradients_per_worker")
    return int(np.count_nonzero(np.asarray(per_worker) > 0))


# -------------------------------------------------------------- complexity shapes


def _time(x):
    return x.time if isinstance(x, time_complexity.MinOverM) else x


COMPLEXITY = {
    "minibatch_sgd": time_complexity.complexity_minibatch_sgd,
    "asgd": time_complexity.complexity_async_sgd,
    "rennala_sgd": time_complexity.complexity_rennala_sgd,
    "malenia_sgd": time_complexity.complexity_malenia_sgd,
    "sync_pg": time_complexity.complexity_sync_pg,
    "rennala_pg": time_complexity.complexity_rennala_pg,
    "sync_nigt": time_complexity.complexity_sync_nigt,
    "rennala_nigt": time_complexity.complexity_rennala_nigt,
    "malenia_nigt": time_complexity.complexity_malenia_nigt,
    "afedpg": time_complexity.complexity_afedpg,
}
"""Method name -> its time complexity in :mod:`asyncnigt.timing.complexity`. SGD-family
functions take ε for E‖∇f‖² ≤ ε, policy-gradient ones ε for E‖∇J‖ ≤ ε."""


def complexity(method: str, times, eps, **constants) -> float:
    """Predicted time complexity of ``method`` (``reference/methods.md`` §6) with
    per-worker times ``times`` (τ_i or ḣ_i) at accuracy ``eps``; ``constants`` are passed
    on (``L``, ``Delta``, ``sigma``, ``kappa``, … as the theory function accepts).
    Θ-level: compare shapes after :func:`scale_to`."""
    if method not in COMPLEXITY:
        raise KeyError(f"no complexity for {method!r}; known: {', '.join(COMPLEXITY)}")
    return _time(COMPLEXITY[method](times, eps, **constants))


def scale_to(predicted, measured, at: int = 0) -> np.ndarray:
    """``predicted`` multiplied by the constant that makes it equal ``measured`` at
    index ``at`` (the Θ-level constants the tables suppress)."""
    predicted, measured = np.asarray(predicted, float), np.asarray(measured, float)
    return predicted * (measured[at] / predicted[at])


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y against log x (the exponent of a power law)."""
    x, y = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    return float(np.polyfit(x, y, 1)[0])
