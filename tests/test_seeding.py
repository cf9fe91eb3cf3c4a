"""Named streams: per-worker generators are made lazily and draw as eager ones would."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import scenario_doc

from asyncnigt.build import build_context, build_problem
from asyncnigt.methods import METHODS
from asyncnigt.scenario import parse_scenario
from asyncnigt.seeding import Streams
from asyncnigt.sim import simulate


def test_per_worker_generators_draw_as_eager_ones_in_any_order():
    streams = Streams(7)
    eager = [streams.generator("oracle", i).random(4).tolist() for i in range(6)]
    lazy = streams.per_worker("oracle", 6)
    order = [3, 0, 5, 1, 4, 2]
    drawn = {i: lazy[i].random(4).tolist() for i in order}
    assert [drawn[i] for i in range(6)] == eager
    again = streams.per_worker("oracle", 6)
    assert again[-1].random(4).tolist() == eager[5]  # negative index: worker 5
    assert len(again) == 6 and len(again[1:4]) == 3 and again[1:4][1] is again[2]
    assert [g.random() for g in streams.per_worker("compute", 3)] == [
        streams.generator("compute", i).random() for i in range(3)]
    with pytest.raises(IndexError):
        again[6]


def test_unknown_stream_name_fails_at_once():
    with pytest.raises(KeyError):
        Streams(0).per_worker("no_such_stream", 3)


def test_streams_that_are_never_drawn_from_make_no_generator(monkeypatch):
    """Fixed communication times and a noise-free oracle draw nothing: a run makes only
    its compute generators (making 10⁴ generators costs about 0.1 s per stream)."""
    made = []
    generator = Streams.generator

    def counting(self, name, index=0):
        made.append(name)
        return generator(self, name, index)

    monkeypatch.setattr(Streams, "generator", counting)
    doc = scenario_doc({"model": "lognormal", "mean": 1.0, "sigma": 0.3},
                       {"name": "rennala_sgd", "batch": 30}, n=50,
                       problem={"kind": "quadratic", "dim": 2, "noise": 0.0},
                       comm={"upload": 0.1, "download": 0.2}, stop={"updates": 5})
    sc = parse_scenario(doc)
    streams = Streams(sc.seed)
    problem = build_problem(sc, streams)
    ctx = build_context(sc, problem, streams, problem.initial_point(np.random.default_rng(0)))
    simulate(METHODS["rennala_sgd"], sc.methods[0].params, ctx)
    assert made.count("compute") == 50
    assert "upload" not in made and "download" not in made and "oracle" not in made
