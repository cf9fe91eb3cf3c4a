"""A progress bar over virtual time, drawn on a terminal.

The simulation calls the bar with ``(update, virtual_time)`` after every update (the
``progress`` hook of :class:`~asyncnigt.sim.recorder.Recorder`); the bar itself decides,
from the wall clock, whether to redraw (at most every ``interval`` seconds, and only
after ``delay`` seconds so that short runs print nothing). The simulation never reads
the wall clock.

The fraction done is virtual time / ``stop.time`` when the scenario gives a time budget,
updates / ``stop.updates`` when it gives an update budget (the larger of the two when it
gives both: the first budget reached ends the run); with only a gradient budget the bar
shows counts without a percentage.
"""

from __future__ import annotations

import sys
import time

WIDTH = 28


class ProgressBar:
    """``bar(update, t)`` redraws one line on ``stream``; ``bar.close()`` erases it."""

    def __init__(self, label: str, stop, stream=None, interval: float = 0.2, delay: float = 0.5,
                 clock=time.monotonic):
        self.label, self.stop = label, stop
        self.stream = stream if stream is not None else sys.stderr
        self.interval, self.clock = interval, clock
        self.next_draw = clock() + delay
        self.drawn = 0  # length of the line on screen

    def fraction(self, update: int, t: float) -> float | None:
        parts = []
        if self.stop.time:
            parts.append(t / self.stop.time)
        if self.stop.updates:
            parts.append(update / self.stop.updates)
        return min(1.0, max(parts)) if parts else None

    def line(self, update: int, t: float) -> str:
        f = self.fraction(update, t)
        total = f"/{self.stop.time:.6g}" if self.stop.time else ""
        counts = f"t={t:.6g}{total} s, {update} updates"
        if f is None:
            return f"{self.label} {counts}"
        filled = int(round(f * WIDTH))
        return f"{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {f:4.0%} {counts}"

    def __call__(self, update: int, t: float) -> None:
        now = self.clock()
        if now < self.next_draw:
            return
        self.next_draw = now + self.interval
        text = self.line(update, t)
        self.stream.write("\r" + text.ljust(self.drawn))
        self.stream.flush()
        self.drawn = len(text)

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r" + " " * self.drawn + "\r")
            self.stream.flush()
            self.drawn = 0


def bars_for(scenario, stream=None, enabled: bool | None = None):
    """A factory ``label -> ProgressBar`` for ``run_scenario(progress=...)``, or ``None``
    when ``stream`` (default stderr) is not a terminal."""
    stream = stream if stream is not None else sys.stderr
    if enabled is None:
        enabled = hasattr(stream, "isatty") and stream.isatty()
    if not enabled:
        return None
    return lambda label: ProgressBar(label, scenario.stop, stream)
