"""A ragged read-ahead of every worker's durations, for the round fast path.

:class:`DurationMatrix` draws each worker's next durations from its generator ahead of
the jobs that will use them, exactly as :meth:`DurationStream.take
<asyncnigt.timing.streams.DurationStream.take>` would consume them (every duration model
draws sequentially, so the values do not depend on how the draws are split), so that
:mod:`asyncnigt.sim.fast_round` can gather a whole round's candidate durations at once.
"""

from __future__ import annotations

import numpy as np

from ..timing.streams import BLOCK

ROOM = 64  # a read-ahead region's room beyond a refill (less makes rows compact more often)


class DurationMatrix:
    """Read-ahead of a :class:`DurationStream`, ragged: worker i's next durations are
    ``data[pos[i]:end[i]]`` inside its own region ``data[base[i] : base[i] + room[i]]``
    (``pos`` and ``end`` are absolute indices into ``data``), so a fast worker's long
    windows do not widen every row. Durations are drawn from the worker's generator in
    order: a refill draws what the row lacks, at least ``BLOCK``, in one call (draws are
    sequential, so the values do not depend on how they are split: see
    :mod:`asyncnigt.timing.streams`); a replayed trace's row is refilled by whole cycles;
    a fixed duration's region simply holds the constant. A row without room at its end
    moves its unconsumed durations to the front of its region, or to a region twice as
    large at the end of ``data`` (which is rebuilt, compacted, when full).
    :meth:`hand_back` writes the unconsumed durations back into the stream."""

    def __init__(self, stream, first: np.ndarray | None = None):
        self.stream = stream
        n = self.n = stream.n
        consts = self.const = stream.constants()  # per worker: its fixed duration, or None
        rest = stream.pending()
        self.models, self.rngs = stream.models, stream.rngs
        self.traces = stream.cycles()  # a replayed trace's cycle, None for a drawn row
        self.cycle = [0 if t is None else t.size for t in self.traces]
        fresh = not any(rest) and not any(self.cycle) and consts.count(None) == n
        if fresh:
            first = np.full(n, BLOCK, dtype=np.int64) if first is None else first
            room = np.maximum(first, BLOCK) + ROOM  # a refill of BLOCK fits in place
        else:
            room = [max(BLOCK, c) + ROOM + 2 * len(r)
                    for c, r in zip(self.cycle, rest, strict=True)]
        self.room = np.array(room, dtype=np.int64)
        self.base = np.zeros(n, dtype=np.int64)
        np.cumsum(self.room[:-1], out=self.base[1:])
        self.top = int(self.room.sum())  # data[top:] is free
        self.data = np.empty(2 * self.top)
        self.pos = self.base.copy()
        if fresh:
            # a run's start, all rows drawn from generators: every round starts a job on
            # every worker, so each row draws its first block now (``first``: its size)
            data = self.data
            for b, k, m, rng in zip(self.base.tolist(), first.tolist(), self.models, self.rngs,
                                    strict=True):
                data[b: b + k] = m.sample(rng, 0.0, k)
            self.end = self.base + first
            return
        self.end = self.base.copy()
        for i, r in enumerate(rest):
            if r:
                b = int(self.base[i])
                self.data[b: b + len(r)] = r
                self.end[i] = b + len(r)
        for i in (i for i, c in enumerate(consts) if c is not None):
            b, k = int(self.base[i]), int(self.room[i])
            self.data[b: b + k] = consts[i]
            self.end[i] = b + k

    def next(self, i: int, k: int) -> np.ndarray:
        """Worker i's next ``k`` durations (they must be available: :meth:`ensure`)."""
        return self.data[self.pos[i]: self.pos[i] + k]

    def ensure(self, need: np.ndarray) -> None:
        """Make at least ``need[i]`` durations of every worker i available."""
        short = np.flatnonzero(self.end - self.pos < need)
        if short.size == 0:
            return
        rows = short.tolist()
        p, e, want = self.pos[short].tolist(), self.end[short].tolist(), need[short].tolist()
        base, room = self.base[short].tolist(), self.room[short].tolist()
        cycle, const = self.cycle, self.const
        draws, moved, extra = [], [], 0
        for r, (i, a, b, w) in enumerate(zip(rows, p, e, want, strict=True)):
            if const[i] is not None:
                k, over = 0, w > room[r]
            else:  # draw what the row lacks, at least a block (whole cycles for a replay)
                lack, c = a + w - b, cycle[i]
                k = -(-lack // c) * c if c else (lack if lack > BLOCK else BLOCK)
                over = b - a + k > room[r]
            draws.append(k)
            if over:  # the row needs a larger region
                room[r] = max(2 * room[r], b - a + k + ROOM, w)
                moved.append(r)
                extra += room[r]
        if moved:
            if self.top + extra > self.data.size:
                self._rebuild(self.top + extra)
                p, e = self.pos[short].tolist(), self.end[short].tolist()
                base = self.base[short].tolist()
            for r in moved:  # new regions at the top of data
                base[r], self.top = self.top, self.top + room[r]
        data, models, rngs, traces = self.data, self.models, self.rngs, self.traces
        for r, (i, a, b, k) in enumerate(zip(rows, p, e, draws, strict=True)):
            lo = base[r]
            if const[i] is not None:  # the region holds the constant
                data[lo: lo + room[r]] = const[i]
                p[r], e[r] = lo, lo + room[r]
                continue
            if a < lo or b + k > lo + room[r]:  # moved, or no room at the end: to the front
                data[lo: lo + b - a] = data[a:b]
                b, p[r] = lo + b - a, lo
            c = cycle[i]
            if c:
                for _ in range(k // c):
                    data[b: b + c] = traces[i]
                    b += c
            else:
                data[b: b + k] = models[i].sample(rngs[i], 0.0, k)
                b += k
            e[r] = b
        self.pos[rows], self.end[rows] = p, e
        if moved:
            self.base[rows], self.room[rows] = base, room

    def _rebuild(self, used: int) -> None:
        """A new ``data`` of twice ``used`` values (at least) with the rows' regions packed
        in worker order (live durations copied, free space dropped)."""
        live = self.end - self.pos
        base = np.zeros(self.n, dtype=np.int64)
        np.cumsum(self.room[:-1], out=base[1:])
        top = int(self.room.sum())
        data = np.empty(2 * max(used, top))
        total = int(live.sum())
        if total:
            first = np.repeat(np.cumsum(live) - live, live)
            k = np.arange(total) - first  # rank of each live duration in its row
            data[np.repeat(base, live) + k] = self.data[np.repeat(self.pos, live) + k]
        self.data, self.base, self.top = data, base, top
        self.pos, self.end = base.copy(), base + live

    def advance(self, used: np.ndarray) -> None:
        """Worker i has consumed ``used[i]`` more durations."""
        self.pos += used

    def advance_cancelled(self, counts: np.ndarray, last: int) -> None:
        """A round under ``cancel``: every worker used counts_i + 1 durations (its
        cancelled job's too), except worker ``last``, which ended the round and started
        nothing (``advance(counts + 1 − e_last)`` without the temporary arrays)."""
        pos = self.pos
        pos += counts
        pos += 1
        pos[last] -= 1

    def hand_back(self) -> None:
        """Write the unconsumed read-ahead back into the stream (for event-level rounds)."""
        for i in (i for i, c in enumerate(self.const) if c is None):
            self.stream.set_remaining(i, self.data[self.pos[i]: self.end[i]].tolist())
