"""The aggregation interface.

``done(counts, M) -> bool`` and ``combine(sums, counts) -> g`` are pure functions of the
per-worker gradient counts M_i and per-worker gradient sums ḡ_i = Σ_j g_ij (shape (n, d)).
``tracker(n, M)`` builds a mutable O(1)-per-arrival object whose ``add(i)`` returns

* ``CONTINUE``: worker i starts another gradient at the same query point;
* ``IDLE``: worker i has done its share and waits for the round's end;
* ``DONE``: this arrival completes the round.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

CONTINUE, IDLE, DONE = 0, 1, 2


class Aggregation(NamedTuple):
    name: str
    done: Callable[[np.ndarray, int], bool]
    combine: Callable[[np.ndarray, np.ndarray], np.ndarray]
    tracker: Callable[[int, int], object]
