"""The round server: Rennala / Malenia / synchronous rounds (methods.md §3).

Round k: every worker knows the query point x_k = query(state) and computes gradients at
it back to back; each completion is offered to the aggregation's tracker, which says
whether the worker continues, idles (synchronous) or the round is done. Then

* ``in_flight="cancel"`` (default, the paper's reading): unfinished computations stop at
  once, and every worker starts the next round fresh;
* ``in_flight="ignore"``: unfinished computations run to completion and are discarded;
  a worker starts the next round when its stale computation ends (or at the round start).

The gradients of the round are evaluated in one batched oracle call, the aggregation
costs κ (:mod:`asyncnigt.timing.comm`), and the update is applied at t_end + κ.
With fixed times, cancel semantics and κ, a Rennala round lasts exactly T_R(M) + κ
(timing-theory.md, predictions 2 and 6).

Two engines give identical results (``engine`` method parameter): ``fast`` (default)
computes a round's timing in numpy (:mod:`asyncnigt.sim.fast_round`) wherever durations
can be read ahead (no ``per: step`` timing, no speed profiles, stationary models) and
rounds have at least :data:`FAST_MIN_EVENTS` jobs, and otherwise runs ``events``, one
SimPy event per completion (the reference).
"""

from __future__ import annotations

import math

import numpy as np

from ..aggregation import DONE, IDLE
from .fast_round import FastRounds, applicable
from .pool import ComputePool, queued_event
from .recorder import NumericalError
from .trajectories import TrajectoryBuffer

# Below this many jobs per round (see RoundServer._jobs) one SimPy event per job is
# cheaper than the fixed numpy overhead of a fast round (the results are the same either
# way; measured: Rennala n = 14, M = 6 is faster with events, n = 20, M = 10 fast).
FAST_MIN_EVENTS = 24


