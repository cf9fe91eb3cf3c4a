"""Duration distributions: how long one computation (or one message) takes.

Each model is a small frozen dataclass (Ciw style) with

* ``sample(rng, now, size=None)``: draw durations in virtual seconds; ``now`` is the
  virtual time at which the job starts (every built-in model is *stationary* and ignores
  it; a non-stationary model sets ``stationary = False`` and is then sampled one job at a
  time);
* ``mean`` and ``var``: the analytic first two moments (checked against sample moments
  in ``tests/test_durations.py``).

All parameters are validated on construction; every sample is > 0 except for ``Fixed(0)``
which models a free operation (e.g. no communication).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


def _positive(name: str, value: float, allow_zero: bool = False) -> None:
    ok = value >= 0 if allow_zero else value > 0
    if not (math.isfinite(value) and ok):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}: must be {bound}, got {value!r}")


@dataclass(frozen=True)
class Fixed:
    """Deterministic duration τ (the fixed-computation model)."""

    value: float
    stationary = True

    def __post_init__(self):
        _positive("value", self.value, allow_zero=True)

    def sample(self, rng, now=None, size=None):
        return self.value if size is None else np.full(size, self.value)

    @property
    def mean(self) -> float:
        return self.value

    @property
    def var(self) -> float:
        return 0.0


@dataclass(frozen=True)
class Exponential:
    """Exponential duration with the given mean (rate 1/mean)."""

    scale: float
    stationary = True

    def __post_init__(self):
        _positive("mean", self.scale)

    def sample(self, rng, now=None, size=None):
        return rng.exponential(self.scale, size)

    @property
    def mean(self) -> float:
        return self.scale

    @property
    def var(self) -> float:
        return self.scale**2


@dataclass(frozen=True)
class ShiftedExponential:
    """shift + Exponential(scale): a minimum time plus a memoryless tail."""

    shift: float
    scale: float
    stationary = True

    def __post_init__(self):
        _positive("shift", self.shift, allow_zero=True)
        _positive("mean", self.scale)

    def sample(self, rng, now=None, size=None):
        return self.shift + rng.exponential(self.scale, size)

    @property
    def mean(self) -> float:
        return self.shift + self.scale

    @property
    def var(self) -> float:
        return self.scale**2


@dataclass(frozen=True)
class Gamma:
    """Gamma(shape k, scale θ): mean kθ, variance kθ²."""

    shape: float
    scale: float
    stationary = True

    def __post_init__(self):
        _positive("shape", self.shape)
        _positive("scale", self.scale)

    def sample(self, rng, now=None, size=None):
        return rng.gamma(self.shape, self.scale, size)

    @property
    def mean(self) -> float:
        return self.shape * self.scale

    @property
    def var(self) -> float:
        return self.shape * self.scale**2


@dataclass(frozen=True)
class LogNormal:
    """exp(N(μ, s²)): mean e^{μ+s²/2}, variance (e^{s²} − 1) e^{2μ+s²}."""

    mu: float
    sigma: float
    stationary = True

    def __post_init__(self):
        if not math.isfinite(self.mu):
            raise ValueError(f"mu: must be finite, got {self.mu!r}")
        _positive("sigma", self.sigma, allow_zero=True)

    @classmethod
    def from_mean(cls, mean: float, sigma: float) -> LogNormal:
        """The log-normal with the given mean and log-standard-deviation s."""
        _positive("mean", mean)
        return cls(math.log(mean) - sigma**2 / 2, sigma)

    def sample(self, rng, now=None, size=None):
        return rng.lognormal(self.mu, self.sigma, size)

    @property
    def mean(self) -> float:
        return math.exp(self.mu + self.sigma**2 / 2)

    @property
    def var(self) -> float:
        return math.expm1(self.sigma**2) * math.exp(2 * self.mu + self.sigma**2)


@dataclass(frozen=True)
class Uniform:
    """Uniform on [low, high], 0 <= low < high."""

    low: float
    high: float
    stationary = True

    def __post_init__(self):
        _positive("low", self.low, allow_zero=True)
        if not (math.isfinite(self.high) and self.high > self.low):
            raise ValueError(f"high: must be > low = {self.low}, got {self.high!r}")

    def sample(self, rng, now=None, size=None):
        return rng.uniform(self.low, self.high, size)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def var(self) -> float:
        return (self.high - self.low) ** 2 / 12


@dataclass(frozen=True)
class Jitter:
    """base + |noise|: a fixed time plus half-normal or exponential jitter of scale s.

    Half-normal: mean base + s√(2/π), variance s²(1 − 2/π). Exponential: mean base + s,
    variance s².
    """

    base: float
    scale: float
    kind: str = "halfnormal"
    stationary = True

    def __post_init__(self):
        _positive("base", self.base, allow_zero=True)
        _positive("jitter", self.scale, allow_zero=True)
        if self.kind not in ("halfnormal", "exponential"):
            raise ValueError(f"kind: must be 'halfnormal' or 'exponential', got {self.kind!r}")

    def sample(self, rng, now=None, size=None):
        if self.kind == "halfnormal":
            return self.base + np.abs(rng.normal(0.0, self.scale, size))
        return self.base + rng.exponential(self.scale, size)

    @property
    def mean(self) -> float:
        if self.kind == "halfnormal":
            return self.base + self.scale * math.sqrt(2 / math.pi)
        return self.base + self.scale

    @property
    def var(self) -> float:
        if self.kind == "halfnormal":
            return self.scale**2 * (1 - 2 / math.pi)
        return self.scale**2


@dataclass(frozen=True)
class Trace:
    """An empirical distribution: i.i.d. resampling of recorded durations.

    ``mode="resample"`` (default) draws uniformly from ``samples``; ``mode="replay"`` is
    handled by :class:`asyncnigt.timing.streams.DurationStream`, which then plays the
    samples back in order, cyclically, and never touches the generator.
    """

    samples: tuple[float, ...] = field(default=())
    mode: str = "resample"
    stationary = True

    def __post_init__(self):
        if len(self.samples) == 0:
            raise ValueError("samples: must be a non-empty list of durations")
        for j, x in enumerate(self.samples):
            _positive(f"samples[{j}]", x)
        if self.mode not in ("resample", "replay"):
            raise ValueError(f"mode: must be 'resample' or 'replay', got {self.mode!r}")

    def sample(self, rng, now=None, size=None):
        values = np.asarray(self.samples, dtype=float)
        idx = rng.integers(0, len(values), size)
        return values[idx] if size is not None else float(values[idx])

    @property
    def mean(self) -> float:
        return float(np.mean(self.samples))

    @property
    def var(self) -> float:
        return float(np.var(self.samples))


DURATION_MODELS = {
    "fixed": Fixed,
    "exponential": Exponential,
    "shifted_exponential": ShiftedExponential,
    "gamma": Gamma,
    "lognormal": LogNormal,
    "uniform": Uniform,
    "jitter": Jitter,
    "trace": Trace,
}
