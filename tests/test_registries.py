"""Registries: every named method runs, every problem kind (but gym) builds."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import run_doc, scenario_doc

from asyncnigt.build import build_problem
from asyncnigt.errors import ScenarioWarning
from asyncnigt.method_params import METHOD_PARAMS
from asyncnigt.methods import METHODS
from asyncnigt.problems import PROBLEMS
from asyncnigt.scenario import parse_scenario
from asyncnigt.seeding import Streams
from asyncnigt.sim.recorder import COUNTER_COLUMNS

COLUMNS = (*COUNTER_COLUMNS, "objective", "grad_norm")
COUNTERS = ("gradients_used", "gradients_computed", "gradients_cancelled", "communications",
            "comm_time")


def method_entry(name):
    entry = {"name": name, "step_size": 0.05}
    if "max_delay" in METHODS[name].params:
        entry["max_delay"] = 2
    if "batch" in METHODS[name].params and METHODS[name].aggregation != "synchronous":
        entry["batch"] = 5
    return entry


def test_method_specs_are_consistent():
    for name, spec in METHODS.items():
        assert spec.name == name
        assert spec.server in ("round", "stream")
        assert (spec.aggregation is None) == (spec.server == "stream")
        assert set(spec.params) <= set(METHOD_PARAMS), name
        assert "step_size" in spec.params


@pytest.mark.parametrize("heterogeneity", [0.0, 1.0], ids=["homogeneous", "heterogeneous"])
@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_runs_with_random_timing(name, heterogeneity):
    K = 8
    doc = scenario_doc(
        {"model": "lognormal", "mean": [0.5, 1.0, 1.7, 3.1], "sigma": 0.4}, method_entry(name),
        n=4, seed=5, stop={"updates": K}, events=K,
        problem={"kind": "quadratic", "dim": 3, "noise": 0.2, "heterogeneity": heterogeneity},
        comm={"upload": {"model": "exponential", "mean": 0.05},
              "download": {"model": "uniform", "low": 0.01, "high": 0.03},
              "aggregate": {"model": "slowest_link"}})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScenarioWarning)
        run = run_doc(doc)
    # warned of exactly for the methods that weight workers by their gradient counts (all
    # but Malenia's and the synchronous aggregation, which weight every worker equally)
    weighted = heterogeneity > 0 and METHODS[name].aggregation not in ("malenia", "synchronous")
    assert [str(w.message).startswith("the problem is heterogeneous") for w in caught
            if w.category is ScenarioWarning] == ([True] if weighted else [])
    assert run.status == "ok", run.message
    assert run.columns == COLUMNS
    assert [r["update"] for r in run.rows] == list(range(K + 1))
    for r in run.rows:
        for c in COLUMNS:
            assert r[c] is not None and math.isfinite(r[c]), (c, r)
    assert np.all(np.diff(run.column("time")) >= 0)
    assert run.times[0] > 0
    for c in COUNTERS:
        assert np.all(np.diff(run.column(c)) >= 0), c
    used = run.column("gradients_used")
    assert used[-1] >= K and used[-1] <= run.column("gradients_computed")[-1]
    assert np.isfinite(run.theta).all() and run.theta.shape == (3,)
    assert not np.array_equal(run.theta, run.theta0)
    assert {e["kind"] for e in run.events} >= {"used"}
    if METHODS[name].server == "round":
        assert run.column("communications").tolist() == list(range(K + 1))
        assert run.column("comm_time")[-1] > 0


def minimal_params(kind):
    return {
        "quadratic": {"dim": 3},
        "chain": {"dim": 3},
        "lqr": {"state_dim": 2, "action_dim": 2, "horizon": 4},
    }[kind]


KINDS = sorted(k for k in PROBLEMS if k != "gym")


def test_every_problem_kind_is_covered():
    assert {"quadratic", "chain", "lqr"} <= set(KINDS)
    for kind in KINDS:
        minimal_params(kind)  # a new kind needs an entry here


@pytest.mark.parametrize("kind", KINDS)
def test_problem_builds_and_gradients_have_the_right_shape(kind):
    n = 3
    doc = scenario_doc([1.0, 2.0, 3.0], "rennala_sgd",
                       problem={"kind": kind, **minimal_params(kind)}, stop={"updates": 2})
    sc = parse_scenario(doc)
    streams = Streams(sc.seed)
    problem = build_problem(sc, streams)
    theta0 = problem.initial_point(streams.generator("init"))
    d = problem.dim
    assert theta0.shape == (d,) and np.isfinite(theta0).all()
    assert problem.sense in ("min", "max")
    oracle = problem.oracle(streams, n)
    try:
        workers = np.array([0, 2, 1, 2, 0])
        points = theta0 + 0.01 * np.random.default_rng(0).standard_normal((5, d))
        batch = oracle.gradients(points, workers)
        assert batch.grads.shape == (5, d)
        assert np.isfinite(batch.grads).all()
        assert np.asarray(batch.steps).shape == (5,) and (np.asarray(batch.steps) >= 1).all()
        one = oracle.gradients(np.broadcast_to(theta0, (1, d)), np.array([1]))
        assert one.grads.shape == (1, d)
        ev = oracle.evaluate(theta0)
        assert ev.objective is not None and math.isfinite(ev.objective)
    finally:
        oracle.close()
    run = run_doc(doc)
    assert run.status == "ok" and len(run.rows) == 3
