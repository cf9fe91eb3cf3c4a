"""The progress bar: throttled by its own (wall) clock, fraction of the stop budget,
erased when done, off when stderr is not a terminal."""

from __future__ import annotations

import io

from asyncnigt.progress import ProgressBar, bars_for
from asyncnigt.sim.engine import StopRule


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_bar_waits_throttles_and_erases():
    clock, out = Clock(), io.StringIO()
    bar = ProgressBar("m", StopRule(time=100.0), out, interval=1.0, delay=0.5, clock=clock)
    bar(1, 10.0)
    assert out.getvalue() == ""  # short runs print nothing
    clock.now = 0.6
    bar(2, 25.0)
    assert "25%" in out.getvalue() and "t=25/100 s" in out.getvalue()
    clock.now = 1.0
    bar(3, 50.0)  # within the redraw interval
    assert "50%" not in out.getvalue()
    clock.now = 1.7
    bar(4, 50.0)
    assert "50%" in out.getvalue()
    bar.close()
    assert out.getvalue().endswith("\r")


def test_fraction_uses_the_first_budget_to_run_out():
    assert ProgressBar("m", StopRule(updates=10, time=100.0)).fraction(5, 10.0) == 0.5
    assert ProgressBar("m", StopRule(updates=10, time=100.0)).fraction(1, 80.0) == 0.8
    assert ProgressBar("m", StopRule(gradients=10)).fraction(5, 1.0) is None


def test_no_bar_off_a_terminal():
    class Scenario:
        stop = StopRule(updates=3)

    assert bars_for(Scenario(), io.StringIO()) is None
    assert bars_for(Scenario(), io.StringIO(), enabled=True)("m") is not None
