"""SimPy's virtual clock, replayed over a round's processed completions.

SimPy sets ``now`` to ``armed_at + (end − armed_at)`` where the pool armed its timeout at
the previous processed completion, which in floating point is not always ``end``. The
round fast path (:mod:`asyncnigt.sim.fast_round`) reproduces that value:
:func:`clock_chain` replays the chain (vectorized, with a scalar loop only where a step is
inexact) and :func:`sterbenz_clock` skips it (and the sort) when every step is provably
exact.
"""

from __future__ import annotations

import numpy as np


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
