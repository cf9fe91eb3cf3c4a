"""Per-worker duration streams: pre-drawn in blocks, consumed one job at a time.

``DurationStream.take(i, now)`` returns the duration of worker i's next job. Durations of
stationary models are drawn a block at a time from worker i's own generator, so the
j-th job of worker i lasts the same for every method of a scenario (common random
numbers) and the per-job Python cost is a list index. Fixed durations never touch a
generator. With ``per: step`` timing the caller multiplies by the trajectory's steps.

Block sizes affect speed only: every model draws sequentially from its generator, so a
block of k durations equals k single draws (tested for every model), and worker i's j-th
duration is the same however its draws are split into blocks (the round fast path's
read-ahead splits them differently).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .durations import Fixed, Trace

BLOCK = 256  # durations per refill of a worker's stream (a speed choice, see above)


class DurationStream:
    """Durations of jobs of n workers, each worker with its model and generator."""

    __slots__ = ("models", "rngs", "_blocks", "_pos", "_const")

    def __init__(self, models: Sequence, rngs: Sequence[np.random.Generator]):
        if len(models) != len(rngs):
            raise ValueError("one generator per worker model is required")
        self.models = list(models)
        self.rngs = rngs if isinstance(rngs, Sequence) else list(rngs)  # kept lazy if it is
        n = len(self.models)
        self._const = [m.value if isinstance(m, Fixed) else None for m in self.models]
        self._blocks: list[list[float]] = [[] for _ in range(n)]
        self._pos = [0] * n
        for i, m in enumerate(self.models):
            if isinstance(m, Trace) and m.mode == "replay":
                self._blocks[i] = [float(x) for x in m.samples]

    @property
    def n(self) -> int:
        return len(self.models)

    def take(self, i: int, now: float = 0.0) -> float:
        """Duration of worker i's next job started at virtual time ``now``."""
        c = self._const[i]
        if c is not None:
            return c
        k = self._pos[i]
        block = self._blocks[i]
        if k == len(block):
            block = self._refill(i, now)
            k = 0
        self._pos[i] = k + 1
        return block[k]

    def _refill(self, i: int, now: float) -> list[float]:
        m = self.models[i]
        if isinstance(m, Trace) and m.mode == "replay":
            block = self._blocks[i]  # cyclic replay
        elif getattr(m, "stationary", True):
            block = m.sample(self.rngs[i], now, BLOCK).tolist()
        else:
            block = [float(m.sample(self.rngs[i], now))]
        self._blocks[i] = block
        return block

    def untake(self, i: int) -> None:
        """Give back worker i's last duration: its job was drawn but never started, so the
        next job of worker i gets that duration (the j-th computation that actually runs
        lasts the same for every method). Valid only right after a :meth:`take` of i."""
        if self._const[i] is None:
            self._pos[i] -= 1

    # -- block access, for the vectorized round fast path (asyncnigt.sim.fast_round) --

    def supports_blocks(self) -> bool:
        """True when every worker's durations are a sequence fixed in advance (fixed,
        stationary or replayed), so that they can be read ahead of the jobs' start times."""
        return all(c is not None or getattr(m, "stationary", True)
                   for c, m in zip(self._const, self.models, strict=True))

    def constants(self) -> list[float | None]:
        """Every worker's fixed duration, or ``None`` where it is random."""
        return list(self._const)

    def pending(self) -> list[list[float]]:
        """Every worker's durations left in its current block (its next takes, in order)."""
        return [b[k:] for b, k in zip(self._blocks, self._pos, strict=True)]

    def cycles(self) -> list[np.ndarray | None]:
        """Every worker's replayed trace (the cycle its durations repeat), or ``None``.

        The round fast path's read-ahead draws the other random rows itself, as
        ``models[i].sample(rngs[i], 0.0, size)`` (worker i's next ``size`` durations),
        and then owns worker i's position until :meth:`set_remaining`. Only valid when
        :meth:`supports_blocks`."""
        return [np.asarray(m.samples, dtype=float) if isinstance(m, Trace) and m.mode == "replay"
                else None for m in self.models]

    def set_remaining(self, i: int, durations) -> None:
        """Make ``durations`` worker i's next takes; after them the stream goes on drawing
        from worker i's generator (for a replayed trace: with the cycle, ``durations``
        being a suffix of repeated cycles)."""
        if self._const[i] is not None:
            return
        m = self.models[i]
        if isinstance(m, Trace) and m.mode == "replay":
            cycle = len(m.samples)
            self._blocks[i] = [float(x) for x in m.samples]
            self._pos[i] = (cycle - len(durations) % cycle) % cycle
        else:
            self._blocks[i] = [float(x) for x in durations]
            self._pos[i] = 0

    def take_all(self, now: float = 0.0) -> list[float]:
        """Next duration of every worker (in worker order)."""
        return [self.take(i, now) for i in range(self.n)]

    def is_zero(self) -> bool:
        """True when every worker's duration is the constant 0 (a free operation)."""
        return all(c == 0 for c in self._const)
