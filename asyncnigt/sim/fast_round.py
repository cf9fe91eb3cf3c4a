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
  (:mod:`asyncnigt.sim.malenia_replay`), so the decision is the tracker's in every case;
* **synchronous** (b per worker): every worker's first b completions; the round ends at
  the largest.

Candidates are per-worker windows of the next L_i durations (L_i predicted from the
duration means and the last round, then kept from round to round while every worker
starts with the round, and re-checked every ``RECHECK_EVERY`` rounds); a worker whose
window might hide a selected completion gets a longer window and the selection is redone,
so predictions only affect speed (:mod:`asyncnigt.sim.round_windows`). Windows are
gathered from :class:`~asyncnigt.sim.read_ahead.DurationMatrix`, a ragged read-ahead (one
region per worker) of the method's :class:`~asyncnigt.timing.streams.DurationStream`
that consumes each worker's durations exactly as ``take`` would: after a round a worker
has used one draw per started job (the processed ones and, except for the worker that
ended the round and idle workers, the in-flight one; under ``ignore`` a job that had not
started at the round's end gives its draw back, as ``untake`` does).

The virtual clock is reproduced too: SimPy sets ``now`` to ``armed_at + (end − armed_at)``
where the pool armed its timeout at the previous processed completion, which in floating
point is not always ``end``; :mod:`asyncnigt.sim.clock_replay` replays that chain over the
processed completions, or skips it when every step is provably exact.

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

from ..timing import theory
from ..timing.streams import BLOCK
from .clock_replay import clock_chain, sterbenz_clock
from .malenia_replay import AMBIGUOUS, malenia_quick, malenia_stop
from .read_ahead import DurationMatrix
from .round_windows import Layout, Windows, lengthen

MAX_WINDOW = 50_000_000  # candidate durations of one round beyond which the events path runs
RECHECK_EVERY = 16  # rounds between checks that kept window lengths are not too long
SHRINK = 1.5  # kept lengths this many times the predicted ones are replaced by those
FIRST_MARGIN = 3.0  # a worker's first read-ahead block: E + FIRST_MARGIN·√E + FIRST_EXTRA
FIRST_EXTRA = 16  # for E expected draws in the run (FastRounds._first_blocks), at most
FIRST_BUDGET = 1 << 21  # max(BLOCK·n, FIRST_BUDGET) in all (16 MB of durations for n ≤ 8192)
FIRST_MAX_BATCH = 100_000  # larger batches keep first blocks of BLOCK


def applicable(ctx, pool_speeds) -> bool:
    """Whether the fast path reproduces the event-level path for this context."""
    return (not ctx.per_step and pool_speeds is None and hasattr(ctx.compute, "supports_blocks")
            and ctx.compute.supports_blocks())


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
        self._layout = None  # the last Layout built
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

    def _windows(self, starts, lengths, M) -> Windows:
        """The round's candidates for these window lengths (None beyond ``MAX_WINDOW``);
        remembers the lengths, so that the next round with the same M (and everyone
        starting together) reuses them and their layout."""
        layout = self._layout
        if layout is None or layout.source is not lengths:
            if int(lengths.sum()) > MAX_WINDOW:
                return None
            layout = self._layout = Layout(lengths)
        if self._common:
            self._lengths = (M, lengths)
        return Windows(self.matrix, starts, layout, self._common)

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
                    lengths = lengthen(win, counts >= win.lengths, M + 1)
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
                lengths = lengthen(win, saturated, M + 1)
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
                found = malenia_quick(win, horizon, n, M, threshold)
                if found is None:  # the stop lies beyond the windows: lengthen them
                    lengths = self._reach(win, t0, last, horizon)
                    continue
                if found is not AMBIGUOUS:
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
            q = malenia_stop(w, j, n, M, threshold)
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

    def _synchronous(self, t0, starts, b, k, with_events):
        n = self.n
        if n * b > MAX_WINDOW:
            return None
        if not (self._lengths[0] == b and self._common):
            self._lengths = (b, np.full(n, b, dtype=np.int64))
        win = self._windows(starts, self._lengths[1], b)
        counts = np.full(n, b, dtype=np.int64)
        ends = win.value(counts)
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