class RoundServer:
    def __init__(self, env, ctx, rule, aggregation, params: dict, rec):
        self.env, self.ctx, self.rule, self.agg, self.rec = env, ctx, rule, aggregation, rec
        self.batch = int(params["batch"])
        self.init_batch = int(params.get("init_batch") or self.batch)
        self.in_flight = params.get("in_flight", "cancel")
        self.compute = ctx.compute
        # without per-step timing a job's duration is the stream's next draw: bind it directly
        duration = self._duration if ctx.per_step else ctx.compute.take
        self.pool = ComputePool(env, ctx.n, duration, ctx.speeds)
        self.pool.on_finish = self._on_finish
        if rec.events is not None:
            self.pool.on_cancel = lambda i, s, t: rec.event(i, "cancelled", s, t, self.k)
        self.buffer = TrajectoryBuffer(ctx.oracle, ctx.n) if ctx.per_step else None
        self.fast = None
        if params.get("engine", "fast") == "fast" and applicable(ctx, self.pool.speeds):
            # the run's length sizes the first read-ahead (speed only) when rounds will
            # take the fast path
            fast_rounds = self._jobs(self.batch) >= FAST_MIN_EVENTS
            self.fast = FastRounds(ctx.compute, aggregation.name, self.in_flight,
                                   ctx.stop if fast_rounds else None, self.batch)
        self.ids = np.arange(ctx.n)
        self.state = rule.init(ctx.theta0)
        self.k = 0
        self.tracker = None
        self.done = None

    def _duration(self, i: int, at: float) -> float:
        d = self.compute.take(i, at)
        if self.buffer is not None:
            d *= self.buffer.next_steps(i)
        return d

    def _on_finish(self, i: int, start: float, end: float) -> None:
        rec = self.rec
        rec.computed += 1
        if rec.events is not None:
            rec.event(i, "used", start, end, self.k)
        status = self.tracker.add(i)
        if status == DONE:
            self._end_round()
        elif status != IDLE:
            self.pool.start(i, end)

    def _end_round(self) -> None:
        pool, rec, now = self.pool, self.rec, self.env.now
        busy = [i for i, jid in enumerate(pool.job) if jid]
        self.available = None  # every worker is free at the next round's start
        if self.in_flight == "ignore":
            self.available = [now] * self.ctx.n
            pool.on_cancel = None
            for i in busy:
                if pool.start_time[i] >= now:
                    # Not started yet: worker i is still finishing a stale computation of
                    # an earlier round and is free when that one ends. This job never runs
                    # (it is neither computed nor discarded) and its duration goes back to
                    # the stream for the worker's next job.
                    self.available[i] = pool.start_time[i]
                    self.compute.untake(i)
                    continue
                self.available[i] = pool.end_time[i]
                rec.event(i, "discarded", pool.start_time[i], pool.end_time[i], self.k)
                rec.will_finish(pool.end_time[i])
        else:
            rec.cancelled += len(busy)
        pool.cancel_all()
        if rec.events is not None:
            pool.on_cancel = lambda i, s, t: rec.event(i, "cancelled", s, t, self.k)
        self.done.succeed()

    def _gradient(self, x: np.ndarray, counts: np.ndarray) -> np.ndarray:
        if self.buffer is not None:
            grads = self.buffer.gradient_rows(counts)
        else:
            workers = np.repeat(self.ids, counts)
            grads = self.ctx.oracle.gradients(_rows(x, len(workers)), workers).grads
        return self.agg.combine(grads, counts)

    def _event_round(self, x: np.ndarray, M: int):
        """One round on the event-level path; returns the per-worker counts."""
        env, pool = self.env, self.pool
        self.tracker = self.agg.tracker(self.ctx.n, M)
        if self.buffer is not None:  # a synchronous round hands every worker M (its b)
            self.buffer.begin(x, M, M if self.agg.name == "synchronous" else None)
        self.done = env.event()
        now, available = env.now, self.available
        pool.start_all([now] * self.ctx.n if available is None
                       else [max(now, t) for t in available])
        yield self.done
        return np.asarray(self.tracker.counts)

    def _jobs(self, M: int) -> int:
        """Jobs a round starts, at least: M arrivals (synchronous: M per worker; Malenia:
        also one per worker) and the n − 1 jobs in flight at its end."""
        n, name = self.ctx.n, self.agg.name
        if name == "synchronous":
            return n * M
        return (max(M, n) if name == "malenia" else M) + n - 1

    def _fast_round(self, M: int):
        """One round on the fast path; ``None`` when the event-level path must run it."""
        rec, env = self.rec, self.env
        with_events = rec.events is not None and self.k < rec.events_until
        out = self.fast.round(env.now, self.available, M, self.k, with_events)
        if out is None:
            return None
        rec.computed += out.computed
        rec.cancelled += out.cancelled
        for end in out.finishing:
            rec.will_finish(end)
        if out.events:
            rec.events.extend(out.events)
        self.available = out.available
        # at virtual time exactly out.time: env.timeout(t − now) would land on
        # now + (t − now), which in floating point can differ from t
        yield queued_event(env, out.time)
        return out.counts

    def process(self):
        """The server's SimPy process: rounds until the stop rule."""
        self.worker_used = np.zeros(self.ctx.n, dtype=np.int64)
        try:
            yield from self._rounds()
        finally:  # also when a NumericalError stops the run
            self.rec.worker_used[:] = self.worker_used.tolist()

    def _rounds(self):
        env, ctx, rule, rec, stop = self.env, self.ctx, self.rule, self.rec, self.ctx.stop
        rec.record(0, 0.0, rule.params(self.state))
        self.available = None  # per-worker earliest start of the next round; None: now
        while stop.updates is None or self.k < stop.updates:
            x = rule.query(self.state)
            M = self.init_batch if self.k == 0 else self.batch
            counts = None
            if self.fast is not None and self._jobs(M) >= FAST_MIN_EVENTS:
                counts = yield from self._fast_round(M)
            if counts is None:
                if self.fast is not None:
                    self.fast.hand_back()
                counts = yield from self._event_round(x, M)
            kappa = ctx.aggregate.cost(counts, ctx.upload, ctx.download, env.now)
            if not math.isfinite(kappa):
                raise NumericalError("duration", self.k + 1, env.now)
            if stop.time is not None and env.now + kappa > stop.time:
                return
            g = self._gradient(x, counts)
            if kappa > 0:
                for i in range(ctx.n):
                    rec.event(i, "aggregate", env.now, env.now + kappa, self.k)
                yield env.timeout(kappa)
            if not np.isfinite(g).all():
                raise NumericalError("gradient", self.k + 1, env.now)
            rec.communications += 1
            rec.comm_time += kappa
            rec.used += int(counts.sum())
            self.worker_used += counts
            self.state = rule.update(self.state, g)
            self.k += 1
            rec.record(self.k, env.now, rule.params(self.state))
            if stop.gradients is not None and rec.used >= stop.gradients:
                return


def _rows(x: np.ndarray, k: int) -> np.ndarray:
    """``np.broadcast_to(x, (k, x.size))`` (a read-only view repeating x in k rows),
    built directly when x is a contiguous vector."""
    if x.ndim != 1 or not x.flags.c_contiguous:
        return np.broadcast_to(x, (k, x.size))
    rows = np.ndarray((k, x.size), x.dtype, x, 0, (0, x.itemsize))
    rows.flags.writeable = False
    return rows
