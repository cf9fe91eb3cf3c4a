"""The round fast path: a whole round's timing from pre-drawn durations, in numpy.

Within a round of a Rennala, Malenia or synchronous method every worker computes
gradients back to back from its start time s_i, so its j-th completion is the sequential
sum c_ij = s_i + d_i1 + … + d_ij of its next durations (the same float additions as the
event-level pool, ``end = start + d``, done one job number at a time for all workers, or
by ``np.cumsum``, which accumulates in order). The event-level path
(:mod:`asyncnigt.sim.pool`) processes completions in the order of the tie rule, i.e. by
(c_ij, i, j) lexicographically; this module selects the same completions without one
event per gradient:

* **Rennala** (stop at the M-th arrival): the M-th smallest of the candidate completions
  (``np.partition``), ties at that value broken by (worker, job);
* **Malenia** (stop when every M_i ≥ 1 and Σ 1/M_i ≤ n²/M): the tracker of
  :mod:`asyncnigt.aggregation.malenia` is replayed in bulk. Before the last worker's
  first completion it only accumulates, so the counts there are per-worker counts; later
  completions below a horizon are sorted and the tracker's float sum Σ 1/M_i follows as
  one ``np.cumsum`` of the per-arrival increments; wherever the tracker re-checks exactly
  (``math.fsum`` and rationals at equality) the same check is made. While that float sum
  is known only up to its rounding bound, a test closer to the threshold than the bound
  falls back to replaying every arrival in order with the tracker's exact operations
  (:meth:`FastRounds._malenia_stop`), so the decision is the tracker's in every case;
* **synchronous** (b per worker): every worker's first b completions; the round ends at
  the largest.

Candidates are per-worker windows of the next L_i durations (L_i predicted from the
duration means and the last round, then kept from round to round while every worker
starts with the round, and re-checked every ``RECHECK_EVERY`` rounds);
a worker whose window might hide a selected completion gets a longer window and the
selection is redone, so predictions only affect speed. Windows are gathered from
:class:`DurationMatrix`, a ragged read-ahead (one region per worker) of the method's
:class:`~asyncnigt.timing.streams.DurationStream` that consumes each worker's durations
exactly as ``take`` would: after a round a worker has used one draw per started job
(the processed ones and, except for the worker that ended the round and idle workers, the
in-flight one; under ``ignore`` a job that had not started at the round's end gives its
draw back, as ``untake`` does).

The virtual clock is reproduced too: SimPy sets ``now`` to ``armed_at + (end − armed_at)``
where the pool armed its timeout at the previous processed completion, which in floating
point is not always ``end``; :func:`clock_chain` replays that chain over the processed
completions (vectorized, with a scalar loop only where a step is inexact), and
:func:`sterbenz_clock` skips it (and the sort) when every step is provably exact.

Most rounds take a lean path: under ``cancel`` without event records, when the round's
last arrival is not tied with another candidate (Rennala: :func:`_rennala_distinct`;
Malenia: the last worker's first completion), the counts come from one ``bincount`` and
the outcome from :meth:`FastRounds._cancel_round`; every other case takes the general
path with the full tie order.

Valid when durations are read ahead of time: no ``per: step`` timing (durations depend on
trajectories), no speed profiles, only stationary (or fixed, or replayed) duration models.
The round server checks this (:func:`applicable`) and otherwise runs the event-level
path, which stays the reference (method parameter ``engine: events``). A round whose
started jobs include a non-finite duration, or whose windows would grow beyond
:data:`MAX_WINDOW` values, is handed back to the event-level path, which then raises the
same :class:`~asyncnigt.sim.recorder.NumericalError` at the same instant (or runs as before).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np

from ..aggregation.malenia import _harmonic_ok
from ..timing import theory
from ..timing.streams import BLOCK

MAX_WINDOW = 50_000_000  # candidate durations of one round beyond which the events path runs
TAIL_ROWS = 48  # workers below which long windows are summed as one rectangle
ELEMENTS_PER_ADD = 100  # candidates that cost about as much as one numpy call
RECHECK_EVERY = 16  # rounds between checks that kept window lengths are not too long
SHRINK = 1.5  # kept lengths this many times the predicted ones are replaced by those
ROOM = 64  # a read-ahead region's room beyond a refill (less makes rows compact more often)
FIRST_MARGIN = 3.0  # a worker's first read-ahead block: E + FIRST_MARGIN·√E + FIRST_EXTRA
FIRST_EXTRA = 16  # for E expected draws in the run (FastRounds._first_blocks), at most
FIRST_BUDGET = 1 << 21  # max(BLOCK·n, FIRST_BUDGET) in all (16 MB of durations for n ≤ 8192)
FIRST_MAX_BATCH = 100_000  # larger batches keep first blocks of BLOCK
_AMBIGUOUS = object()  # Malenia: float sums too close to call without the exact replay


def applicable(ctx, pool_speeds) -> bool:
    """Whether the fast path reproduces the event-level path for this context."""
    return (not ctx.per_step and pool_speeds is None and hasattr(ctx.compute, "supports_blocks")
            and ctx.compute.supports_blocks())


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


def clock_chain(t0: float, ends: np.ndarray) -> float:
    """The virtual time after processing the completions ``ends`` (sorted) from ``t0``,
    as SimPy computes it: now ← now + (end − now) at each step."""
    if ends.size == 0:
        return t0
    start = 0
    now = t0
    while True:
        e = ends[start:]
        prev = np.empty_like(e)
        prev[0] = now
        prev[1:] = e[:-1]
        bad = np.flatnonzero(prev + (e - prev) != e)
        if bad.size == 0:
            return float(ends[-1])
        k = start + int(bad[0])
        # steps before k were exact, so now == ends[k-1] (or t0 when k == start)
        now = float(ends[k - 1]) if k > start else now
        for x in ends[k:].tolist():
            now = now + (x - now)
            k += 1
            if now == x:  # back on the exact track: vectorize again from the next one
                break
        else:
            return now
        start = k
        if start == ends.size:
            return now


def sterbenz_clock(t0: float, top: float, values) -> float:
    """:func:`clock_chain` over the sorted processed completions, whose maximum is ``top``
    and which ``values()`` returns unsorted; the sort is skipped when every ``end`` lies
    in [t0, 2·t0] with t0 > 0: each step's difference end − now is then exact (Sterbenz's
    lemma) and so is now + (end − now) = end, so the clock ends at ``top``."""
    if t0 > 0 and top <= 2 * t0:
        return float(top)
    return clock_chain(t0, np.sort(values()))


def _lengthen(win, short: np.ndarray, limit: int | None = None) -> np.ndarray:
    """Window lengths for a retry: the ``short`` workers' windows doubled (at most
    ``limit``), the others' as requested before the layout's tail rounded them up (so
    that the rounding does not stick once the lengths are kept from round to round)."""
    longer = 2 * win.lengths if limit is None else np.minimum(2 * win.lengths, limit)
    return np.where(short, longer, win.layout.source)


def _rennala_distinct(win, M: int):
    """Rennala's M-th arrival when it is unambiguous: every candidate finite and no other
    candidate equal to the M-th smallest v, so the tie order plays no part and the M
    earliest are the candidates ≤ v. Returns (per-worker counts of the M earliest, their
    mask in ``flat``, the ``flat`` index of the M-th), or None (the caller then breaks ties
    in full). ``np.partition`` (values only) and masks: cheaper than ``argpartition``."""
    flat = win.flat
    if not math.isfinite(flat.max()):
        return None
    v = np.partition(flat, M - 1)[M - 1]
    at = np.flatnonzero(flat == v)
    if at.size != 1:
        return None
    chosen = flat <= v
    return np.bincount(win.layout.worker[chosen], minlength=win.starts.size), chosen, int(at[0])


@dataclass
class RoundOutcome:
    """What one round did."""

    time: float  # virtual time of the arrival that ended the round (SimPy's value)
    counts: np.ndarray  # gradients each worker contributed
    computed: int  # completions processed
    cancelled: int  # busy workers stopped (``cancel``)
    finishing: list  # ends of the jobs discarded under ``ignore`` (they complete later)
    available: list | None  # next round's earliest start per worker (``ignore``), else None
    events: list | None  # the event-level path's records of this round, in order


class _Layout:
    """The staircase shape of a set of window lengths (see :class:`_Windows`); it depends
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


