"""The stream server: every arrival is an update (ASGD, Ringmaster ASGD, AFedPG).

Worker i's cycle: download the current point (``download`` time), compute one gradient
(``compute`` time, per gradient or per step), upload it (``upload`` time); the worker is
busy throughout. On arrival the server applies ``update(state, g, dispatched, delay)``
at once (server computation takes 0 s) and re-dispatches the sender at the new point.
The delay δ of a job is the number of updates applied between its dispatch and its
arrival. With zero communication, the K-th update happens at the K-th smallest element
of {j τ_i} (timing-theory.md, prediction 1).

Ringmaster ASGD (Maranjyan et al. 2025), ``max_delay`` R: as soon as a running job's
delay reaches R it is cancelled and its worker restarted at the current point; a job
whose delay reached R while its upload was in flight is discarded on arrival.

Gradients are evaluated lazily: when an arrival needs its gradient, every pending job's
gradient is computed in one batched oracle call (per-step timing needs trajectory lengths
up front, so there gradients are computed at dispatch).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
from simpy.events import Timeout

from .pool import ComputePool
from .recorder import NumericalError


class Job:
    __slots__ = ("state", "point", "k", "grad", "steps", "live", "interval")

    def __init__(self, state, point, k):
        self.state, self.point, self.k = state, point, k
        self.grad = None
        self.steps = 1
        self.live = True
        self.interval = None  # (start, end) of its computation, once computed


class StreamServer:
    def __init__(self, env, ctx, rule, params: dict, rec):
        self.env, self.ctx, self.rule, self.rec = env, ctx, rule, rec
        self.max_delay = params.get("max_delay")
        self.compute, self.upload, self.download = ctx.compute, ctx.upload, ctx.download
        self.free_upload = ctx.upload.is_zero()
        self.pool = ComputePool(env, ctx.n, self._duration, ctx.speeds)
        self.pool.on_finish = self._computed
        if rec.events is not None:  # Ringmaster restarts
            self.pool.on_cancel = lambda i, s, t: rec.event(i, "cancelled", s, t, self.k)
        self.jobs: list[Job | None] = [None] * ctx.n
        self.pending: list[int] = []
        self.fifo: deque = deque()
        self.state = rule.init(ctx.theta0)
        self.point = rule.query(self.state)
        self.k = 0
        self.done = None

    # -- worker side ---------------------------------------------------------------
    def _duration(self, i: int, at: float) -> float:
        d = self.compute.take(i, at)
        return d * self.jobs[i].steps if self.ctx.per_step else d

    def _dispatch(self, workers: list[int], now: float) -> None:
        rec = self.rec
        for i in workers:
            self.jobs[i] = Job(self.state, self.point, self.k)
        if self.ctx.per_step:
            self._evaluate(workers)
        else:
            self.pending.extend(workers)
        for i in workers:
            down = self.download.take(i, now)
            rec.communications += 1
            if down > 0:
                rec.event(i, "download", now, now + down, self.k)
            self.pool.start(i, now + down)
            if self.max_delay is not None:
                self.fifo.append((self.k, i, self.jobs[i]))

    def _evaluate(self, workers: list[int]) -> None:
        jobs = self.jobs
        workers = [w for w in dict.fromkeys(workers) if jobs[w].live and jobs[w].grad is None]
        if not workers:
            return
        points = np.stack([self.jobs[w].point for w in workers])
        batch = self.ctx.oracle.gradients(points, np.asarray(workers))
        for row, w in enumerate(workers):
            self.jobs[w].grad = batch.grads[row]
            self.jobs[w].steps = float(batch.steps[row])  # NaN reaches the pool's check

    def _computed(self, i: int, start: float, end: float) -> None:
        self.rec.computed += 1
        self.jobs[i].interval = (start, end)  # "used" or "discarded": known on arrival
        up = 0.0 if self.free_upload else self.upload.take(i, end)
        if not math.isfinite(up):
            raise NumericalError("duration", self.k + 1, end)
        if up == 0:
            self._arrive(i)
        else:
            self.rec.event(i, "upload", end, end + up, self.k)
            Timeout(self.env, up, i).callbacks.append(lambda ev: self._arrive(ev._value))

    # -- server side ---------------------------------------------------------------
    def _arrive(self, i: int) -> None:
        if self.done.triggered:
            return
        env, rec, stop, job = self.env, self.rec, self.ctx.stop, self.jobs[i]
        rec.communications += 1
        delay = self.k - job.k
        if self.max_delay is not None and delay >= self.max_delay:
            job.live = False
            rec.event(i, "discarded", *job.interval, self.k)
            self._dispatch([i], env.now)
            return
        if stop.time is not None and env.now > stop.time:
            return self._stop()
        if job.grad is None:
            self._evaluate(self.pending)
            self.pending = []
        g = job.grad
        if not np.isfinite(g).all():
            raise NumericalError("gradient", self.k + 1, env.now)
        rec.event(i, "used", *job.interval, self.k)
        self.state = self.rule.update(self.state, g, dispatched=job.state, delay=delay)
        self.point = self.rule.query(self.state)
        self.k += 1
        rec.used += 1
        rec.worker_used[i] += 1
        rec.record(self.k, env.now, self.rule.params(self.state))
        if (stop.updates is not None and self.k >= stop.updates) or (
            stop.gradients is not None and rec.used >= stop.gradients
        ):
            return self._stop()
        if self.max_delay is not None:
            self._restart_stale(env.now)
        self._dispatch([i], env.now)

    def _restart_stale(self, now: float) -> None:
        fifo, R = self.fifo, self.max_delay
        while fifo and self.k - fifo[0][0] >= R:
            _, w, job = fifo.popleft()
            if self.jobs[w] is job and self.pool.busy(w):
                job.live = False
                self.pool.cancel(w)
                self.rec.cancelled += 1
                self._dispatch([w], now)

    def _stop(self) -> None:
        self.pool.on_cancel = None  # work cut by the end of the run is not a cancellation
        self.pool.cancel_all()
        self.done.succeed()

    def process(self):
        self.done = self.env.event()
        self.rec.record(0, 0.0, self.rule.params(self.state))
        if self.ctx.stop.updates == 0:
            return
        self._dispatch(list(range(self.ctx.n)), 0.0)
        yield self.done
