"""The round fast path (asyncnigt.sim.fast_round) against the event-level reference.

Every check is exact: the same scenario run with ``engine: fast`` and ``engine: events``
must give identical metrics rows, event traces and final iterates, and identical
``metrics.csv`` / ``events.jsonl`` bytes. The fast path normally starts at
``FAST_MIN_EVENTS`` jobs per round; here it is forced on for every round so that small
scenarios exercise it. Also: the clock chain and the read-ahead of duration streams.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import run_doc, scenario_doc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncnigt.results import csv_text
from asyncnigt.runner import events_text, run_scenario
from asyncnigt.scenario import parse_scenario
from asyncnigt.sim import clock_replay, fast_round, malenia_replay, read_ahead, round_server
from asyncnigt.timing.durations import Exponential, Fixed, LogNormal, Trace
from asyncnigt.timing.streams import DurationStream


@pytest.fixture(autouse=True)
def always_fast(monkeypatch):
    monkeypatch.setattr(round_server, "FAST_MIN_EVENTS", 0)


def with_engine(doc: dict, engine: str) -> dict:
    doc = copy.deepcopy(doc)
    for m in doc["methods"]:
        m["engine"] = engine
    return doc


def fast_rounds_used(monkeypatch) -> dict:
    """Count the rounds each path runs (to check that the fast path is exercised)."""
    seen = {"fast": 0, "events": 0}
    fast, event = round_server.RoundServer._fast_round, round_server.RoundServer._event_round

    def fast_round(self, M):
        counts = yield from fast(self, M)
        seen["fast"] += counts is not None
        return counts

    def event_round(self, x, M):
        seen["events"] += 1
        return (yield from event(self, x, M))

    monkeypatch.setattr(round_server.RoundServer, "_fast_round", fast_round)
    monkeypatch.setattr(round_server.RoundServer, "_event_round", event_round)
    return seen


def assert_same(doc: dict, index: int = 0):
    fast = run_doc(with_engine(doc, "fast"), index)
    ref = run_doc(with_engine(doc, "events"), index)
    assert fast.status == ref.status and fast.message == ref.message
    assert fast.columns == ref.columns
    assert fast.rows == ref.rows  # exact: times, counters and evaluations
    assert fast.events == ref.events
    # the file texts too (types matter there: SimPy's clock starts at the int 0)
    assert csv_text(fast.columns, [tuple(r.values()) for r in fast.rows]) == \
        csv_text(ref.columns, [tuple(r.values()) for r in ref.rows])
    assert events_text([tuple(e.values()) for e in fast.events]) == \
        events_text([tuple(e.values()) for e in ref.events])
    np.testing.assert_array_equal(fast.theta, ref.theta)
    return fast


# ------------------------------------------------------------------ random scenarios

ROUND_METHODS = ["rennala_sgd", "malenia_sgd", "minibatch_sgd", "rennala_nigt", "sync_nigt"]


def compute_models(n: int):
    fixed_times = st.lists(st.sampled_from([0.25, 0.5, 1.0, 1.5, 2.0, 0.1, 0.3, 0.7]),
                           min_size=n, max_size=n)  # few distinct values: many exact ties
    irrational = st.lists(st.floats(0.05, 5.0), min_size=n, max_size=n)
    return st.one_of(
        fixed_times.map(lambda t: {"times": t}),
        irrational.map(lambda t: {"times": t}),
        st.sampled_from([
            {"model": "exponential", "mean": {"preset": "sqrt", "scale": 0.5}},
            {"model": "lognormal", "mean": {"preset": "linear", "scale": 0.3}, "sigma": 0.8},
            {"model": "gamma", "shape": 2.0, "mean": 1.0},
            {"model": "uniform", "low": 0.5, "high": {"preset": "sqrt", "scale": 1.0}},
            {"model": "shifted_exponential", "shift": 0.2, "mean": 0.5},
            {"model": "jitter", "base": {"preset": "sqrt"}, "jitter": 0.1, "kind": "exponential"},
            {"model": "trace", "samples": [0.5, 1.0, 1.0, 2.0], "mode": "resample"},
            {"model": "trace", "samples": [0.5, 1.0, 1.0, 2.0, 0.25], "mode": "replay"},
        ]),
    )


COMM = st.sampled_from([
    None,
    {"aggregate": 0.1},
    {"aggregate": 0.37},
    {"upload": {"preset": "sqrt", "scale": 0.05}, "aggregate": {"model": "slowest_link"}},
    {"upload": {"model": "exponential", "mean": 0.2}, "download": 0.01,
     "aggregate": {"model": "slowest_link", "over": "contributors"}},
])


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 12))
    method = draw(st.sampled_from(ROUND_METHODS))
    synchronous = method in ("minibatch_sgd", "sync_nigt")
    m = {"name": method, "batch": draw(st.integers(1, 4 if synchronous else 40)),
         "in_flight": draw(st.sampled_from(["cancel", "ignore"])), "step_size": 0.05}
    if draw(st.booleans()):
        m["init_batch"] = draw(st.integers(1, 4 if synchronous else 60))
    return scenario_doc(draw(compute_models(n)), m, n=n, comm=draw(COMM),
                        seed=draw(st.integers(0, 3)), events=draw(st.sampled_from([0, 4, 100])),
                        stop=draw(st.one_of(
                            st.integers(1, 12).map(lambda k: {"updates": k}),
                            st.floats(0.5, 30.0).map(lambda t: {"time": t, "updates": 40}),
                            st.integers(1, 200).map(lambda g: {"gradients": g, "updates": 40}),
                        )),
                        every=draw(st.sampled_from([None, 3])))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_fast_path_equals_event_path(doc):
    assert_same(doc)


# ------------------------------------------------------------------ targeted cases

def test_fast_path_is_used(monkeypatch):
    seen = fast_rounds_used(monkeypatch)
    doc = scenario_doc({"model": "lognormal", "mean": {"preset": "sqrt"}, "sigma": 0.5},
                       {"name": "rennala_sgd", "batch": 50}, n=40, stop={"updates": 6})
    run_doc(doc)
    assert seen == {"fast": 6, "events": 0}


@pytest.mark.parametrize("method", ["rennala_sgd", "malenia_sgd", "minibatch_sgd"])
@pytest.mark.parametrize("in_flight", ["cancel", "ignore"])
@pytest.mark.parametrize("compute", [
    {"model": "lognormal", "mean": {"preset": "sqrt", "scale": 0.1}, "sigma": 0.3},
    {"model": "exponential", "mean": {"preset": "linear", "scale": 0.01}},  # 300× spread
    {"preset": "equal", "scale": 1.0},  # every completion of a wave tied
])
def test_many_workers(method, in_flight, compute, monkeypatch):
    """Windows of many widths, lengthened windows, wide ties, Malenia with M > n."""
    seen = fast_rounds_used(monkeypatch)
    batch = 3 if method == "minibatch_sgd" else (700 if method == "malenia_sgd" else 150)
    doc = scenario_doc(compute, {"name": method, "batch": batch, "in_flight": in_flight,
                                 "init_batch": batch // 3 or 1},
                       n=300, comm={"aggregate": 0.05}, events=3, stop={"updates": 5})
    assert_same(doc)
    assert seen == {"fast": 5, "events": 5}  # the fast run never fell back


@pytest.mark.parametrize("times,batch", [
    ([1.0, 1.0, 1.0], 15),  # Malenia's equality case Σ 1/M_i = n²/M (M_i = 5)
    ([1.0, 2.0, 4.0], 7),
    ([0.5] * 6, 12),
])
def test_malenia_exact_threshold(times, batch):
    assert_same(scenario_doc(times, {"name": "malenia_sgd", "batch": batch}, events=50,
                             stop={"updates": 8}))


@pytest.mark.parametrize("seed", [8, 71, 155])
def test_inexact_clock_steps(seed):
    """Consecutive completions more than a factor 2 apart (heavy-tailed times): SimPy's
    clock now + (end − now) can then differ from ``end`` in floating point, so the
    metrics' times and the ends of cancelled jobs are not the exact completion times;
    the fast path reproduces them (clock_chain, _at). These seeds contain such steps."""
    compute = ({"model": "exponential", "mean": {"preset": "linear", "scale": 1.0}} if seed == 155
               else {"model": "lognormal", "mean": 1.0, "sigma": 2.0})
    doc = scenario_doc(compute, {"name": "rennala_sgd", "batch": 3}, n=4, seed=seed, events=30,
                       stop={"updates": 30}, comm={"aggregate": 0.01})
    run = assert_same(doc)
    found = 0
    for k in range(30):
        last = max(e["end"] for e in run.events if e["kind"] == "used" and e["update"] == k)
        clock = [e["end"] for e in run.events if e["kind"] == "cancelled" and e["update"] == k]
        found += clock[0] != last
    assert found > 0


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_non_finite_durations_fall_back():
    """Durations that overflow: the event path raises at the same instant (and the fast
    path's sizing of its first read-ahead prints no overflow warning)."""
    doc = scenario_doc({"model": "exponential", "mean": 1e308},
                       {"name": "rennala_sgd", "batch": 20}, n=8, events=100, stop={"updates": 30})
    run = assert_same(doc)
    assert run.status == "numerical_error"


def test_speeds_and_per_step_use_events(monkeypatch):
    seen = fast_rounds_used(monkeypatch)
    doc = scenario_doc([1.0, 2.0], {"name": "rennala_sgd", "batch": 4}, stop={"updates": 3})
    doc["workers"]["compute"]["outages"] = [{"workers": [0], "start": 1.5, "end": 4.0}]
    assert_same(doc)
    assert seen["fast"] == 0


def test_files_identical(tmp_path):
    """metrics.csv, events.jsonl and summary files byte for byte (summary.json repeats the
    method's parameters, engine included)."""
    compute = {"model": "lognormal", "mean": {"preset": "sqrt", "scale": 0.2}, "sigma": 0.4}
    doc = scenario_doc(compute,
                       [{"name": "rennala_sgd", "batch": 30, "label": "r"},
                        {"name": "malenia_sgd", "batch": 30, "label": "m", "in_flight": "ignore"},
                        {"name": "minibatch_sgd", "batch": 2, "label": "s"}],
                       n=25, comm={"aggregate": 0.1}, events=5, stop={"updates": 10})
    outs = {}
    for engine in ("fast", "events"):
        sc = parse_scenario(with_engine(doc, engine))
        run_scenario(sc, tmp_path / engine)
        outs[engine] = tmp_path / engine
    for label in ("r", "m", "s"):
        for name in ("metrics.csv", "events.jsonl"):
            a = (outs["fast"] / label / name).read_bytes()
            assert a == (outs["events"] / label / name).read_bytes(), (label, name)
        fast, ref = ((outs[e] / label / "summary.json").read_text() for e in ("fast", "events"))
        assert fast == ref.replace('"engine": "events"', '"engine": "fast"')  # the only difference
    summaries = [(outs[e] / "summary.csv").read_bytes() for e in ("fast", "events")]
    assert summaries[0] == summaries[1]


# ------------------------------------------------------------------ building blocks

@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1e3), st.lists(st.floats(0, 1e6), min_size=1, max_size=40),
       st.integers(-8, 8))
