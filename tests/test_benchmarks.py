"""The engine benchmark's baselines (benchmarks/event_engine.py) do what the simulation
does: each heapq loop must end at the simulation's final virtual time with the same
arrivals, or its speed says nothing. Speed itself is measured by the benchmarks, never
here."""

from __future__ import annotations

import pytest

from asyncnigt.methods import METHODS
from benchmarks import event_engine


@pytest.mark.parametrize("method", ["rennala_sgd", "malenia_sgd", "asgd"])
@pytest.mark.parametrize("n", [10, 60])  # n = 60: rounds large enough for the fast path
def test_heapq_baselines_match_the_simulation(method, n):
    # measure() raises AssertionError when a variant ends elsewhere (the test below)
    r = event_engine.measure(method, n, arrivals=3000, repeats=1, min_rounds=5)
    assert r["arrivals"] >= 1500
    assert ("fast" in r) == (METHODS[method].server == "round")  # the default engine ran too


def test_a_baseline_that_disagrees_is_caught(monkeypatch):
    def off_by_one(sc):
        arrivals, seconds, end = event_engine.run_heapq_rennala(sc)
        return arrivals + 1, seconds, end
    monkeypatch.setitem(event_engine.BASELINES, "rennala_sgd", off_by_one)
    with pytest.raises(AssertionError, match="variants disagree"):
        event_engine.measure("rennala_sgd", 10, arrivals=500, repeats=1, min_rounds=5)
