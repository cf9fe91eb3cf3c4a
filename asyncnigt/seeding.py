"""Named random streams spawned from one ``SeedSequence`` per run.

Every random quantity of a run comes from a stream identified by a *name* and, where it
is per worker, a worker index. A stream is ``SeedSequence(seed, spawn_key=(id(name), i))``
so that

* methods of one scenario that ask for the same stream get the same draws (common random
  numbers: the j-th computation of worker i lasts the same for every method);
* adding or removing a method, or running a sweep with more processes, never shifts
  another stream;
* no global RNG is ever touched.

The stream identifiers below are part of the determinism contract (``docs/design.md``):
never renumber them, only append.
"""

from __future__ import annotations

import numpy as np

STREAM_IDS = {
    "compute": 1,  # per worker: computation durations
    "upload": 2,  # per worker: upload durations
    "download": 3,  # per worker: download durations
    "oracle": 4,  # per worker: gradient noise / environment trajectories
    "init": 5,  # the initial point theta_0
    "evaluation": 6,  # evaluation episodes
    "aggregate": 7,  # random aggregation (collective) cost
    "problem": 8,  # random construction of the problem itself (matrices, shifts)
}


class Streams:
    """Factory of named, reproducible random streams for one run seed."""

    def __init__(self, seed: int):
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.seed = int(seed)

    def seed_sequence(self, name: str, index: int = 0) -> np.random.SeedSequence:
        """The ``SeedSequence`` of stream ``name`` (worker ``index`` where per worker)."""
        return np.random.SeedSequence(self.seed, spawn_key=(STREAM_IDS[name], int(index)))

    def generator(self, name: str, index: int = 0) -> np.random.Generator:
        """A fresh ``Generator`` on stream ``name``; calling twice gives the same draws."""
        return np.random.Generator(np.random.PCG64(self.seed_sequence(name, index)))

    def per_worker(self, name: str, n: int) -> list[np.random.Generator]:
        """One fresh generator per worker on stream ``name``."""
        return [self.generator(name, i) for i in range(n)]
