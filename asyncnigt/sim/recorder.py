"""What a simulated method records: one metrics row per applied update, and events.

Columns of ``metrics.csv`` (docs/outputs.md):

``update``  number of applied updates (0 = the initial point);
``time``    virtual time at which that update is applied;
``gradients_used``       gradients that entered an update;
``gradients_computed``   gradient computations completed by ``time`` (used or discarded;
                         a computation discarded under ``in_flight: ignore`` counts
                         from the first row at or after its end);
``gradients_cancelled``  computations stopped before completion;
``communications``       aggregations (round methods) or messages (stream methods:
                         uploads received + downloads sent);
``comm_time``            virtual time spent in aggregations (round methods);
``objective``, ``grad_norm`` and the problem's extra columns: evaluation of θ, empty
where not evaluated (cadence: every ``every`` updates and/or at the first update at or
after each multiple of ``every_time`` virtual seconds, plus the first and last rows).
"""

from __future__ import annotations

import heapq
import math

import numpy as np

COUNTER_COLUMNS = (
    "update", "time", "gradients_used", "gradients_computed", "gradients_cancelled",
    "communications", "comm_time",
)


class NumericalError(RuntimeError):
    """NaN or inf met in a parameter, gradient, duration or evaluation.

    ``update`` is the update being computed (0: the initial point) and ``time`` the
    virtual time; code that does not know them (the worker pool) leaves them ``None``
    and :func:`~asyncnigt.sim.engine.simulate` fills them in.
    """

    def __init__(self, what: str, update: int | None = None, time: float | None = None):
        super().__init__(what)
        self.what, self.update, self.time = what, update, time

    def __str__(self) -> str:
        return f"non-finite {self.what} at update {self.update}, virtual time {self.time:.6g}"


class Recorder:
    __slots__ = (
        "oracle", "every", "rows", "extra_columns", "used", "computed", "cancelled",
        "communications", "comm_time", "events", "events_until", "last_evaluated",
        "every_time", "next_time", "worker_used", "progress", "finishing",
    )

    def __init__(self, oracle, every: int | None = 1, events_until: int = 0,
                 every_time: float | None = None, n_workers: int = 0, progress=None):
        self.oracle = oracle
        self.worker_used = [0] * n_workers  # gradients each worker contributed to updates
        self.progress = progress  # optional callable(update, time), e.g. a progress bar
        self.every = every
        self.every_time = every_time
        self.next_time = 0.0
        self.rows: list[tuple] = []
        self.extra_columns: tuple[str, ...] = ()
        self.used = self.computed = self.cancelled = self.communications = 0
        self.finishing: list[float] = []  # heap: ends of computations still running
        self.comm_time = 0.0
        self.events: list[tuple] | None = [] if events_until > 0 else None
        self.events_until = events_until
        self.last_evaluated = -1

    @property
    def columns(self) -> tuple[str, ...]:
        return (*COUNTER_COLUMNS, "objective", "grad_norm", *self.extra_columns)

    def record(self, update: int, time: float, theta: np.ndarray, force: bool = False):
        """Append the row of ``update`` applied at ``time`` with iterate θ."""
        finishing = self.finishing
        while finishing and finishing[0] <= time:
            heapq.heappop(finishing)
            self.computed += 1
        if not np.isfinite(theta).all():
            raise NumericalError("parameters", update, time)
        evaluation = ()
        due_time = self.every_time is not None and time >= self.next_time
        if force or due_time or (self.every is not None and update % self.every == 0):
            evaluation = self._evaluate(update, time, theta)
            if self.every_time is not None:
                self.next_time = (time // self.every_time + 1) * self.every_time
        counters = (update, time, self.used, self.computed, self.cancelled,
                    self.communications, self.comm_time)
        self.rows.append(counters + evaluation)
        if self.progress is not None:
            self.progress(update, time)

    def will_finish(self, end: float) -> None:
        """A computation that keeps running after its round and completes at ``end`` (one
        discarded under ``in_flight: ignore``): ``computed`` counts it from the first row
        at or after ``end``."""
        heapq.heappush(self.finishing, end)

    def finish(self, theta: np.ndarray) -> None:
        """Make sure the last row is evaluated."""
        if self.rows and self.last_evaluated != self.rows[-1][0]:
            last = self.rows[-1]  # kept as is if the evaluation raises NumericalError
            self.rows[-1] = last[: len(COUNTER_COLUMNS)] + self._evaluate(last[0], last[1], theta)

    def _evaluate(self, update, time, theta) -> tuple:
        ev = self.oracle.evaluate(theta)
        if update == 0 and not self.rows:
            self.extra_columns = tuple(name for name, _ in ev.extra)
        values = (ev.objective, ev.grad_norm, *(v for _, v in ev.extra))
        for v in values:
            if v is not None and not math.isfinite(v):
                raise NumericalError("evaluation", update, time)
        self.last_evaluated = update
        return values

    def event(self, worker: int, kind: str, start: float, end: float, update: int) -> None:
        """Record a worker interval (``kind``: used, discarded, cancelled, upload,
        download, aggregate) while ``update`` < ``events_until``."""
        if self.events is not None and update < self.events_until:
            self.events.append((worker, kind, start, end, update))
