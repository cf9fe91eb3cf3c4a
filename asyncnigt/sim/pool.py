"""Workers computing jobs on the virtual clock.

Each busy worker has one live job ``(end, worker, job_id)`` in a heap; the pool keeps a
single SimPy ``Timeout`` armed at the earliest end. When it fires, the job is popped and
``on_finish(worker, start, end)`` is called; the callback may start or cancel jobs.
Cancelled jobs stay in the heap and are skipped when they surface (lazy deletion);
:meth:`ComputePool.cancel_all` drops the whole heap at once, which is how a round ends
under ``cancel`` semantics in O(1).

Durations come from ``duration(worker, start)``; with a speed profile (universal model)
the job ends when the worker's cumulative work reaches the nominal duration. A job that
would end at a non-finite time raises :class:`~asyncnigt.sim.recorder.NumericalError`.
"""

from __future__ import annotations

import heapq
import math

from simpy.events import NORMAL, Event

from .recorder import NumericalError

_push, _pop = heapq.heappush, heapq.heappop
_isfinite = math.isfinite


def queued_event(env, t: float, value=None) -> Event:
    """A triggered event processed at virtual time exactly ``t`` (>= now), put on SimPy's
    queue directly: what ``Timeout`` does (``Environment.schedule`` with priority NORMAL)
    without its checks and extra call, one per completion on the event-level path."""
    ev = Event(env)
    ev._ok, ev._value = True, value
    _push(env._queue, (t, NORMAL, next(env._eid), ev))
    return ev


class ComputePool:
    __slots__ = (
        "env", "duration", "speeds", "heap", "job", "start_time", "end_time",
        "on_finish", "on_cancel", "_next_id", "_armed_at", "_token", "_firing", "_fire_cb",
    )

    def __init__(self, env, n: int, duration, speeds=None):
        self.env = env
        self.duration = duration
        self.speeds = speeds if speeds and any(s is not None for s in speeds) else None
        self.heap: list = []
        self.job = [0] * n  # live job id of each worker, 0 = idle
        self.start_time = [0.0] * n
        self.end_time = [0.0] * n
        self.on_finish = None
        self.on_cancel = None  # optional callback(worker, start, cancel_time)
        self._next_id = 1
        self._armed_at = math.inf
        self._token = 0
        self._firing = False
        self._fire_cb = self._fire

    def start(self, i: int, at: float) -> float:
        """Start worker i's next job at virtual time ``at`` (>= now); returns its end."""
        d = self.duration(i, at)
        speeds = self.speeds
        end = at + d if speeds is None or speeds[i] is None else speeds[i].finish(at, d)
        if not _isfinite(end):
            raise NumericalError("duration")
        jid = self._next_id
        self._next_id = jid + 1
        self.job[i] = jid
        self.start_time[i] = at
        self.end_time[i] = end
        _push(self.heap, (end, i, jid))
        if not self._firing and end < self._armed_at:
            self._arm(end)
        return end

    def start_all(self, starts) -> None:
        """Start every worker's next job, worker i at ``starts[i]`` (>= now): the same
        draws, job ids and heap entries as ``start(i, starts[i])`` for i = 0, 1, …, n−1,
        with one timeout armed at the earliest end instead of one per new earliest end
        (those earlier arms would only leave stale timeouts that never act)."""
        if self.speeds is not None or self._firing or self.heap:
            for i, at in enumerate(starts):
                self.start(i, at)
            return
        duration, jid = self.duration, self._next_id
        ends = [at + duration(i, at) for i, at in enumerate(starts)]
        if not all(map(math.isfinite, ends)):  # the run stops here, as with start()
            raise NumericalError("duration")
        n = len(ends)
        self._next_id = jid + n
        self.job[:] = range(jid, jid + n)
        self.start_time[:] = starts
        self.end_time[:] = ends
        self.heap = heap = list(zip(ends, range(n), self.job, strict=True))
        heapq.heapify(heap)
        if heap[0][0] < self._armed_at:
            self._arm(heap[0][0])

    def busy(self, i: int) -> bool:
        return self.job[i] != 0

    def cancel(self, i: int) -> None:
        """Stop worker i's live job (its heap entry becomes stale)."""
        if self.job[i]:
            self.job[i] = 0
            if self.on_cancel is not None:
                self.on_cancel(i, self.start_time[i], self.env.now)

    def cancel_all(self) -> None:
        """Stop every live job and empty the heap."""
        if self.on_cancel is not None:
            now = self.env.now
            for i, jid in enumerate(self.job):
                if jid:
                    self.on_cancel(i, self.start_time[i], now)
        self.job = [0] * len(self.job)
        self.heap = []
        self._armed_at = math.inf
        self._token += 1  # the armed event, if any, becomes stale

    def _arm(self, t: float) -> None:
        """Schedule the pool's event at ``now + max(t − now, 0)``: what
        ``Timeout(env, max(t − now, 0), token)`` does, built directly (one per completion,
        so its cost counts). env.now = previous now + delay can exceed the exact end t of
        the previous job by an ulp, so a job ending at (or within an ulp after) that end
        would get a negative delay; it fires now instead (the job's own end time t is
        what callbacks see)."""
        self._token = token = self._token + 1
        self._armed_at = t
        now = self.env._now
        delay = t - now
        ev = queued_event(self.env, now + delay if delay > 0 else now + 0.0, token)
        ev.callbacks.append(self._fire_cb)

    def _fire(self, ev) -> None:
        if ev._value != self._token:
            return
        self._armed_at = math.inf
        heap, job = self.heap, self.job
        while heap and job[heap[0][1]] != heap[0][2]:
            _pop(heap)
        if heap:
            end, i, _ = _pop(heap)
            job[i] = 0
            self._firing = True
            try:
                self.on_finish(i, self.start_time[i], end)
            finally:
                self._firing = False
            heap, job = self.heap, self.job  # cancel_all may have replaced them
            while heap and job[heap[0][1]] != heap[0][2]:
                _pop(heap)
            if heap and self._armed_at == math.inf:
                self._arm(heap[0][0])