class _Windows:
    """Candidate completions of one round: worker i's next L_i jobs from its start s_i.

    Workers are ranked by decreasing L_i; the completions are stored job-major as a
    staircase: block j (jobs number j + 1) holds the ``a_j`` workers with L_i > j, in rank
    order, at ``flat[off_j : off_j + a_j]``. The running sums are then one vector addition
    per job number, block j-1's prefix plus block j, which is the float operation of the
    event-level pool (``end = start + d``) for every worker at once. ``flat`` is the
    layout's buffer: valid until the next round with the same layout.
    """

    def __init__(self, matrix: DurationMatrix, starts: np.ndarray, layout: _Layout,
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

    def value(self, counts: np.ndarray, offset: int) -> np.ndarray:
        """c_{i, counts_i + offset} for every worker i (job 0 = its start s_i); the job
        must lie within the worker's window."""
        j = counts + offset
        idx = self.offs[np.maximum(j - 1, 0)] + self.place
        return np.where(j > 0, self.flat[idx], self.starts)

    def in_flight(self, counts: np.ndarray):
        """Start and end of every worker's job number counts_i + 1."""
        place = self.place
        end = self.flat[self.offs[counts] + place]
        start = np.where(counts > 0, self.flat[self.offs[np.maximum(counts - 1, 0)] + place],
                         self.starts)
        return start, end

    @property
    def last(self) -> np.ndarray:
        """Each worker's last candidate completion."""
        return self.value(self.lengths, 0)

    def job_starts(self, idx: np.ndarray, workers: np.ndarray, jobs: np.ndarray) -> np.ndarray:
        """Start of each completion ``flat[idx]``: the worker's previous one, or s_i."""
        prev = self.offs[np.maximum(jobs - 2, 0)] + self.pos[idx]
        return np.where(jobs > 1, self.flat[prev], self.starts[workers])


class FastRounds:
    """Rounds of one method computed in numpy (see the module docstring)."""

    def __init__(self, stream, aggregation: str, in_flight: str, stop=None,
                 batch: int | None = None):
        self.n = stream.n
        self.aggregation, self.in_flight = aggregation, in_flight
        self.means = np.array([m.mean for m in stream.models], dtype=float)
        with np.errstate(divide="ignore"):
            positive = self.means > 0
            self.rates = np.where(positive, 1.0 / np.where(positive, self.means, 1.0), np.inf)
        with np.errstate(over="ignore", invalid="ignore"):  # a non-finite estimate: None
            first = self._first_blocks(stream.models, stop, batch)
        self.matrix = DurationMatrix(stream, first)
        self.previous = np.zeros(self.n)
        self._same_start = np.empty(self.n)  # the starts of a round that all begin at t0
        self.handed_back = False
        self._available = (None, None)  # (list given by the last outcome, its array)
        self._lengths = (None, None)  # (M, window lengths that worked) when all start together
        self._layout = None  # the last _Layout built
        self.span = (None, 0.0)  # (M, virtual duration) of the last fast round
        self._M = None  # the batch of the round being computed

    # -- bookkeeping with the event-level path ------------------------------------------
    def hand_back(self) -> None:
        """Give the stream its state back before an event-level round (the next fast
        round takes it over again)."""
        if not self.handed_back:
            self.matrix.hand_back()
            self.handed_back = True

    # -- one round ----------------------------------------------------------------------
    def round(self, t0: float, available, M: int, k: int, with_events: bool):
        """Simulate the round starting at ``t0`` with batch ``M`` (worker i free from
        ``available[i]``, or from ``t0`` when ``available`` is None); ``None`` when the
        event-level path must run it instead."""
        if self.handed_back:
            self.matrix = DurationMatrix(self.matrix.stream)
            self.handed_back = False
        if available is None:
            starts = self._same_start
            starts.fill(t0)
        else:
            given, array = self._available
            array = array if available is given else np.asarray(available, dtype=float)
            starts = np.maximum(t0, array)
        self._common, self._M = available is None, M
        if self.aggregation == "synchronous":
            return self._synchronous(t0, starts, M, k, with_events)
        if self._common and self._lengths[0] == M:
            lengths = self._lengths[1]  # the windows of the last round: usually long enough
            if k % RECHECK_EVERY == 1:  # after the first round, then now and then
                lengths = self._recheck(t0, M, lengths, grow=k == 1)
        else:
            lengths = self._predict(t0, None if self._common else starts, M)
        if self.aggregation == "rennala":
            return self._rennala(t0, starts, lengths, M, k, with_events)
        return self._malenia(t0, starts, lengths, M, k, with_events)

    def _recheck(self, t0, M, kept, grow: bool) -> np.ndarray:
        """Kept window lengths against a prediction from the last round: replaced by it
        when ``SHRINK`` times longer in total; with ``grow`` (after the first round, whose
        windows had only the mean rates to go by) lengthened to it where shorter."""
        fresh = self._predict(t0, None, M)
        if SHRINK * fresh.sum() < kept.sum():
            return fresh
        if grow and (fresh > kept).any():
            return np.maximum(kept, fresh)
        return kept

    def _predict(self, t0, starts, M) -> np.ndarray:
        """Window lengths from the mean rates over the expected round span (at least the
        last round's) and the previous round's counts (speed only: a window too short is
        detected and lengthened)."""
        n, rates = self.n, self.rates
        if self.aggregation == "rennala":
            total = rates.sum()
            span = M / total if total > 0 else 0.0
        else:  # malenia: every worker once, and the harmonic condition at mean rates
            span = max(float(self.means.max()), M * float(self.means.sum()) / (n * n))
        if self.span[0] == M:
            span = max(span, self.span[1])
        start = t0 if starts is None else starts
        with np.errstate(invalid="ignore"):
            expected = rates * np.maximum(0.0, t0 + span - start)
        expected[~np.isfinite(expected)] = M  # free workers (mean 0)
        guess = np.maximum(expected, self.previous)
        lengths = (1.2 * guess + np.sqrt(guess) + 2).astype(np.int64)
        if self.aggregation == "rennala":
            np.minimum(lengths, M + 1, out=lengths)  # a worker contributes at most M
        return lengths

    def _first_blocks(self, models, stop, M: int | None) -> np.ndarray | None:
        """Each worker's first read-ahead block, sized for the whole run when the stop rule
        ``stop`` (a :class:`~asyncnigt.sim.engine.StopRule`) and the batch ``M`` bound it.

        Estimates, at the mean times τ_i:

        * a round's time T and per-worker counts c_i: Rennala's closed forms of
          :mod:`asyncnigt.timing.theory` (T = max_i c_i τ_i); synchronous b each and
          b·max τ_i; Malenia at least the expected latest first completion, about
          max_i τ_i + √(2 ln n)·sd_i (the maximum of n normals; it waits for every
          worker), with c_i = ⌊T/τ_i⌋;
        * the run's rounds: the fewest its limits allow (time over T, without
          communication, so rather too many);
        * worker i's draws: E_i = rounds × (c_i + 1) (the +1: the job in flight at the
          round's end).

        Worker i draws E_i + ``FIRST_MARGIN``·√E_i + ``FIRST_EXTRA``, all scaled down to
        ``max(BLOCK·n, FIRST_BUDGET)`` durations in total when they add up to more. None
        (``BLOCK`` each) without a bound, with a mean that is not positive, an estimate
        that is not finite, or for M > ``FIRST_MAX_BATCH`` (Rennala's closed form sorts
        about M completions: 12 ms at M = 10⁵, n = 1000).

        Speed only, since draws do not depend on how they are split. ``BLOCK`` durations
        per worker, as the event-level stream draws them, are mostly wasted in short runs
        at large n (100 Rennala rounds at n = 10000, S = 1000 use about 110 per worker),
        and cost a refill every ``BLOCK`` durations in longer ones."""
        tau = self.means
        if (stop is None or M is None or M > FIRST_MAX_BATCH
                or not (np.isfinite(tau).all() and (tau > 0).all())):
            return None
        if self.aggregation == "synchronous":
            per_round = np.full(self.n, M, dtype=np.int64)
            span = float(tau.max()) * M
        elif self.aggregation == "rennala":
            counts = theory.rennala_round_counts(tau, M)
            span = float(np.max(counts * tau))
            per_round = counts + 1
        else:
            # Malenia waits for every worker's first gradient: with random durations the
            # latest of n first completions, about max_i τ_i + √(2 ln n)·sd_i
            sd = np.sqrt([m.var for m in models])
            span = max(theory.malenia_round_time(tau, M),
                       float(np.max(tau + math.sqrt(2 * math.log(self.n)) * sd)))
            per_round = np.floor(span / tau) + 1
        gradients = int(per_round.sum()) if self.aggregation == "synchronous" else M
        rounds = [r for r in (stop.updates,
                              None if stop.gradients is None else stop.gradients / gradients,
                              None if stop.time is None else stop.time / span)
                  if r is not None]
        if not rounds or not (math.isfinite(span) and np.isfinite(per_round).all()):
            return None
        expected = min(rounds) * per_round
        want = expected + FIRST_MARGIN * np.sqrt(expected) + FIRST_EXTRA
        budget = max(BLOCK * self.n, FIRST_BUDGET)
        total = float(want.sum())
        if total > budget:  # scaled down to the budget
            want *= budget / total
        return np.maximum(want, 1).astype(np.int64)

    def _windows(self, starts, lengths, M) -> _Windows:
        """The round's candidates for these window lengths (None beyond ``MAX_WINDOW``);
        remembers the lengths, so that the next round with the same M (and everyone
        starting together) reuses them and their layout."""
        layout = self._layout
        if layout is None or layout.source is not lengths:
            if int(lengths.sum()) > MAX_WINDOW:
                return None
            layout = self._layout = _Layout(lengths)
        if self._common:
            self._lengths = (M, lengths)
        return _Windows(self.matrix, starts, layout, self._common)

    def _rennala(self, t0, starts, lengths, M, k, with_events):
        lean = not with_events and self.in_flight == "cancel"
        while True:
            win = self._windows(starts, lengths, M)
            if win is None:
                return None
            flat = win.flat
            if M > flat.size:
                lengths = np.minimum(2 * win.lengths, M + 1)
                continue
            found = _rennala_distinct(win, M) if lean else None
            if found is not None:  # the common case: no tie at the M-th arrival
                counts, chosen, iv = found
                if (counts >= win.lengths).any():
                    lengths = _lengthen(win, counts >= win.lengths, M + 1)
                    continue
                last_worker = int(win.layout.worker[iv])
                return self._cancel_round(t0, counts, last_worker, flat[iv],
                                          partial(np.compress, chosen, flat), M)
            v = np.partition(flat, M - 1)[M - 1]
            if not math.isfinite(v):
                return None
            below = np.flatnonzero(flat < v)
            tied = np.flatnonzero(flat == v)
            need = M - below.size
            if tied.size > 1:
                tw, tj = win.locate(tied)
                tied = tied[np.lexsort((tj, tw))]
            picked = np.concatenate((below, tied[:need]))
            counts = win.count_rows(picked)
            saturated = counts >= win.lengths
            if saturated.any():
                lengths = _lengthen(win, saturated, M + 1)
                continue
            last_worker = int(win.rank[win.pos[tied[need - 1]]])
            if with_events:
                return self._finish(t0, win, counts, last_worker, k, picked=picked)
            ordered = np.concatenate((np.sort(flat[below]), np.full(need, v)))
            return self._finish(t0, win, counts, last_worker, k, ordered=ordered)

    def _malenia(self, t0, starts, lengths, M, k, with_events):
        n = self.n
        threshold = (n * n / M) * (1 + 1e-9)  # the tracker's float test, verbatim
        while True:
            win = self._windows(starts, lengths, M)
            if win is None:
                return None
            last = win.flat[win.layout.last_idx]
            if not math.isfinite(last.max()):  # sums: then every candidate is finite
                return None  # a non-finite duration ahead: the event path decides
            horizon = last.min()
            if not with_events:
                found = self._malenia_quick(win, horizon, n, M, threshold)
                if found is None:  # the stop lies beyond the windows: lengthen them
                    lengths = self._reach(win, t0, last, horizon)
                    continue
                if found is not _AMBIGUOUS:
                    counts, last_worker, values, top = found
                    if self.in_flight == "cancel":
                        return self._cancel_round(t0, counts, last_worker, top, values,
                                                  int(counts.sum()))
                    return self._finish(t0, win, counts, last_worker, k,
                                        ordered=np.sort(values()))
            inside = np.flatnonzero(win.flat < horizon)
            w, j = win.locate(inside)
            order = np.lexsort((j, w, win.flat[inside]))
            w, j, inside = w[order], j[order], inside[order]
            q = self._malenia_stop(w, j, n, M, threshold)
            if q is not None:
                counts = np.bincount(w[: q + 1], minlength=n)
                return self._finish(t0, win, counts, int(w[q]), k, picked=inside[: q + 1],
                                    sorted_=(w[: q + 1], j[: q + 1]), with_events=with_events)
            lengths = self._reach(win, t0, last, horizon)

    def _reach(self, win, t0, last, horizon) -> np.ndarray:
        """Malenia's windows for a retry when its stop lies beyond them: the windows that
        end before a target time are stretched in proportion to the time they must cover
        (by 1.25 at least). The target is 1.25·c from t0 when some window ends before
        the last worker's first completion c, else 1.5 times the current horizon (the
        earliest last candidate)."""
        n = self.n
        top = float(win.flat[:n].max())  # block 1 holds every worker's first job
        if math.isfinite(top) and top >= horizon:
            target = t0 + 1.25 * (top - t0)
        else:
            target = t0 + 1.5 * max(horizon - t0, float(self.means.min()), 1e-300)
        starts = win.starts
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = (target - starts) / (last - starts)
        factor = np.where(np.isfinite(factor), np.clip(factor, 1.25, 64.0), 2.0)
        longer = np.ceil(win.lengths * factor).astype(np.int64) + 1
        return np.where(last < target, longer, win.layout.source)

    @staticmethod
    def _malenia_quick(win, horizon, n, M, threshold):
        """Malenia's stop without sorting the arrivals before the last worker's first.

        Until every worker has a gradient the tracker only accumulates its float sum
        S = Σ 1/M_i, so the counts at that arrival are per-worker counts below it, and S
        there equals Σ 1/M_i up to the tracker's rounding, bounded by ``tol``. Later
        arrivals are sorted and replayed: while S is known only within ``tol``, each
        "S > threshold" test is decided when it is clear by more than ``tol`` (else
        ``_AMBIGUOUS``: the caller replays every arrival exactly); once the tracker has
        re-checked exactly, it holds the fsum and the replay is exact. Returns
        (counts, last worker, a function giving the processed arrivals' times unsorted,
        the latest of them) for :func:`sterbenz_clock`, None when the stop is not below
        ``horizon``, or ``_AMBIGUOUS``.
        """
        flat = win.flat
        first = flat[: n]  # c_i1: block 1 holds every worker (L_i >= 1), in rank order
        r = int(np.argmax(first))
        top = first[r]
        if not top < horizon:
            return None
        if np.count_nonzero(flat == top) == 1:  # no tie: the arrivals up to c_i*1
            i_star = int(win.rank[r])
            done = np.flatnonzero(flat <= top)
        else:
            i_star = int(np.flatnonzero(flat[win.place] == top)[-1])  # ties: largest index
            done = np.flatnonzero(flat < top)
            tied = np.flatnonzero(flat == top)
            tw, tj = win.locate(tied)
            done = np.concatenate((done, tied[(tw < i_star) | ((tw == i_star) & (tj == 1))]))
        counts = np.bincount(win.layout.worker[done], minlength=n)
        k0 = done.size
        unit = 2.0**-53
        s = float(np.sum(1.0 / counts))
        post = None
        start, base, exact_mode, last_worker = 0, s, False, i_star
        # the arrival that completed the set of workers: the tracker tests it first
        while True:
            if not exact_mode:
                tol = 4 * unit * n * (k0 + start + n)
            if start == 0:
                value = base
                if not exact_mode and abs(value - threshold) <= tol:
                    return _AMBIGUOUS
                if not value > threshold:
                    # the tracker re-checks with the fsum, within tol + n·2⁻⁵³ of value:
                    # no need to compute it when the test is clear by more than that
                    if value < (n * n / M) * (1 - 1e-9) - 2 * tol:
                        return counts, last_worker, partial(np.take, flat, done), top
                    q_counts = counts
                    exact = math.fsum((1.0 / q_counts).tolist())
                    if _harmonic_ok(exact, q_counts.tolist(), n, M):
                        return counts, last_worker, partial(np.take, flat, done), top
                    base, exact_mode = exact, True
            if post is None:
                mask = flat < horizon
                mask[done] = False
                post = np.flatnonzero(mask)
                vals = flat[post]
                order = np.argsort(vals)
                vals = vals[order]
                post = post[order]
                if vals.size > 1 and not (vals[1:] != vals[:-1]).all():  # exact ties
                    pw, pj = win.locate(post)
                    order = np.lexsort((pj, pw, vals))
                    post, vals = post[order], vals[order]
                pw, pj = win.locate(post)
                jf = pj.astype(float)
                delta = 1.0 / jf - 1.0 / (jf - 1.0)  # every post arrival is a worker's 2nd+
            if start >= post.size:
                return None
            d = delta[start:].copy()
            d[0] = base + d[0]
            run = np.cumsum(d)
            if exact_mode:
                cand = np.flatnonzero(~(run > threshold))
            else:
                tol = 4 * unit * n * (k0 + start + n + np.arange(run.size))
                cand = np.flatnonzero(~(run > threshold + tol))
            if cand.size == 0:
                return None
            c = int(cand[0])
            if not exact_mode and abs(run[c] - threshold) <= tol[c]:
                return _AMBIGUOUS
            q = start + c
            q_counts = counts + np.bincount(pw[: q + 1], minlength=n)
            exact = math.fsum((1.0 / q_counts).tolist())
            if _harmonic_ok(exact, q_counts.tolist(), n, M):
                ordered = np.concatenate((flat[done], vals[: q + 1]))  # sorted from k0 on
                return q_counts, int(pw[q]), ordered.view, vals[q]
            start, base, exact_mode = q + 1, exact, True

    @staticmethod
    def _malenia_stop(workers, jobs, n, M, threshold):
        """Index of the arrival at which :class:`malenia.Tracker` says DONE, or None."""
        if workers.size == 0:
            return None
        j = jobs.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            delta = np.where(jobs == 1, 1.0, 1.0 / j - 1.0 / (j - 1.0))
        complete = np.cumsum(jobs == 1) == n  # no worker left at zero after this arrival
        start, base = 0, 0.0
        while start < workers.size:
            d = delta[start:].copy()
            d[0] = base + d[0]  # the tracker adds to the value it holds
            s = np.cumsum(d)
            cand = np.flatnonzero(complete[start:] & ~(s > threshold))
            if cand.size == 0:
                return None
            q = start + int(cand[0])
            counts = np.bincount(workers[: q + 1], minlength=n)
            exact = math.fsum((1.0 / counts).tolist())
            if _harmonic_ok(exact, counts.tolist(), n, M):
                return q
            start, base = q + 1, exact
        return None

    def _synchronous(self, t0, starts, b, k, with_events):
        n = self.n
        if n * b > MAX_WINDOW:
            return None
        if not (self._lengths[0] == b and self._common):
            self._lengths = (b, np.full(n, b, dtype=np.int64))
        win = self._windows(starts, self._lengths[1], b)
        counts = np.full(n, b, dtype=np.int64)
        ends = win.value(counts, 0)
        if not np.isfinite(ends).all():
            return None
        last_worker = int(np.lexsort((np.arange(n), ends))[-1])
        picked = np.arange(n * b)  # every candidate
        if with_events:
            return self._finish(t0, win, counts, last_worker, k, picked=picked, idle=True)
        return self._finish(t0, win, counts, last_worker, k, ordered=np.sort(win.flat[picked]),
                            idle=True)

    # -- common end of a round ----------------------------------------------------------
    def _cancel_round(self, t0, counts, last_worker, top, values, processed):
        """Outcome of a round under ``cancel`` without event records whose candidates are
        all finite: the ``processed`` completions (latest ``top``, ``values()`` unsorted)
        and every other worker's cancelled in-flight job consume their draws."""
        now = sterbenz_clock(t0, top, values)
        self.span = (self._M, now - t0)
        self.matrix.advance_cancelled(counts, last_worker)
        self.previous = counts
        return RoundOutcome(now, counts, processed, self.n - 1, [], None, None)

    def _finish(self, t0, win, counts, last_worker, k, *, ordered=None, picked=None,
                sorted_=None, idle=False, with_events=True):
        """Outcome of a round whose processed completions are known: either their sorted
        times ``ordered`` (no events), or their ``flat`` indices ``picked`` (sorted
        lexicographically here unless ``sorted_`` gives their workers and jobs)."""
        n = self.n
        events = None
        if picked is not None:
            if sorted_ is None:
                w, j = win.locate(picked)
                order = np.lexsort((j, w, win.flat[picked]))
                picked, w, j = picked[order], w[order], j[order]
            else:
                w, j = sorted_
            ordered = win.flat[picked]
        now = clock_chain(t0, ordered)
        if picked is not None and with_events:
            begins = win.job_starts(picked, w, j).tolist()
            if type(t0) is int:  # SimPy's clock starts at the int 0: first jobs start at 0
                begins = [t0 if job == 1 else b for b, job in zip(begins, j.tolist(), strict=True)]
            events = list(zip(w.tolist(), ["used"] * w.size, begins, ordered.tolist(),
                              [k] * w.size, strict=True))
        processed = int(counts.sum())
        used = counts
        cancelled = 0
        available, finishing = None, []
        if not idle:
            f_start, f_end = win.in_flight(counts)
            starts_out = f_start.tolist()
            if type(t0) is int and events is not None:
                starts_out = [t0 if c == 0 else x
                              for x, c in zip(starts_out, counts.tolist(), strict=True)]
            f_end[last_worker] = 0.0  # the worker that ended the round starts nothing
            if not np.isfinite(f_end).all():
                return None  # the event path raises at the start of that job
            busy = np.ones(n, dtype=np.int64)
            busy[last_worker] = 0
            if self.in_flight == "cancel":
                used = counts + busy
                cancelled = n - 1
                if events is not None:
                    events.extend((i, "cancelled", s, now, k)
                                  for i, s in enumerate(starts_out) if i != last_worker)
            else:
                started = (f_start < now) & (busy == 1)
                used = counts + started
                avail = np.where(started, f_end, f_start)
                avail[last_worker] = now
                available = avail.tolist()
                self._available = (available, avail)
                finishing = f_end[started].tolist()
                if events is not None:
                    for i in np.flatnonzero(started).tolist():
                        events.append((i, "discarded", starts_out[i], float(f_end[i]), k))
        self.matrix.advance(used)
        self.previous = counts
        self.span = (self._M, now - t0)
        return RoundOutcome(now, counts, processed, cancelled, finishing, available, events)
