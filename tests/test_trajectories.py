"""The ``per: step`` trajectory buffer (``sim/trajectories.py``) against the original one.

The original buffer rolled out every committed trajectory (⌈M/n⌉ per worker, then
doubling chunks for a worker that ran out); the current one rolls out only those it
expects to hand out and skips the others with ``Oracle.advance``. Results must be the
same bit for bit: every handed-out trajectory, every gradient sum and the streams'
positions at the next round.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import run_doc, scenario_doc

from asyncnigt.problems.base import GradientBatch, Oracle
from asyncnigt.problems.gym_problem import GymProblem
from asyncnigt.seeding import Streams
from asyncnigt.sim import round_server
from asyncnigt.sim.trajectories import TrajectoryBuffer


class OriginalBuffer:
    """The original buffer (before rollouts were skipped): the reference semantics."""

    def __init__(self, oracle, n: int):
        self.oracle, self.n = oracle, n

    def begin(self, x, M, handed=None):  # handed: a hint the original did not take
        self.x = x
        self.grads, self.steps = [[] for _ in range(self.n)], [[] for _ in range(self.n)]
        self.issued = [0] * self.n
        self._fill(np.repeat(np.arange(self.n), max(1, math.ceil(M / self.n))))

    def _fill(self, workers):
        batch = self.oracle.gradients(np.broadcast_to(self.x, (len(workers), self.x.size)),
                                      workers)
        for w in np.unique(workers).tolist():
            self.grads[w].append(batch.grads[workers == w])
            self.steps[w].extend(batch.steps[workers == w].tolist())

    def next_steps(self, i):
        j = self.issued[i]
        if j == len(self.steps[i]):
            self._fill(np.full(max(1, len(self.steps[i])), i))
        self.issued[i] = j + 1
        return self.steps[i][j]

    gradient_rows = TrajectoryBuffer.gradient_rows


class CountingOracle(Oracle):
    """Per-worker streams consumed row by row: a row draws its steps (1 to 40) and a
    gradient whose values depend on the point. ``draw_only``: ``advance`` draws without
    computing (as the gym oracle does) instead of the default that computes."""

    def __init__(self, n: int, dim: int = 3, draw_only: bool = False):
        self.n_workers, self.dim, self.draw_only = n, dim, draw_only
        self.rngs = Streams(7).per_worker("oracle", n)
        self.calls = self.rows = 0

    def _draw(self, w):
        rng = self.rngs[w]
        return int(rng.integers(1, 41)), rng.standard_normal(self.dim)

    def gradients(self, points, workers):
        self.calls, self.rows = self.calls + 1, self.rows + len(workers)
        draws = [self._draw(int(w)) for w in workers]
        steps = np.array([s for s, _ in draws], dtype=np.int64)
        grads = np.array([g for _, g in draws]).reshape(len(workers), self.dim)
        return GradientBatch(grads=grads * (1.0 + np.asarray(points)), steps=steps)

    def advance(self, worker, rows, point):
        if not self.draw_only:
            return super().advance(worker, rows, point)
        for _ in range(rows):
            self._draw(worker)

    def evaluate(self, theta):
        raise NotImplementedError


class PredrawOracle(CountingOracle):
    """A CountingOracle that hands out its rows' randomness (``draw``), as the gym oracle
    does: the buffer then rolls out beyond the committed counts and carries draws."""

    def draw(self, w):
        return self._draw(w)

    def gradients(self, points, workers, draws=None):
        if draws is None:
            return super().gradients(points, workers)
        self.calls, self.rows = self.calls + 1, self.rows + len(workers)
        steps = np.array([st for st, _ in draws], dtype=np.int64)
        grads = np.array([g for _, g in draws]).reshape(len(workers), self.dim)
        return GradientBatch(grads=grads * (1.0 + np.asarray(points)), steps=steps)


def next_round(buffer, n: int, per_worker: int = 3) -> list:
    """Settle the last round and hand out ``per_worker`` trajectories of every worker in
    a new one: where each worker's stream stands (carried draws included)."""
    buffer.begin(np.zeros(buffer.oracle.dim), 1)
    seen = [buffer.next_steps(i) for _ in range(per_worker) for i in range(n)]
    return seen + [buffer.gradient_rows(np.full(n, per_worker)).tobytes()]


def drive(buffer, seed: int, n: int, rounds: int = 12):
    """Rounds of random hand-outs (skewed towards fast workers, sometimes far beyond the
    doubling chunks) and gradient rows; returns everything the simulation would see."""
    rng = np.random.default_rng(seed)
    seen = []
    for k in range(rounds):
        x = np.full(buffer.oracle.dim, 0.1 * k)
        M = int(rng.integers(1, 4 * n))
        buffer.begin(x, M)
        handed = np.zeros(n, dtype=np.int64)
        weights = 1.0 / np.sqrt(np.arange(1, n + 1))
        for _ in range(int(rng.integers(n, 6 * n))):
            i = int(rng.choice(n, p=weights / weights.sum()))
            seen.append((k, i, buffer.next_steps(i)))
            handed[i] += 1
        counts = rng.integers(0, handed + 1)
        if counts.any():
            seen.append(buffer.gradient_rows(counts).tobytes())
    return seen + next_round(buffer, n)


