"""Thread settings (asyncnigt.threads): speed choices that must not change results."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import run_doc, scenario_doc
from threadpoolctl import threadpool_info, threadpool_limits

from asyncnigt import threads
from asyncnigt.sweep import execute


def _blas_threads():
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def test_single_threaded_blas_limits_and_restores():
    before = _blas_threads()
    with threads.single_threaded_blas():
        assert all(t == 1 for t in _blas_threads())
        np.ones((300, 300)) @ np.ones((300, 300))  # BLAS still works
    assert _blas_threads() == before


@pytest.mark.parametrize("value,expected", [("3", 3), ("0", None), ("x", None), ("", None)])
def test_default_threads_reads_the_variable(monkeypatch, value, expected):
    monkeypatch.setenv(threads.THREADS_VARIABLE, value)
    assert threads.default_threads() == (expected or max(1, os.cpu_count() or 1))


def test_sweep_processes_get_a_share_of_the_cores(monkeypatch):
    monkeypatch.delenv(threads.THREADS_VARIABLE, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    with execute._threads_per_process(3):
        assert os.environ[threads.THREADS_VARIABLE] == "2"
    assert threads.THREADS_VARIABLE not in os.environ
    with execute._threads_per_process(16):
        assert os.environ[threads.THREADS_VARIABLE] == "1"
    monkeypatch.setenv(threads.THREADS_VARIABLE, "5")  # the user's choice is kept
    with execute._threads_per_process(3):
        assert os.environ[threads.THREADS_VARIABLE] == "5"
    assert os.environ[threads.THREADS_VARIABLE] == "5"


def test_results_do_not_depend_on_the_blas_threads_outside():
    """Humanoid's observation layer is wide enough for OpenBLAS to split products over
    threads with other roundings (runs differed between 1 and 2 threads before BLAS was
    made single-threaded inside a simulation)."""
    doc = scenario_doc({"per": "step", "preset": "sqrt", "scale": 1.0},
                       {"name": "sync_nigt", "batch": 2, "step_size": 0.03, "momentum": 0.1},
                       n=3, stop={"updates": 3}, every=3, seed=1,
                       problem={"kind": "gym", "env": "Humanoid-v5", "horizon": 60,
                                "eval_episodes": 1})
    runs = []
    for limit in (1, 2):
        with threadpool_limits(limits=limit, user_api="blas"):
            runs.append(run_doc(doc))
    assert runs[0].rows == runs[1].rows
    assert np.array_equal(runs[0].theta, runs[1].theta)
