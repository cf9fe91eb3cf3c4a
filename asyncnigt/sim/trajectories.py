"""Trajectories handed to jobs in order, for ``per: step`` timing.

With per-step timing a job's duration depends on the steps its trajectory took, so a
trajectory must exist when its job starts. At a round's query point x worker i's j-th
job of the round takes the j-th trajectory of the round from its oracle stream; a
worker's first M_i trajectories are exactly the ones its M_i finished jobs used.

Stream contract (part of the results): in every round worker i's stream advances by
exactly the *committed* count S_i = c·2^m, c = max(1, ⌈M/n⌉), the smallest such number
≥ the trajectories the worker was handed (``TrajectoryBuffer.committed``). It is the count the
original buffer sampled (⌈M/n⌉ each, then doubling chunks for a worker that ran out),
unused ones included, and the next round continues the stream after them.

How the committed trajectories are computed is a performance choice only, since an
oracle's rows never depend on how they are grouped into calls (``problems/base.py``):

* a trajectory is *rolled out* only when it is expected to be used: the first call of
  a round asks, per worker, for as many as it was handed in the previous round
  (:meth:`TrajectoryBuffer._wanted`); a worker that runs out gets more the same way
  (beyond its previous round's count, one per call);
* with an oracle that hands out its rows' randomness (``draw(worker)``, the gym oracle)
  the buffer draws it and passes it to ``gradients(..., draws=)``, so rows may be rolled
  out beyond the committed count: the draws of rows beyond it are *carried* into the
  next round as the worker's next draws (the stream then advances exactly as the
  contract says; measured on per-step Humanoid-v5 Rennala runs, identical results:
  11.2–11.7 s → 10.6–10.9 s at n = 10 and 15.6 s → 14.6 s at n = 100, from fewer,
  larger calls). With other oracles the calls stop at the committed count;
* committed trajectories never handed out are *skipped* when the next round begins:
  carried draws first, then ``Oracle.advance`` consumes their randomness without rolling
  them out (the gym oracle draws their seeds and noise only).

The original buffer rolled out every committed trajectory; on early Humanoid-v5 (short
episodes, fast workers doubling their buffers) about a fifth of its rollout work was
never used.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np


class TrajectoryBuffer:
    """Per-worker trajectories of the current round at point x; see the module docstring.

    ``calls`` and ``rows`` count the oracle calls and rolled-out trajectories (the
    trajectories skipped by ``Oracle.advance`` are not rows)."""

    def __init__(self, oracle, n: int):
        self.oracle, self.n = oracle, n
        self.x = None
        self.previous = None  # trajectories handed to each worker in the previous round
        self.calls = self.rows = 0
        self.predraw = hasattr(oracle, "draw")  # see the module docstring
        self.carry = [deque() for _ in range(n)]  # per worker: its next draws, if carried

    def begin(self, x: np.ndarray, M: int, handed: int | None = None) -> None:
        """Start a round at x: settle the previous round's streams, then roll out the
        trajectories each worker is expected to use (at least one: every worker starts
        a job). ``handed``: the number every worker will be handed when it is known in
        advance (synchronous rounds: b each); the committed counts then start at the
        value the doublings would reach, c·2^m ≥ ``handed``, and all ``handed`` are
        rolled out in this first call (the same rows and stream advance as without it)."""
        self._settle()
        self.x = x
        self.chunk = max(1, math.ceil(M / self.n))
        self.handed = handed
        self.grads: list[list[np.ndarray]] = [[] for _ in range(self.n)]
        self.steps: list[list[int]] = [[] for _ in range(self.n)]
        self.issued = [0] * self.n
        self.drawn = [[] for _ in range(self.n)]  # the randomness of each worker's rows
        committed = self.chunk
        while handed is not None and committed < handed:
            committed *= 2
        self.committed = [committed] * self.n
        self._roll([self._wanted(i) for i in range(self.n)])

    def _wanted(self, i: int) -> int:
        """Trajectories to roll out for worker i now: up to what it was handed in the
        previous round (all committed ones in the first round), at least the next one;
        without ``predraw`` never beyond the committed count (the stream would advance
        further than the contract says)."""
        have = len(self.steps[i])
        if self.handed is not None:
            expected = self.handed
        else:
            expected = self.committed[i] if self.previous is None else self.previous[i]
        wanted = max(have + 1, expected)
        return (wanted if self.predraw else min(self.committed[i], wanted)) - have

    def _roll(self, counts: list[int]) -> None:
        """One oracle call rolling out counts[i] further trajectories of each worker i."""
        workers = np.repeat(np.arange(self.n), counts)
        points = np.broadcast_to(self.x, (len(workers), self.x.size))
        if self.predraw:
            draws = [self._draw(w) for w in workers.tolist()]
            batch = self.oracle.gradients(points, workers, draws=draws)
        else:
            batch = self.oracle.gradients(points, workers)
        self.calls, self.rows = self.calls + 1, self.rows + len(workers)
        for w in np.unique(workers).tolist():
            rows = workers == w
            self.grads[w].append(batch.grads[rows])
            self.steps[w].extend(batch.steps[rows].tolist())

    def _draw(self, i: int):
        """The randomness of worker i's next row: a carried draw, else the oracle's."""
        carry = self.carry[i]
        draw = carry.popleft() if carry else self.oracle.draw(i)
        self.drawn[i].append(draw)
        return draw

    def _settle(self) -> None:
        """End the round for every worker's stream (a no-op before the first round): skip
        its committed trajectories that were never rolled out, or carry the draws of rows
        rolled out beyond them into the next round."""
        if self.x is None:
            return
        for i in range(self.n):
            rolled, committed, carry = len(self.steps[i]), self.committed[i], self.carry[i]
            skipped = committed - rolled
            while skipped > 0 and carry:
                carry.popleft()
                skipped -= 1
            if skipped > 0:
                self.oracle.advance(i, skipped, self.x)
            elif skipped < 0:  # unused draws first, then those still carried
                carry.extendleft(reversed(self.drawn[i][committed:]))
        self.previous = list(self.issued)

    def next_steps(self, i: int) -> int:
        """Steps of worker i's next trajectory (committing and rolling out more when it
        ran out)."""
        j = self.issued[i]
        if j == self.committed[i]:
            self.committed[i] *= 2
        if j == len(self.steps[i]):
            counts = [0] * self.n
            counts[i] = self._wanted(i)
            self._roll(counts)
        self.issued[i] = j + 1
        return self.steps[i][j]

    def gradient_rows(self, counts: np.ndarray) -> np.ndarray:
        """The gradients of the first counts[i] trajectories of every worker i, as rows
        grouped by worker (the layout of ``Aggregation.combine``)."""
        return np.concatenate([
            np.concatenate(self.grads[i])[: counts[i]] for i in np.flatnonzero(counts).tolist()
        ])
