"""asyncnigt.analysis: running and reading runs for the notebooks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from asyncnigt import analysis as an
from asyncnigt.runner import run_scenario
from asyncnigt.scenario import parse_scenario
from asyncnigt.timing import complexity as cx
from asyncnigt.timing import theory as th

TAU = [1.0, math.sqrt(2), math.sqrt(3), 2.0]


def doc(methods=None, *, stop=None, compute=None, seed=0, problem=None, comm=None):
    d = {
        "name": "an", "seed": seed,
        "workers": {"n": 4, "compute": compute or {"times": TAU}},
        "problem": problem or {"kind": "quadratic", "dim": 3, "noise": 0.5},
        "methods": methods or [{"name": "rennala_sgd", "batch": 5, "step_size": 0.2},
                               {"name": "asgd", "step_size": 0.05}],
        "stop": stop or {"updates": 6},
    }
    if comm is not None:
        d["workers"]["comm"] = comm
    return d


def same_runs(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for label in a:
        assert a[label].method == b[label].method
        assert len(a[label].rows) == len(b[label].rows)
        for ra, rb in zip(a[label].rows, b[label].rows, strict=True):
            assert ra == pytest.approx(rb, rel=0, abs=0)


def test_run_doc_equals_what_run_scenario_writes(tmp_path):
    d = doc()
    memory = an.run_doc(d)
    run_scenario(parse_scenario(d), tmp_path / "run")
    disk = an.load_run(tmp_path / "run")
    same_runs(memory, disk)
    for label in memory:
        assert memory[label].summary["updates"] == disk[label].summary["updates"]
        key = "gradients_per_worker"
        assert memory[label].summary[key] == disk[label].summary[key]


def test_round_times_increments_and_contributors():
    runs = an.run_doc(doc([{"name": "rennala_sgd", "batch": 5}], comm={"aggregate": 0.5}))
    run = runs["rennala_sgd"]
    expected = th.rennala_round_time(TAU, 5) + 0.5
    assert an.round_times(run) == pytest.approx([expected] * 6, rel=1e-12)
    assert an.update_times(run) == pytest.approx(np.cumsum(an.round_times(run)))
    assert an.increments(run, "communications").tolist() == [1.0] * 6
    assert an.increments(run, "gradients_used").tolist() == [5.0] * 6
    assert an.contributors(run) == int(np.count_nonzero(th.rennala_round_counts(TAU, 5)))
    assert run.column("time")[0] == 0.0


def test_time_to_target_and_curve():
    rows = [{"time": 0.0, "grad_norm": 3.0, "objective": 1.0},
            {"time": 1.0, "grad_norm": None, "objective": None},
            {"time": 2.0, "grad_norm": 0.9, "objective": 5.0},
            {"time": 3.0, "grad_norm": 0.5, "objective": 4.0}]
    assert an.time_to_target(rows, 1.0) == 2.0           # grad_norm: from above
    assert an.time_to_target(rows, 0.1) == math.inf
    assert an.time_to_target(rows, 4.5, "objective") == 2.0          # max: from below
    assert an.time_to_target(rows, 4.5, "objective", sense="min") == 0.0
    x, y = an.curve(rows, "objective")
    assert x.tolist() == [0.0, 2.0, 3.0] and y.tolist() == [1.0, 5.0, 4.0]
    assert np.isnan(an.column(rows, "grad_norm")[1])


def test_quantile_with_infinities():
    assert an.quantile([3.0, 1.0, 2.0], 0.5) == 2.0
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    for q in (0.2, 0.5, 0.8):
        assert an.quantile(values, q) == pytest.approx(float(np.quantile(values, q)))
    assert an.quantile([1.0, 2.0, math.inf], 0.5) == 2.0
    assert an.quantile([1.0, 2.0, math.inf], 0.8) == math.inf
    assert an.quantile([1.0, math.inf, math.inf], 0.5) == math.inf
    assert math.isnan(an.quantile([], 0.5))
    assert an.describe([1.0, 2.0, 3.0]) == {"low": 1.4, "median": 2.0, "high": 2.6}


def test_band_is_stepwise_quantiles_over_seeds():
    curves = [([0.0, 1.0, 2.0], [0.0, 1.0, 2.0]),
              ([0.0, 1.5, 3.0], [10.0, 20.0, 30.0]),
              ([0.0, 0.5, 2.5], [5.0, 6.0, 7.0])]
    grid, low, mid, high = an.band(curves, points=5)
    assert grid.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]  # up to the shortest curve
    # at x = 1.0 the seeds hold 1, 10, 6 (step interpolation)
    assert mid[2] == 6.0
    assert low[2] == pytest.approx(np.quantile([1.0, 10.0, 6.0], 0.2))
    assert high[2] == pytest.approx(np.quantile([1.0, 10.0, 6.0], 0.8))
    with pytest.raises(ValueError):
        an.band([])


def test_run_seeds_memory_disk_cache_and_processes(tmp_path):
    d = doc()
    memory = an.run_seeds(d, [0, 3])
    assert list(memory) == [0, 3]
    same_runs(memory[3], an.run_doc({**d, "seed": 3}))
    on_disk = an.run_seeds(d, [0, 3], out=tmp_path / "runs", jobs=2)
    for seed in (0, 3):
        assert (tmp_path / "runs" / f"seed{seed}" / "summary.csv").is_file()
        same_runs(memory[seed], on_disk[seed])
    # a second call reads the complete runs instead of running them again
    stamp = (tmp_path / "runs" / "seed0" / "summary.csv").stat().st_mtime_ns
    again = an.run_seeds(d, [0], out=tmp_path / "runs")
    same_runs(again[0], memory[0])
    assert (tmp_path / "runs" / "seed0" / "summary.csv").stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="different scenario"):
        an.run_seeds({**d, "stop": {"updates": 7}}, [0], out=tmp_path / "runs")


def test_load_sweep_layout(tmp_path):
    d = doc()
    an.run_seeds(d, [0, 1], out=tmp_path / "sweep" / "step=0.1")
    an.run_seeds(d, [2], out=tmp_path / "sweep" / "step=0.2")
    (tmp_path / "sweep" / "step=0.2" / ".seed9.partial-x").mkdir()  # ignored
    found = an.load_sweep(tmp_path / "sweep")
    assert list(found) == ["step=0.1", "step=0.2"]
    assert list(found["step=0.1"]) == [0, 1] and list(found["step=0.2"]) == [2]
    assert list(an.load_sweep(tmp_path / "sweep" / "step=0.1")) == [""]


def test_run_to_target_matches_one_long_run():
    methods = [{"name": "rennala_sgd", "batch": 4, "step_size": 0.5},
               {"name": "asgd", "step_size": 0.05},
               {"name": "asgd", "label": "never", "step_size": 1e-6}]
    d = doc(methods, problem={"kind": "quadratic", "dim": 3, "noise": 0.1})
    target = 0.05
    runs = an.run_to_target(d, target, time=2.0, max_time=64.0)
    long = an.run_doc({**d, "stop": {"time": 64.0}})
    assert list(runs) == ["rennala_sgd", "asgd", "never"]
    for label in runs:
        assert an.time_to_target(runs[label], target) == an.time_to_target(long[label], target)
    assert math.isfinite(an.time_to_target(runs["asgd"], target))
    assert an.time_to_target(runs["never"], target) == math.inf
    assert an.update_times(runs["never"])[-1] <= 64.0
    with pytest.raises(ValueError):
        an.run_to_target(d, target, time=2.0, max_time=1.0)


def test_fixed_times_and_universal_profiles():
    d = doc(compute={"preset": "sqrt", "scale": 2.0,
                     "outages": [{"workers": [0], "start": 1.0, "end": 4.0}],
                     "speed": [{"workers": [2], "breakpoints": [0, 3], "speeds": [1, 0.5]}]})
    tau = an.fixed_times(d)
    assert tau == pytest.approx(2.0 * np.sqrt([1, 2, 3, 4]))
    breakpoints, speeds = an.universal_profiles(d)
    assert breakpoints[0] == [0.0, 1.0, 4.0] and speeds[0] == pytest.approx([0.5, 0.0, 0.5])
    assert breakpoints[1] == [0.0] and speeds[1] == pytest.approx([1 / tau[1]])
    assert speeds[2] == pytest.approx([1 / tau[2], 0.5 / tau[2]])
    run = an.run_doc({**d, "methods": [{"name": "rennala_sgd", "batch": 3}],
                      "stop": {"time": 30.0}})["rennala_sgd"]
    ends = an.update_times(run)
    expected = th.universal_round_ends(breakpoints, speeds, 3, ends.size)
    assert ends == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ValueError):
        an.fixed_times(doc(compute={"model": "exponential", "mean": 1.0}))


def test_complexity_dispatch_and_shapes():
    tau = np.sqrt(np.arange(1, 17))
    assert an.complexity("rennala_sgd", tau, 0.1) == cx.complexity_rennala_sgd(tau, 0.1).time
    assert an.complexity("afedpg", tau, 0.1, kappa=2.0) == cx.complexity_afedpg(tau, 0.1, kappa=2.0)
    assert set(an.COMPLEXITY) >= {"rennala_nigt", "malenia_nigt", "sync_nigt", "afedpg",
                                  "rennala_sgd", "minibatch_sgd", "asgd"}
    with pytest.raises(KeyError):
        an.complexity("nope", tau, 0.1)
    assert an.scale_to([1.0, 2.0, 4.0], [3.0, 0.0, 0.0]).tolist() == [3.0, 6.0, 12.0]
    assert an.scale_to([1.0, 2.0], [0.0, 8.0], at=1).tolist() == [4.0, 8.0]
    n = np.array([1.0, 4.0, 16.0, 64.0])
    assert an.loglog_slope(n, 3 * n**0.5) == pytest.approx(0.5)


def test_problem_dim():
    assert an.problem_dim(doc()) == 3
