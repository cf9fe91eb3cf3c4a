"""Duration models, duration streams and piecewise speeds.

Moment checks (statistical). Each model draws N = 200 000 samples from a fixed seed and
compares the sample mean with ``mean`` within z·SE, SE = √(var/N) from the analytic
variance, and the sample variance with ``var`` within z·SE, SE = √((m₄ − s⁴)/N) with the
central fourth moment m₄ estimated from the same sample (delta method). z = 4.5: under
the normal approximation a single check fails with probability 2·(1 − Φ(4.5)) = 6.8e-6,
so the 2·10 checks below (10 non-degenerate instances) fail by chance with probability
< 1.4e-4 for a fresh seed; with the fixed seed the outcome is deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from asyncnigt.timing import durations as D
from asyncnigt.timing.speed import PiecewiseSpeed
from asyncnigt.timing.streams import BLOCK, DurationStream

N = 200_000
Z = 4.5

# one or more representative instances per registered model
INSTANCES = {
    "fixed": [D.Fixed(1.7), D.Fixed(0.0)],
    "exponential": [D.Exponential(2.0)],
    "shifted_exponential": [D.ShiftedExponential(0.5, 1.5)],
    "gamma": [D.Gamma(2.5, 0.4), D.Gamma(0.7, 3.0)],
    "lognormal": [D.LogNormal(0.1, 0.5), D.LogNormal.from_mean(2.0, 0.3)],
    "uniform": [D.Uniform(0.5, 3.0)],
    "jitter": [D.Jitter(1.0, 0.5), D.Jitter(0.2, 0.3, "exponential")],
    "trace": [D.Trace((0.5, 1.0, 2.5, 7.0, 0.25))],
}
ALL = [(name, j, m) for name, ms in INSTANCES.items() for j, m in enumerate(ms)]
IDS = [f"{name}-{j}" for name, j, _ in ALL]
STOCHASTIC = [(name, j, m) for name, j, m in ALL if m.var > 0]


def gen(seed=2024):
    return np.random.Generator(np.random.PCG64(seed))


def test_every_registered_model_is_covered():
    assert set(INSTANCES) == set(D.DURATION_MODELS)
    for name, ms in INSTANCES.items():
        assert all(isinstance(m, D.DURATION_MODELS[name]) for m in ms)


@pytest.mark.parametrize("name,j,model", ALL, ids=IDS)
def test_samples_are_non_negative_and_finite(name, j, model):
    x = np.asarray(model.sample(gen(j), 0.0, 20_000), dtype=float)
    assert x.shape == (20_000,)
    assert np.isfinite(x).all()
    if isinstance(model, D.Fixed) and model.value == 0:
        assert (x == 0).all()
    else:
        assert (x > 0).all()
    single = model.sample(gen(j), 0.0)
    assert np.ndim(single) == 0 and float(single) >= 0


@pytest.mark.parametrize("name,j,model", ALL, ids=IDS)
def test_sample_moments_match_mean_and_var(name, j, model):
    x = np.asarray(model.sample(gen(100 + j), 0.0, N), dtype=float)
    if model.var == 0:
        assert (x == model.mean).all()
        return
    mean, var = x.mean(), x.var(ddof=1)
    se_mean = math.sqrt(model.var / N)
    assert abs(mean - model.mean) <= Z * se_mean, (mean, model.mean, se_mean)
    m4 = np.mean((x - mean) ** 4)
    se_var = math.sqrt((m4 - var**2) / N)
    assert abs(var - model.var) <= Z * se_var, (var, model.var, se_var)


def test_closed_form_moments_by_hand():
    g = D.Gamma(2.5, 0.4)
    assert g.mean == pytest.approx(1.0) and g.var == pytest.approx(0.4)
    assert D.LogNormal.from_mean(2.0, 0.3).mean == pytest.approx(2.0, rel=1e-12)
    assert D.Uniform(1.0, 4.0).var == pytest.approx(0.75)
    assert D.ShiftedExponential(1.0, 2.0).mean == 3.0 and D.ShiftedExponential(1.0, 2.0).var == 4.0
    assert D.Jitter(1.0, 1.0).mean == pytest.approx(1 + math.sqrt(2 / math.pi))
    t = D.Trace((1.0, 3.0))
    assert (t.mean, t.var) == (2.0, 1.0)


@pytest.mark.parametrize("bad", [
    lambda: D.Fixed(-1.0), lambda: D.Fixed(math.nan), lambda: D.Exponential(0.0),
    lambda: D.Gamma(0.0, 1.0), lambda: D.Uniform(2.0, 1.0), lambda: D.LogNormal(0.0, -1.0),
    lambda: D.Jitter(1.0, 0.5, "bad"), lambda: D.Trace(()), lambda: D.Trace((1.0, 0.0)),
    lambda: D.Trace((1.0,), "loop"), lambda: D.ShiftedExponential(-1.0, 1.0),
])
def test_invalid_parameters_are_rejected(bad):
    with pytest.raises(ValueError):
        bad()


# ---------------------------------------------------------------- duration streams


@pytest.mark.parametrize("name,j,model", STOCHASTIC, ids=[f"{a}-{b}" for a, b, _ in STOCHASTIC])
def test_stream_block_draws_equal_single_draws(name, j, model):
    """Durations pre-drawn in blocks equal one-at-a-time draws from the same stream,
    across block boundaries and whatever the interleaving of workers."""
    count = 2 * BLOCK + 37
    stream = DurationStream([model, model, model], [gen(1), gen(2), gen(3)])
    rng = np.random.default_rng(5)
    taken = {0: [], 1: [], 2: []}
    while min(len(v) for v in taken.values()) < count:
        i = int(rng.integers(0, 3))
        taken[i].append(stream.take(i, float(len(taken[i]))))
    for i in range(3):
        r = gen(i + 1)
        single = [float(model.sample(r, 0.0)) for _ in range(count)]
        assert taken[i][:count] == single
        block = np.asarray(model.sample(gen(i + 1), 0.0, count), dtype=float).tolist()
        assert taken[i][:count] == block


@pytest.mark.parametrize("name,j,model", STOCHASTIC, ids=[f"{a}-{b}" for a, b, _ in STOCHASTIC])
def test_draws_do_not_depend_on_how_they_are_split(name, j, model):
    """Every model draws sequentially, so consecutive draws of any sizes equal one draw of
    their total: block sizes (the stream's, the read-ahead's) are a speed choice only."""
    sizes = [1, 15, 16, 3, 221, 300, 2]
    r = gen(7)
    split = np.concatenate([np.asarray(model.sample(r, 0.0, k), dtype=float) for k in sizes])
    whole = np.asarray(model.sample(gen(7), 0.0, sum(sizes)), dtype=float)
    assert split.tolist() == whole.tolist()


def test_fixed_and_replay_never_touch_the_generator():
    r0, r1 = gen(9), gen(9)
    before = r0.bit_generator.state
    trace = D.Trace((0.3, 0.1, 0.2), mode="replay")
    stream = DurationStream([D.Fixed(1.25), trace], [r0, r1])
    assert [stream.take(0) for _ in range(5)] == [1.25] * 5
    assert [stream.take(1) for _ in range(7)] == [0.3, 0.1, 0.2, 0.3, 0.1, 0.2, 0.3]
    assert r0.bit_generator.state == before
    assert r1.bit_generator.state == before
    assert stream.take_all() == [1.25, 0.1]
    assert not stream.is_zero()
    assert DurationStream([D.Fixed(0.0)] * 3, [gen(1)] * 3).is_zero()


def test_stream_needs_one_generator_per_model():
    with pytest.raises(ValueError):
        DurationStream([D.Fixed(1.0)] * 2, [gen(1)])


# ------------------------------------------------------------------ piecewise speed


OUT = PiecewiseSpeed.with_outages([(2.0, 5.0), (7.0, 8.0)])  # speed 1, 0 on [2,5) and [7,8)


@pytest.mark.parametrize("start,w,end", [
    (0.0, 1.0, 1.0),  # inside the first segment
    (0.0, 2.0, 2.0),  # ends exactly where the outage starts: the earliest time, not 5
    (0.0, 2.5, 5.5),  # spans the outage
    (1.5, 0.5, 2.0),
    (3.0, 1.0, 6.0),  # starts inside an outage: waits for its end
    (3.0, 0.0, 3.0),  # zero work ends at once, even during an outage
    (2.0, 0.0, 2.0),
    (5.0, 2.0, 7.0),  # starts exactly at an outage end, ends exactly at the next start
    (5.0, 2.25, 8.25),  # spans the second outage
    (7.5, 0.5, 8.5),
    (10.0, 3.0, 13.0),  # after all breakpoints
])
def test_finish_with_outages(start, w, end):
    assert OUT.finish(start, w) == pytest.approx(end, rel=1e-15)


def test_finish_with_speed_segments():
    p = PiecewiseSpeed((0.0, 1.0, 3.0), (2.0, 0.5, 4.0))
    assert p.finish(0.5, 2.0) == pytest.approx(3.0)  # 1 unit at speed 2, 1 at speed 0.5
    assert p.finish(0.0, 2.0) == pytest.approx(1.0)  # ends exactly at a breakpoint
    assert p.finish(2.0, 1.5) == pytest.approx(3.25)
    assert p.finish(0.0, 7.0) == pytest.approx(4.0)
    unit = PiecewiseSpeed((0.0,), (1.0,))
    assert unit.finish(1.2345, 0.987) == 1.2345 + 0.987  # bit for bit the fixed model
    at_zero = PiecewiseSpeed.with_outages([(0.0, 1.5)])
    assert at_zero.finish(0.0, 1.0) == pytest.approx(2.5)
    adjacent = PiecewiseSpeed.with_outages([(1.0, 2.0), (2.0, 3.0)])
    assert adjacent.finish(0.5, 1.0) == pytest.approx(3.5)


@pytest.mark.parametrize("bad", [
    lambda: PiecewiseSpeed((0.0, 1.0), (1.0, 0.0)),  # last speed 0: never finishes
    lambda: PiecewiseSpeed((1.0,), (1.0,)),  # must start at 0
    lambda: PiecewiseSpeed((0.0, 2.0, 1.0), (1.0, 1.0, 1.0)),  # not increasing
    lambda: PiecewiseSpeed((0.0, 1.0), (-1.0, 1.0)),
    lambda: PiecewiseSpeed((0.0, 1.0), (1.0,)),
    lambda: PiecewiseSpeed.with_outages([(1.0, 3.0), (2.0, 4.0)]),  # overlapping
    lambda: PiecewiseSpeed.with_outages([(2.0, 2.0)]),  # empty
])
def test_invalid_profiles_are_rejected(bad):
    with pytest.raises(ValueError):
        bad()


@st.composite
def profiles(draw):
    m = draw(st.integers(1, 5))
    gaps = draw(st.lists(st.floats(0.01, 10.0), min_size=m - 1, max_size=m - 1))
    b = tuple(np.concatenate(([0.0], np.cumsum(gaps))).tolist())
    v = draw(st.lists(st.sampled_from([0.0, 0.25, 1.0, 3.0]) | st.floats(0.01, 5.0),
                      min_size=m, max_size=m))
    v[-1] = max(v[-1], 0.1)
    return PiecewiseSpeed(b, tuple(v))


@settings(deadline=None, max_examples=200)
@given(p=profiles(), start=st.floats(0.0, 40.0), w=st.floats(0.0, 20.0), w2=st.floats(0.0, 20.0))
def test_finish_does_the_work_at_the_earliest_time(p, start, w, w2):
    end = p.finish(start, w)
    assert end >= start
    assert p.work(end) - p.work(start) == pytest.approx(w, rel=1e-9, abs=1e-9)
    # earliest: strictly less work was done by any earlier time
    assume(end > start + 1e-6 and w > 1e-6)
    before = end - 1e-6 * max(1.0, end)
    assert p.work(before) - p.work(start) < w
    # monotone in the amount of work
    end2 = p.finish(start, w2)
    assert end2 >= end if w2 >= w else end2 <= end


def test_untake_gives_the_last_duration_back():
    model = D.Exponential(1.0)
    stream = DurationStream([model, D.Fixed(2.0)], [gen(4), gen(5)])
    first = [stream.take(0) for _ in range(BLOCK)]  # the next take refills the block
    x = stream.take(0)
    stream.untake(0)
    assert stream.take(0) == x
    stream.untake(1)  # fixed durations: nothing to give back
    assert stream.take(1) == 2.0
    rest = [stream.take(0) for _ in range(5)]
    drawn = np.asarray(model.sample(gen(4), 0.0, BLOCK + 6)).tolist()
    assert first + [x] + rest == drawn