def drive_synchronous(buffer, seed: int, n: int, rounds: int = 8, settle: bool = True):
    """Synchronous rounds: every worker is handed exactly b trajectories (b random per
    round, passed to ``begin`` as ``handed``) and contributes all of them."""
    rng = np.random.default_rng(seed)
    seen = []
    for k in range(rounds):
        b = int(rng.integers(1, 6))
        buffer.begin(np.full(buffer.oracle.dim, 0.1 * k), b, b)
        for i in rng.permutation(np.repeat(np.arange(n), b)).tolist():
            seen.append((k, i, buffer.next_steps(i)))
        seen.append(buffer.gradient_rows(np.full(n, b)).tobytes())
    return seen + next_round(buffer, n) if settle else seen


@pytest.mark.parametrize("oracle", [CountingOracle, PredrawOracle])
@pytest.mark.parametrize("seed", [0, 1])
def test_synchronous_hint_rolls_out_once_per_round(seed, oracle):
    """With the number handed known in advance, a round is one oracle call, and the
    trajectories, rows and streams are those of the original buffer."""
    n = 4
    ref, new = CountingOracle(n), oracle(n, draw_only=True)
    assert drive_synchronous(TrajectoryBuffer(new, n), seed, n) == \
        drive_synchronous(OriginalBuffer(ref, n), seed, n)
    counted = oracle(n, draw_only=True)
    drive_synchronous(TrajectoryBuffer(counted, n), seed, n, settle=False)
    assert counted.calls == 8


@pytest.mark.parametrize("kind", ["computes", "draws", "predraws"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_trajectories_rows_and_streams_as_the_original(seed, kind):
    """The same trajectories, gradient rows and stream positions as the original buffer,
    whether skipped trajectories are computed or only drawn, and with draws carried
    beyond the committed counts (``predraws``), which also needs fewer calls."""
    n = 5
    ref = CountingOracle(n)
    new = (PredrawOracle if kind == "predraws" else CountingOracle)(n, draw_only=kind != "computes")
    assert drive(TrajectoryBuffer(new, n), seed, n) == drive(OriginalBuffer(ref, n), seed, n)
    if kind != "computes":  # skipped trajectories are not computed: strictly fewer rows
        assert new.rows < ref.rows
    if kind == "predraws":
        capped = CountingOracle(n, draw_only=True)
        drive(TrajectoryBuffer(capped, n), seed, n)
        assert new.calls < capped.calls


def test_advance_consumes_the_stream_as_trajectories_do():
    problem = GymProblem("CartPole-v1", horizon=50, policy={"hidden_sizes": [8]})
    x = problem.initial_point(np.random.default_rng(0))
    rolled, skipped = problem.oracle(Streams(3), 2), problem.oracle(Streams(3), 2)
    a = rolled.gradients(np.broadcast_to(x, (4, x.size)), np.array([1, 1, 1, 1]))
    skipped.advance(1, 3, x)
    b = skipped.gradients(np.broadcast_to(x, (1, x.size)), np.array([1]))
    assert np.array_equal(a.grads[3:], b.grads) and np.array_equal(a.steps[3:], b.steps)


@pytest.mark.parametrize("method", [
    {"name": "rennala_nigt", "batch": 12, "step_size": 0.05, "momentum": 0.2},
    {"name": "malenia_nigt", "batch": 12, "step_size": 0.05, "momentum": 0.2,
     "in_flight": "ignore"},
    {"name": "sync_nigt", "batch": 3, "step_size": 0.05, "momentum": 0.2},
])
def test_runs_equal_the_original_buffer_with_fewer_rollouts(monkeypatch, method):
    """CartPole with per-step timing and heterogeneous speeds: short episodes, fast
    workers running out of their chunks; identical runs, never more rollouts."""
    doc = scenario_doc({"per": "step", "preset": "sqrt", "scale": 1.0}, method, n=4,
                       stop={"updates": 15}, every=5, seed=1,
                       problem={"kind": "gym", "env": "CartPole-v1", "horizon": 60,
                                "policy": {"hidden_sizes": [8]}, "eval_episodes": 2})
    made = {}

    def counting(cls):
        def make(oracle, n):
            calls = made.setdefault(cls.__name__, {"calls": 0, "rows": 0})
            gradients = oracle.gradients

            def counted(points, workers, **draws):
                calls["calls"] += 1
                calls["rows"] += len(workers)
                return gradients(points, workers, **draws)

            oracle.gradients = counted
            return cls(oracle, n)
        return make

    monkeypatch.setattr(round_server, "TrajectoryBuffer", counting(OriginalBuffer))
    ref = run_doc(doc)
    monkeypatch.setattr(round_server, "TrajectoryBuffer", counting(TrajectoryBuffer))
    new = run_doc(doc)
    assert new.status == ref.status == "ok" and new.rows == ref.rows
    assert np.array_equal(new.theta, ref.theta)
    assert made["TrajectoryBuffer"]["rows"] <= made["OriginalBuffer"]["rows"]
