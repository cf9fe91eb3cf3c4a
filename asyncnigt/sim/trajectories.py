"""Trajectories handed to jobs in order, for ``per: step`` timing.

With per-step timing a job's duration depends on the steps its trajectory took, so
trajectories must exist before their jobs end. At a round's query point x each worker
gets a buffer of gradients sampled in batches (first ⌈M/n⌉ each, in one call for all
workers, then doubling chunks for workers that run out); its j-th job of the round takes
the j-th trajectory. A worker's first M_i trajectories are exactly the ones its M_i
finished jobs used.
"""

from __future__ import annotations

import math

import numpy as np


class TrajectoryBuffer:
    def __init__(self, oracle, n: int):
        self.oracle, self.n = oracle, n

    def begin(self, x: np.ndarray, M: int) -> None:
        self.x = x
        self.grads: list[list[np.ndarray]] = [[] for _ in range(self.n)]
        self.steps: list[list[int]] = [[] for _ in range(self.n)]
        self.issued = [0] * self.n
        chunk = max(1, math.ceil(M / self.n))
        self._fill(np.repeat(np.arange(self.n), chunk))

    def _fill(self, workers: np.ndarray) -> None:
        batch = self.oracle.gradients(np.broadcast_to(self.x, (len(workers), self.x.size)), workers)
        for w in np.unique(workers).tolist():
            rows = workers == w
            self.grads[w].append(batch.grads[rows])
            self.steps[w].extend(batch.steps[rows].tolist())

    def next_steps(self, i: int) -> int:
        """Steps of worker i's next trajectory (sampling more when it ran out)."""
        j = self.issued[i]
        if j == len(self.steps[i]):
            self._fill(np.full(max(1, len(self.steps[i])), i))
        self.issued[i] = j + 1
        return self.steps[i][j]

    def sums(self, counts: np.ndarray) -> np.ndarray:
        """Per-worker sums of the first counts[i] trajectories' gradients (contributors)."""
        return np.stack([
            np.concatenate(self.grads[i])[: counts[i]].sum(axis=0)
            for i in np.flatnonzero(counts).tolist()
        ])
