"""The SimPy runtime: the only package that imports simpy.

* :mod:`.pool`: workers computing jobs, with one SimPy event outstanding for the earliest
  completion (cancelling a round is O(1), not n interrupts);
* :mod:`.round_server`: Rennala / Malenia / synchronous rounds;
* :mod:`.stream_server`: ASGD, Ringmaster ASGD, AFedPG;
* :mod:`.recorder`: metrics rows and the optional event trace.

Tie rule (documented in docs/design.md): completions at the same virtual instant are
processed in increasing worker index; other simultaneous SimPy events resolve in SimPy's
FIFO order (by scheduling order).
"""

from .engine import SimulationContext, simulate

__all__ = ["SimulationContext", "simulate"]
