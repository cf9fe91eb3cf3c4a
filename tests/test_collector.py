"""The garbage collector's thresholds during a simulation (asyncnigt.sim.collector)."""

from __future__ import annotations

import gc

import pytest

from asyncnigt.sim import collector


@pytest.fixture
def thresholds():
    old = gc.get_threshold()
    yield
    gc.set_threshold(*old)


@pytest.mark.parametrize("before", [(700, 10, 10), (200_000, 5, 1000)])
def test_raised_inside_and_restored(thresholds, before):
    gc.set_threshold(*before)
    with collector.fewer_collections():
        inside = gc.get_threshold()
    assert inside == tuple(max(a, b) for a, b in zip(before, collector.THRESHOLDS, strict=True))
    assert gc.get_threshold() == before


def test_restored_after_an_error(thresholds):
    gc.set_threshold(700, 10, 10)
    with pytest.raises(RuntimeError), collector.fewer_collections():
        raise RuntimeError
    assert gc.get_threshold() == (700, 10, 10)


def test_automatic_collection_off_stays_off(thresholds):
    gc.set_threshold(0)
    with collector.fewer_collections():
        assert gc.get_threshold()[0] == 0
    assert gc.get_threshold()[0] == 0