def test_clock_chain(t0, steps, scale):
    ends = np.cumsum(np.asarray([t0] + steps) * 10.0**scale)[1:]
    t0 *= 10.0**scale
    now = t0
    for e in ends.tolist():
        now = now + (e - now)
    assert clock_replay.clock_chain(t0, ends) == now


def test_clock_chain_inexact():
    rng = np.random.default_rng(0)
    for _ in range(300):
        t0 = float(rng.uniform(0, 1) * 10.0 ** rng.integers(-6, 3))
        ends = np.sort(rng.uniform(0, 1, 20) * 10.0 ** rng.integers(-3, 6)) + t0
        now = t0
        for e in ends.tolist():
            now = now + (e - now)
        assert clock_replay.clock_chain(t0, ends) == now


def stream_and_takes(models, seed: int, takes: int):
    """A fresh stream of ``models`` (worker i's generator seeded ``seed + i``) and, per
    worker, the first ``takes`` durations an identical stream's take() returns."""
    def stream():
        return DurationStream(models, [np.random.default_rng(seed + i)
                                       for i in range(len(models))])

    ref = stream()
    return stream(), [[ref.take(i) for _ in range(takes)] for i in range(len(models))]


@pytest.mark.parametrize("model", [
    Exponential(1.0), LogNormal(0.0, 0.5), Trace((1.0, 2.0, 3.0), "resample"),
    Trace((1.0, 2.0, 3.0, 4.0, 5.0), "replay"), Fixed(2.5),
])
def test_matrix_reads_like_take(model):
    """The read-ahead consumes each worker's stream exactly as take() does, and a hand
    back leaves the stream where take() would be."""
    n = 3
    s, ref_draws = stream_and_takes([model] * n, 0, 700)
    for i in range(n):
        s.take(i)  # start mid-block
    m = read_ahead.DurationMatrix(s)
    used = np.zeros(n, dtype=np.int64)
    rng = np.random.default_rng(1)
    for _ in range(20):
        step = rng.integers(0, 30, n)
        m.ensure(step + 5)
        for i in range(n):
            got = m.next(i, step[i] + 5).tolist()
            assert got == ref_draws[i][1 + used[i]: 1 + used[i] + step[i] + 5]
        m.advance(step)
        used += step
    m.hand_back()
    for i in range(n):
        assert [s.take(i) for _ in range(50)] == ref_draws[i][1 + used[i]: 51 + used[i]]


