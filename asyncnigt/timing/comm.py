"""Communication models: per-message link times and the cost of one aggregation.

Per-worker ``upload`` / ``download`` times are ordinary duration models (see
:mod:`asyncnigt.timing.durations`), one per worker, or a :func:`link_time` built from a
latency and a bandwidth with the message size taken from the parameter dimension d
(8 bytes per float64 coordinate unless ``bytes`` is given).

A *round* method pays one aggregation per update. Its cost κ is one of

* :class:`FixedAggregate` ``κ``: a constant (the paper's AllReduce time);
* :class:`SlowestLink`: ``max_i (upload_i + download_i)`` over the participating
  workers (every worker by default, as in an AllReduce; ``over="contributors"`` counts
  only workers that sent at least one gradient this round), drawn from the workers' link
  streams;
* :class:`RingAllReduce`: ``2(n−1)·latency + 2(n−1)/n · bytes/bandwidth`` (Patarasuk &
  Yuan 2009, bandwidth-optimal ring AllReduce).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .durations import Fixed, _positive


def message_bytes(dim: int, bytes_per_value: int = 8) -> int:
    """Size of one message carrying a d-dimensional float vector."""
    return int(dim) * bytes_per_value


def link_time(latency: float, bandwidth: float, nbytes: float) -> Fixed:
    """Fixed time of one message: latency + bytes / bandwidth (bytes per second)."""
    _positive("latency", latency, allow_zero=True)
    _positive("bandwidth", bandwidth)
    return Fixed(latency + nbytes / bandwidth)


@dataclass(frozen=True)
class FixedAggregate:
    """A constant cost κ per aggregation."""

    kappa: float

    def __post_init__(self):
        _positive("aggregate", self.kappa, allow_zero=True)

    def cost(self, counts, upload, download, now: float) -> float:
        return self.kappa


@dataclass(frozen=True)
class SlowestLink:
    """κ = max over participants of one upload plus one download."""

    over: str = "all"

    def __post_init__(self):
        if self.over not in ("all", "contributors"):
            raise ValueError(f"over: must be 'all' or 'contributors', got {self.over!r}")

    def cost(self, counts, upload, download, now: float) -> float:
        workers = range(len(counts))
        if self.over == "contributors":
            workers = [i for i in workers if counts[i] > 0]
        return max(
            (upload.take(i, now) + download.take(i, now) for i in workers), default=0.0
        )


@dataclass(frozen=True)
class RingAllReduce:
    """κ = 2(n−1)·latency + 2(n−1)/n · bytes/bandwidth."""

    latency: float
    bandwidth: float
    nbytes: float | None = None  # None: 8·d bytes, set by :meth:`resolve`

    def __post_init__(self):
        _positive("latency", self.latency, allow_zero=True)
        _positive("bandwidth", self.bandwidth)
        if self.nbytes is not None:
            _positive("bytes", self.nbytes, allow_zero=True)

    def resolve(self, dim: int) -> RingAllReduce:
        return self if self.nbytes is not None else replace(self, nbytes=message_bytes(dim))

    def cost(self, counts, upload, download, now: float) -> float:
        n = len(counts)
        return 2 * (n - 1) * self.latency + 2 * (n - 1) / n * self.nbytes / self.bandwidth
