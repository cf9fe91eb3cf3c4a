"""Candidate completions of a fast round: per-worker windows laid out as a staircase.

Worker i's candidates are its next L_i completions from its start s_i, the running sums
s_i + d_i1 + … + d_ij, computed with the event-level pool's float operation
(``end = start + d``) one job number at a time for all workers (:class:`Windows`, on the
shape :class:`Layout`). The lengths L_i are predictions (:mod:`asyncnigt.sim.fast_round`):
a window that might hide a selected completion is lengthened (:func:`lengthen`) and the
round recomputed, so they only affect speed.
"""

from __future__ import annotations

import numpy as np

from .read_ahead import DurationMatrix

TAIL_ROWS = 48  # workers below which long windows are summed as one rectangle
ELEMENTS_PER_ADD = 100  # candidates that cost about as much as one numpy call


def lengthen(win, short: np.ndarray, limit: int | None = None) -> np.ndarray:
    """Window lengths for a retry: the ``short`` workers' windows doubled (at most
    ``limit``), the others' as requested before the layout's tail rounded them up (so
    that the rounding does not stick once the lengths are kept from round to round)."""
    longer = 2 * win.lengths if limit is None else np.minimum(2 * win.lengths, limit)
    return np.where(short, longer, win.layout.source)


class Layout:
    """The staircase shape of a set of window lengths (see :class:`Windows`); it depends
    on the lengths only, so rounds with the same window lengths reuse it, with its
    candidate buffer ``flat`` and the views of its blocks."""

    def __init__(self, lengths: np.ndarray):
        n = lengths.size
        self.source = lengths
        rank = np.argsort(-lengths)  # workers, longest windows first (any tie order)
        top = int(lengths[rank[0]])
        # a_j = number of workers with L > j, for j = 0..top-1
        a = n - np.cumsum(np.bincount(lengths, minlength=top + 1)[:top])
        tail = _tail(a)
        if tail < top:
            a[tail:] = a[tail]
            lengths = lengths.copy()
            lengths[rank[: a[tail]]] = top
        self.lengths, self.rank, self.a, self.top, self.tail = lengths, rank, a, top, tail
        self.place = np.empty(n, dtype=np.int64)  # place[worker] = its rank
        self.place[rank] = np.arange(n)
        self.offs = offs = np.zeros(top + 1, dtype=np.int64)
        np.cumsum(a, out=offs[1:])
        total = int(offs[-1])
        self.job0 = job = np.repeat(np.arange(top), a)  # job index (0-based) of each element
        self.pos = pos = np.arange(total) - offs[job]  # rank of its worker
        self.worker = rank[pos]
        self.last_idx = offs[lengths - 1] + self.place  # each worker's last candidate
        self.o, self.a_list = offs.tolist(), a.tolist()
        self.flat = np.empty(total)  # the candidates of the round being computed
        self.idx = np.empty(total, dtype=np.int64)
        o, f = self.o, self.flat
        self.steps = [(f[o[j - 1]: o[j - 1] + k], f[o[j]: o[j] + k])  # jobs j and j + 1
                      for j, k in enumerate(self.a_list[1:tail], 1)]
        self.rectangle = None
        if tail < top:
            r = self.a_list[tail]
            block = self.flat[self.o[tail]:].reshape(top - tail, r)
            prev = self.flat[self.o[tail - 1]: self.o[tail - 1] + r] if tail else None
            self.rectangle = (block, prev)


def _tail(a: np.ndarray) -> int:
    """The job number from which the few workers left (at most ``TAIL_ROWS``) all get the
    longest window, so that their blocks form a rectangle summed by one accumulate
    instead of one small vector addition per job number: the one minimizing a cost of
    one addition per job number before it plus every candidate (the rectangle's padding
    included) at 1/``ELEMENTS_PER_ADD`` of an addition. ``len(a)``: no rectangle."""
    top = a.size
    t = np.arange(top + 1)
    before = np.concatenate(([0], np.cumsum(a)))  # candidates in the blocks before t
    height = np.append(a, 0)
    cost = t + (before + (top - t) * height) / ELEMENTS_PER_ADD
    cost[(height > TAIL_ROWS) | (top - t <= 2)] = np.inf  # rectangles of few rows only
    cost[top] = top + before[top] / ELEMENTS_PER_ADD
    return int(np.argmin(cost))


class Windows:
    """Candidate completions of one round: worker i's next L_i jobs from its start s_i.

    Workers are ranked by decreasing L_i; the completions are stored job-major as a
    staircase: block j (jobs number j + 1) holds the ``a_j`` workers with L_i > j, in rank
    order, at ``flat[off_j : off_j + a_j]``. The running sums are then one vector addition
    per job number, block j-1's prefix plus block j, which is the float operation of the
    event-level pool (``end = start + d``) for every worker at once. ``flat`` is the
    layout's buffer: valid until the next round with the same layout.
    """

    def __init__(self, matrix: DurationMatrix, starts: np.ndarray, layout: Layout,
                 common_start: bool = False):
        self.starts, self.layout = starts, layout
        self.lengths, self.rank, self.place = layout.lengths, layout.rank, layout.place
        self.offs, self.job0, self.pos = layout.offs, layout.job0, layout.pos
        matrix.ensure(layout.lengths)
        idx = layout.idx
        np.take(matrix.pos, layout.worker, out=idx)
        idx += layout.job0
        self.flat = flat = np.take(matrix.data, idx, out=layout.flat, mode="clip")
        a0 = layout.a_list[0]
        if common_start:  # every worker starts at the same instant
            flat[:a0] += starts[0]
        else:
            flat[:a0] += starts[layout.rank]
        for prev, block in layout.steps:
            np.add(prev, block, out=block)
        if layout.rectangle is not None:
            block, prev = layout.rectangle
            if prev is not None:
                block[0] += prev
            np.cumsum(block, axis=0, out=block)

    def locate(self, idx: np.ndarray):
        """Worker and job number (1-based) of the completions ``flat[idx]``."""
        return self.rank[self.pos[idx]], self.job0[idx] + 1

    def count_rows(self, idx: np.ndarray) -> np.ndarray:
        """Per worker, how many of the completions ``flat[idx]`` are its."""
        return np.bincount(self.pos[idx], minlength=self.starts.size)[self.place]

    def value(self, counts: np.ndarray) -> np.ndarray:
        """c_{i, counts_i} for every worker i (job 0 = its start s_i); the job must lie
        within the worker's window."""
        idx = self.offs[np.maximum(counts - 1, 0)] + self.place
        return np.where(counts > 0, self.flat[idx], self.starts)

    def in_flight(self, counts: np.ndarray):
        """Start and end of every worker's job number counts_i + 1."""
        return self.value(counts), self.flat[self.offs[counts] + self.place]

    def job_starts(self, idx: np.ndarray, workers: np.ndarray, jobs: np.ndarray) -> np.ndarray:
        """Start of each completion ``flat[idx]``: the worker's previous one, or s_i."""
        prev = self.offs[np.maximum(jobs - 2, 0)] + self.pos[idx]
        return np.where(jobs > 1, self.flat[prev], self.starts[workers])
