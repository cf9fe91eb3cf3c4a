"""The universal computation model: piecewise-constant worker speeds and outages.

Worker i works at relative speed s_i(t) ≥ 0 (1 = nominal, 0 = outage). A computation of
nominal duration w started at t0 ends at the first t1 with ∫_{t0}^{t1} s_i(u) du = w.
With fixed nominal durations τ_i, worker i therefore completes ⌊∫_{t0}^{t1} s_i/τ_i⌋
gradients in [t0, t1] (timing-theory.md, prediction 7, with v_i = s_i/τ_i).

A profile is given by breakpoints 0 = b_0 < b_1 < … < b_m and speeds v_0..v_m, speed v_j
on [b_j, b_{j+1}); the last speed lasts forever and must be > 0 (otherwise the worker
would never finish again).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PiecewiseSpeed:
    """Piecewise-constant speed with cumulative work W(t) = ∫_0^t s."""

    breakpoints: tuple[float, ...]
    speeds: tuple[float, ...]

    def __post_init__(self):
        b, v = self.breakpoints, self.speeds
        if len(b) != len(v) or len(b) == 0:
            raise ValueError("breakpoints and speeds must be non-empty and of equal length")
        if b[0] != 0:
            raise ValueError(f"breakpoints[0]: must be 0, got {b[0]!r}")
        for j in range(1, len(b)):
            if not (math.isfinite(b[j]) and b[j] > b[j - 1]):
                raise ValueError(f"breakpoints[{j}]: must be increasing, got {b[j]!r}")
        for j, s in enumerate(v):
            if not (math.isfinite(s) and s >= 0):
                raise ValueError(f"speeds[{j}]: must be >= 0, got {s!r}")
        if v[-1] <= 0:
            raise ValueError("speeds[-1]: the last speed must be > 0")
        cum = [0.0]
        for j in range(1, len(b)):
            cum.append(cum[-1] + v[j - 1] * (b[j] - b[j - 1]))
        object.__setattr__(self, "_cum", tuple(cum))

    @classmethod
    def with_outages(cls, outages: list[tuple[float, float]]) -> PiecewiseSpeed:
        """Speed 1 except 0 on each [start, end) outage window (windows may not overlap)."""
        b, v = [0.0], [1.0]
        for start, end in sorted(outages):
            if not (0 <= start < end) or start < b[-1]:
                raise ValueError(f"outage [{start}, {end}) is empty or overlaps another")
            if start == b[-1]:
                v[-1] = 0.0
            else:
                b.append(float(start))
                v.append(0.0)
            b.append(float(end))
            v.append(1.0)
        return cls(tuple(b), tuple(v))

    def work(self, t: float) -> float:
        """W(t) = ∫_0^t s(u) du."""
        j = bisect.bisect_right(self.breakpoints, t) - 1
        return self._cum[j] + self.speeds[j] * (t - self.breakpoints[j])

    def finish(self, start: float, w: float) -> float:
        """The end time t1 of a job of nominal duration w started at ``start``."""
        target = self.work(start) + w
        j = bisect.bisect_left(self._cum, target)
        if j < len(self._cum) and self._cum[j] == target:
            t1 = self.breakpoints[j]
        else:  # segment j-1 has positive speed: W is strictly increasing there
            j -= 1
            t1 = self.breakpoints[j] + (target - self._cum[j]) / self.speeds[j]
        return max(t1, start)