def test_matrix_first_blocks_read_like_take():
    """First blocks of any size (one, a few, beyond ``BLOCK``) then refills: every row
    reads like take(), and a hand back leaves the stream where take() would be."""
    models = [LogNormal(0.0, 0.5), Exponential(2.0), LogNormal(1.0, 0.1)]
    n = len(models)
    s, ref_draws = stream_and_takes(models, 20, 3000)
    m = read_ahead.DurationMatrix(s, np.array([1, 7, 300]))
    assert (m.end - m.pos).tolist() == [1, 7, 300]
    used = np.zeros(n, dtype=np.int64)
    for step in ([0, 0, 0], [1, 5, 100], [40, 3, 250], [700, 900, 1]):
        need = np.array(step) + 2
        m.ensure(need)
        for i in range(n):
            assert m.next(i, need[i]).tolist() == ref_draws[i][used[i]: used[i] + need[i]]
        m.advance(np.array(step))
        used += step
    m.hand_back()
    for i in range(n):
        assert [s.take(i) for _ in range(50)] == ref_draws[i][used[i]: used[i] + 50]


def test_first_blocks_follow_the_run():
    """The first read-ahead blocks are sized from the stop rule (speed only: the
    equality tests above run with them): a short Rennala run at n = 1000 draws far fewer
    than ``BLOCK`` per slow worker, more for the fastest; a very long one draws the
    budget in all; a run without a bound draws ``BLOCK`` each."""
    from asyncnigt.sim.engine import StopRule

    n, M = 1000, 500
    means = np.sqrt(np.arange(1, n + 1))

    def blocks(stop, aggregation="rennala"):
        s = DurationStream([LogNormal.from_mean(t, 0.3) for t in means],
                           [np.random.default_rng(i) for i in range(n)])
        return fast_round.FastRounds(s, aggregation, "cancel", stop, M).matrix

    m = blocks(StopRule(updates=20))
    first = m.end - m.pos
    # fixed-time counts: the fastest worker ~17 per round, the slowest none (its job in
    # flight only): E = 20 × 18 and 20 × 1
    assert first[0] == int(360 + 3 * np.sqrt(360) + 16)
    assert first[-1] == int(20 + 3 * np.sqrt(20) + 16) < fast_round.BLOCK
    budget = max(fast_round.BLOCK * n, fast_round.FIRST_BUDGET)
    m = blocks(StopRule(time=1e9))  # far beyond the budget: scaled down to it
    first = m.end - m.pos
    assert budget - n <= first.sum() <= budget and first[0] > 10 * first[-1]
    # Malenia waits for the latest first completion (≈ τ_max + √(2 ln n) sd ≈ 2.1 τ_max
    # here): its slowest worker completes about twice a round, plus the job in flight
    m = blocks(StopRule(updates=20), "malenia")
    assert (m.end - m.pos)[-1] == int(60 + 3 * np.sqrt(60) + 16)
    for unbounded in (StopRule(), None):
        m = blocks(unbounded, "malenia")
        assert ((m.end - m.pos) == fast_round.BLOCK).all()


