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

from collections.abc import Sequence

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

    def per_worker(self, name: str, n: int) -> WorkerGenerators:
        """One fresh generator per worker on stream ``name``, each made when first used."""
        return WorkerGenerators(self, name, n)


class WorkerGenerators(Sequence):
    """Worker i's generator on one stream (``Streams.generator(name, i)``), made when
    first used and kept: making one costs ≈ 10 µs, so at n = 10⁴ a stream that is never
    drawn from (fixed communication times, a noise-free oracle) would cost 0.1 s per
    method. The draws are the same whenever and in whatever order the generators are
    made."""

    __slots__ = ("_streams", "_name", "_made")

    def __init__(self, streams: Streams, name: str, n: int):
        if name not in STREAM_IDS:  # fail here, not at the first draw
            raise KeyError(f"unknown stream {name!r}; known: {', '.join(STREAM_IDS)}")
        self._streams, self._name = streams, name
        self._made: list[np.random.Generator | None] = [None] * int(n)

    def __len__(self) -> int:
        return len(self._made)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        made = self._made
        g = made[i]
        if g is None:
            g = made[i] = self._streams.generator(self._name, range(len(made))[i])
        return g

    def __iter__(self):
        return (self[i] for i in range(len(self)))
