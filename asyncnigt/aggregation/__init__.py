"""Aggregations: when a round is done and how its gradients combine (pure numpy).

Each aggregation is an :class:`~asyncnigt.aggregation.base.Aggregation`: a pure stop rule
``done(counts, M)``, a pure ``combine(grads, counts)`` and an incremental ``tracker`` that
answers the stop rule in O(1) per arrival (tested equal to ``done``).
"""

from .base import CONTINUE, DONE, IDLE, Aggregation
from .malenia import MALENIA
from .rennala import RENNALA
from .synchronous import SYNCHRONOUS

AGGREGATIONS = {a.name: a for a in (RENNALA, MALENIA, SYNCHRONOUS)}

__all__ = ["AGGREGATIONS", "Aggregation", "CONTINUE", "DONE", "IDLE"]