def test_matrix_grows_for_long_windows():
    """Windows longer than the read-ahead's regions, constant and random rows mixed: the
    rows move to larger regions and every row still reads like take()."""
    models = [Fixed(0.5), LogNormal(0.0, 0.5), Fixed(2.0)]
    s = DurationStream(models, [np.random.default_rng(i) for i in range(3)])
    ref = DurationStream(models, [np.random.default_rng(i) for i in range(3)])
    m = read_ahead.DurationMatrix(s)
    need = np.array([3000, 1500, 5000])
    m.ensure(need)
    for i in range(3):
        assert m.next(i, need[i]).tolist() == [ref.take(i) for _ in range(need[i])]



def test_matrix_regions_move_and_rebuild():
    """Needs that jump by orders of magnitude move rows to larger regions and rebuild the
    data array several times; every row reads like take() throughout, and after a hand
    back the stream goes on where take() would be."""
    models = [Fixed(0.5), LogNormal(0.0, 0.5), Trace((1.0, 2.0, 3.0), "replay"),
              Exponential(2.0), LogNormal(1.0, 0.1)]
    n = len(models)
    s, ref_draws = stream_and_takes(models, 10, 30_000)
    m = read_ahead.DurationMatrix(s)
    used = np.zeros(n, dtype=np.int64)
    rng = np.random.default_rng(3)
    rebuilds = 0
    for _ in range(60):
        size = m.data.size
        need = rng.integers(0, 3, n) * 10 ** rng.integers(0, 4, n)
        m.ensure(need)
        rebuilds += m.data.size != size
        for i in range(n):
            assert m.next(i, need[i]).tolist() == ref_draws[i][used[i]: used[i] + need[i]]
        step = (need * rng.random(n)).astype(np.int64)
        m.advance(step)
        used += step
    assert rebuilds >= 2
    m.hand_back()
    for i in range(n):
        assert [s.take(i) for _ in range(300)] == ref_draws[i][used[i]: used[i] + 300]


def test_malenia_exact_replay_fallback(monkeypatch):
    """When the quick Malenia stop cannot decide a float test it defers to the exact
    replay of every arrival; force that path and compare with the event level."""
    monkeypatch.setattr(fast_round, "malenia_quick", lambda *a: malenia_replay.AMBIGUOUS)
    doc = scenario_doc({"model": "lognormal", "mean": {"preset": "sqrt"}, "sigma": 0.5},
                       {"name": "malenia_sgd", "batch": 30}, n=12, stop={"updates": 6})
    assert_same(doc)
    assert_same(scenario_doc([1.0, 1.0, 1.0], {"name": "malenia_sgd", "batch": 15},
                             stop={"updates": 6}))
