"""Outer update rules as pure functions (Optax style).

A rule is ``Rule(init, query, update, params)``:

* ``init(theta0) -> state`` (an immutable NamedTuple);
* ``query(state) -> point`` where workers must evaluate gradients;
* ``update(state, g, **extra) -> state`` (``extra``: ``delay`` δ of a stream job and
  ``dispatched``, the state the job was dispatched from);
* ``params(state) -> θ``, the iterate that is evaluated and reported.

All rules *ascend* (RL maximises J; oracles of minimisation problems return −∇f).
"""

from .afedpg import afedpg
from .base import Rule
from .nigt import nigt
from .sgd import asgd, sgd

__all__ = ["Rule", "afedpg", "asgd", "nigt", "sgd"]
