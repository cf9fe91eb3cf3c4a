"""Shared helpers of the core test suite.

``scenario_doc`` builds a scenario document (the python form of a YAML file),
``run_doc`` validates it with :func:`asyncnigt.scenario.parse_scenario` and runs one of its
methods exactly as the runner does (same streams, same θ_0, fresh context), returning the
metrics rows as dicts, the event trace and the final iterate. Independent brute forces of
the timing predictions live in the test files, not here.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import pytest

from asyncnigt.build import build_run
from asyncnigt.runner import run_method
from asyncnigt.scenario import parse_scenario

EVENT_KEYS = ("worker", "kind", "start", "end", "update")

# for tests that run a heterogeneous problem with count-weighted methods on purpose (the
# ScenarioWarning it gets otherwise fails the test: setup.cfg)
heterogeneous_on_purpose = pytest.mark.filterwarnings("ignore::asyncnigt.errors.ScenarioWarning")


def primes(count: int) -> list[int]:
    """The first ``count`` primes (trial division; count is small)."""
    out: list[int] = []
    k = 2
    while len(out) < count:
        if all(k % p for p in out if p * p <= k):
            out.append(k)
        k += 1
    return out


def sqrt_primes(count: int, scale: float = 1.0) -> list[float]:
    """τ_i = scale·√p_i: distinct, and no j·τ_i equals any k·τ_l (l ≠ i) in exact arithmetic."""
    return [scale * math.sqrt(p) for p in primes(count)]


def scenario_doc(compute, methods, *, n: int | None = None, stop=None, problem=None, comm=None,
                 seed: int = 0, events: int = 0, every: int | None = None,
                 name: str = "t") -> dict:
    """A scenario document. ``compute``: a list of fixed times or a compute mapping;
    ``methods``: a method name, a method mapping, or a list of those."""
    if isinstance(compute, (list, tuple)):
        compute = {"times": [float(t) for t in compute]}
        n = len(compute["times"]) if n is None else n
    if n is None:
        raise ValueError("n is required when compute is not a list of times")
    if not isinstance(methods, list):
        methods = [methods]
    methods = [{"name": m} if isinstance(m, str) else dict(m) for m in methods]
    doc = {
        "name": name,
        "seed": seed,
        "workers": {"n": n, "compute": copy.deepcopy(compute)},
        "problem": problem or {"kind": "quadratic", "dim": 2, "noise": 0.1},
        "methods": methods,
        "stop": stop or {"updates": 5},
    }
    if comm is not None:
        doc["workers"]["comm"] = copy.deepcopy(comm)
    if events:
        doc["output"] = {"events": events}
    if every is not None:
        doc["evaluation"] = {"every": every}
    return doc


@dataclass
class Run:
    scenario: object
    problem: object
    theta0: np.ndarray
    columns: tuple
    rows: list[dict]
    events: list[dict]
    theta: np.ndarray
    status: str
    message: str

    def column(self, name: str) -> np.ndarray:
        return np.array([r[name] for r in self.rows], dtype=float)

    @property
    def times(self) -> np.ndarray:
        """Virtual time of updates 1, 2, … (row 0 is the initial point)."""
        return self.column("time")[1:]

    def events_of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["kind"] == kind]


def run_doc(doc: dict, index: int = 0) -> Run:
    """Validate ``doc`` and run its method number ``index`` as the runner does."""
    scenario = parse_scenario(copy.deepcopy(doc))
    streams, problem, theta0 = build_run(scenario)
    result = run_method(scenario, scenario.methods[index], problem, streams, theta0)
    rows = [dict(zip(result.columns, r + (None,) * (len(result.columns) - len(r)),
                     strict=True))
            for r in result.rows]
    events = [dict(zip(EVENT_KEYS, e, strict=True)) for e in (result.events or [])]
    return Run(scenario, problem, theta0, tuple(result.columns), rows, events,
               np.asarray(result.theta), result.status, result.message)


@pytest.fixture
def run():
    return run_doc
