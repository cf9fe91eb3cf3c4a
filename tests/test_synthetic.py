"""Synthetic problems (asyncnigt.problems.synthetic): the oracle's gradient rows."""

from __future__ import annotations

import numpy as np
import pytest

from asyncnigt.problems.synthetic import Chain, Quadratic
from asyncnigt.seeding import Streams


@pytest.mark.parametrize("problem", [
    Quadratic(6), Quadratic(6, noise=0.3), Chain(6, noise=0.2), Quadratic(6, heterogeneity=1.0),
], ids=["quadratic", "noisy", "chain", "heterogeneous"])
def test_rows_at_one_point_equal_rows_computed_one_by_one(problem):
    """A round's query point broadcast to its rows (stride 0) gives, bit for bit, the
    gradients of the same rows materialized: the oracle computes a broadcast point once."""
    x = np.random.default_rng(0).standard_normal(6) + 0.5  # Chain: some Ψ(x_j) > 0
    workers = np.array([0, 0, 1, 3, 3, 3])

    def gradients(points):
        oracle = problem.oracle(Streams(7), 4)
        return oracle.gradients(points, workers).grads

    rows = np.broadcast_to(x, (workers.size, x.size))
    assert rows.strides[0] == 0
    same = gradients(rows)
    np.testing.assert_array_equal(same, gradients(np.array(rows)))
    assert np.isfinite(same).all() and (same != 0).any()
