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
"""

from __future__ import annotations

import math

import numpy as np

from ..aggregation import DONE, IDLE
from .pool import ComputePool
from .recorder import NumericalError
from .trajectories import TrajectoryBuffer


class RoundServer:
    def __init__(self, env, ctx, rule, aggregation, params: dict, rec):
        self.env, self.ctx, self.rule, self.agg, self.rec = env, ctx, rule, aggregation, rec
        self.batch = int(params["batch"])
        self.init_batch = int(params.get("init_batch") or self.batch)
        self.in_flight = params.get("in_flight", "cancel")
        self.compute = ctx.compute
        self.pool = ComputePool(env, ctx.n, self._duration, ctx.speeds)
        self.pool.on_finish = self._on_finish
        if rec.events is not None:
            self.pool.on_cancel = lambda i, s, t: rec.event(i, "cancelled", s, t, self.k)
        self.buffer = TrajectoryBuffer(ctx.oracle, ctx.n) if ctx.per_step else None
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
        self.available = [now] * self.ctx.n
        if self.in_flight == "ignore":
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
                rec.computed += 1
        else:
            rec.cancelled += len(busy)
        pool.cancel_all()
        if rec.events is not None:
            pool.on_cancel = lambda i, s, t: rec.event(i, "cancelled", s, t, self.k)
        self.done.succeed()

    def _gradient(self, x: np.ndarray, counts: np.ndarray) -> np.ndarray:
        contributors = counts > 0
        if self.buffer is not None:
            sums = self.buffer.sums(counts)
        else:
            workers = np.repeat(np.arange(self.ctx.n), counts)
            grads = self.ctx.oracle.gradients(np.broadcast_to(x, (len(workers), x.size)), workers).grads
            starts = np.concatenate(([0], np.cumsum(counts[contributors])[:-1]))
            sums = np.add.reduceat(grads, starts, axis=0)
        return self.agg.combine(sums, counts[contributors])

    def process(self):
        env, ctx, rule, rec, stop, pool = self.env, self.ctx, self.rule, self.rec, self.ctx.stop, self.pool
        rec.record(0, 0.0, rule.params(self.state))
        self.available = [0.0] * ctx.n
        while stop.updates is None or self.k < stop.updates:
            x = rule.query(self.state)
            M = self.init_batch if self.k == 0 else self.batch
            self.tracker = self.agg.tracker(ctx.n, M)
            if self.buffer is not None:
                self.buffer.begin(x, M)
            self.done = env.event()
            now = env.now
            for i in range(ctx.n):
                pool.start(i, max(now, self.available[i]))
            yield self.done
            counts = np.asarray(self.tracker.counts)
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
            for i in np.flatnonzero(counts).tolist():
                rec.worker_used[i] += int(counts[i])
            self.state = rule.update(self.state, g)
            self.k += 1
            rec.record(self.k, env.now, rule.params(self.state))
            if stop.gradients is not None and rec.used >= stop.gradients:
                return
