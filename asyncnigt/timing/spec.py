"""Parsing of timing blocks (``workers.compute``, ``workers.comm``) into models.

Per-worker values may be a number (same for all), a list of n numbers, or a preset
``{preset: equal|sqrt|linear, scale: s}`` (:mod:`asyncnigt.timing.presets`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ScenarioError
from ..schema import Node, Param, check_value, describe, join
from . import durations as dur
from .comm import FixedAggregate, RingAllReduce, SlowestLink
from .presets import PRESETS, preset_values
from .speed import PiecewiseSpeed

# model -> the per-worker numeric parameters it takes (besides `kind`, `mode`, `samples`)
MODEL_PARAMS = {
    "fixed": ("times",),
    "exponential": ("mean",),
    "shifted_exponential": ("shift", "mean"),
    "gamma": ("shape", "mean"),
    "lognormal": ("mean", "sigma"),
    "uniform": ("low", "high"),
    "jitter": ("base", "jitter"),
    "trace": (),
}
ZERO_OK = {"times", "shift", "sigma", "low", "base", "jitter"}


@dataclass(frozen=True)
class LinkTime:
    """latency + bytes/bandwidth per message; ``nbytes=None`` means 8·d (resolved later)."""

    latency: float
    bandwidth: float
    nbytes: float | None = None

    def resolve(self, dim: int) -> dur.Fixed:
        nbytes = 8 * dim if self.nbytes is None else self.nbytes
        return dur.Fixed(self.latency + nbytes / self.bandwidth)


def per_worker(value, n: int, path: str, allow_zero: bool) -> list[float]:
    """Expand a per-worker value spec to n checked floats."""
    low_open = not allow_zero
    if isinstance(value, dict):
        node = Node(value, path)
        preset = node.take("preset", Param("str", choices=tuple(PRESETS)))
        scale = node.take("scale", Param("float", 1.0, low=0, low_open=low_open))
        node.finish()
        values = preset_values(preset, n, scale)
        if not np.isfinite(values).all():
            raise ScenarioError(join(path, "scale"),
                                f"{scale:g} overflows for {n} workers with preset '{preset}'")
        return values.tolist()
    if isinstance(value, list):
        if len(value) != n:
            raise ScenarioError(path, f"expected {n} values (one per worker), got {len(value)}")
        return [check_value(v, join(path, j), "float", 0, None, low_open)
                for j, v in enumerate(value)]
    return [check_value(value, path, "float", 0, None, low_open)] * n


def parse_durations(node: Node, n: int, default_model: str = "fixed") -> list:
    """Per-worker duration models of a timing mapping (``model`` plus its parameters)."""
    if "times" not in node.data and "preset" in node.data:  # compute: {preset: sqrt, scale: 1}
        spec = {"preset": node.raw("preset"), "scale": node.raw("scale", 1.0)}
        node.data = {**node.data, "times": spec}
    model = node.take("model", Param("str", default_model, choices=tuple(MODEL_PARAMS)))
    values = {}
    for key in MODEL_PARAMS[model]:
        path = join(node.path, key)
        if key not in node.data:
            raise ScenarioError(path, f"is required for model '{model}'")
        values[key] = per_worker(node.raw(key), n, path, key in ZERO_OK)
        node.resolved[key] = values[key]
    try:
        return [_model(model, node, {k: v[i] for k, v in values.items()}, i, n) for i in range(n)]
    except OverflowError:  # e.g. a lognormal sigma whose square exceeds 1e308
        raise ScenarioError(node.path, f"the parameters of model '{model}' overflow "
                                       "floating point") from None
    except ValueError as err:
        if isinstance(err, ScenarioError):
            raise
        raise ScenarioError(node.path, str(err)) from None


def _model(model: str, node: Node, v: dict, i: int, n: int):
    if model == "fixed":
        return dur.Fixed(v["times"])
    if model == "exponential":
        return dur.Exponential(v["mean"])
    if model == "shifted_exponential":
        return dur.ShiftedExponential(v["shift"], v["mean"])
    if model == "gamma":
        return dur.Gamma(v["shape"], v["mean"] / v["shape"])
    if model == "lognormal":
        return dur.LogNormal.from_mean(v["mean"], v["sigma"])
    if model == "uniform":
        if not v["high"] > v["low"]:
            raise ScenarioError(join(node.path, "high"), f"must be > low for worker {i}")
        return dur.Uniform(v["low"], v["high"])
    if model == "jitter":
        kind = node.take("kind", Param("str", "halfnormal", choices=("halfnormal", "exponential")))
        return dur.Jitter(v["base"], v["jitter"], kind)
    return _trace(node, i, n)


def _trace(node: Node, i: int, n: int) -> dur.Trace:
    mode = node.take("mode", Param("str", "resample", choices=("resample", "replay")))
    samples = node.take("samples", Param("list", doc="a list of durations, or one list per worker"))
    path = join(node.path, "samples")
    if samples and all(isinstance(row, list) for row in samples):
        if len(samples) < n:
            raise ScenarioError(path, f"has {len(samples)} rows but there are {n} workers")
        row, path = samples[i], join(path, i)
    else:
        row = samples
    if not row:
        raise ScenarioError(path, "must be a non-empty list of durations")
    return dur.Trace(tuple(check_value(x, join(path, j), "float", 0, None, True)
                           for j, x in enumerate(row)), mode)


def parse_link(value, n: int, path: str) -> list:
    """An upload/download spec: per-worker value, duration mapping, or latency/bandwidth."""
    if isinstance(value, dict) and ("latency" in value or "bandwidth" in value):
        node = Node(value, path)
        link = LinkTime(
            node.take("latency", Param("float", 0.0, low=0)),
            node.take("bandwidth", Param("float", doc="bytes per second", low=0, low_open=True)),
            node.take("bytes", Param("float", None, "message size; default 8·d", low=0)),
        )
        node.finish()
        return [link] * n
    if isinstance(value, dict) and "preset" not in value:
        node = Node(value, path)
        models = parse_durations(node, n)
        node.finish()
        return models
    return [dur.Fixed(t) for t in per_worker(value, n, path, allow_zero=True)]


def parse_aggregate(value, path: str):
    if not isinstance(value, dict):
        return FixedAggregate(check_value(value, path, "float", 0))
    node = Node(value, path)
    models = ("fixed", "slowest_link", "ring_allreduce")
    model = node.take("model", Param("str", "fixed", choices=models))
    if model == "fixed":
        cost = FixedAggregate(node.take("kappa", Param("float", 0.0, low=0)))
    elif model == "slowest_link":
        cost = SlowestLink(node.take("over", Param("str", "all", choices=("all", "contributors"))))
    else:
        cost = RingAllReduce(
            node.take("latency", Param("float", 0.0, low=0)),
            node.take("bandwidth", Param("float", low=0, low_open=True)),
            node.take("bytes", Param("float", None, "message size; default 8·d", low=0)),
        )
    node.finish()
    return cost


def parse_speeds(node: Node, n: int) -> list | None:
    """``speed`` (piecewise-constant profiles) and ``outages`` of a compute block."""
    profiles: list = [None] * n
    for j, entry in enumerate(node.take("speed", Param("list", []))):
        item = Node(entry, join(join(node.path, "speed"), j))
        workers = _workers(item, n)
        b = item.take("breakpoints", Param("list", doc="segment start times, first 0"))
        v = item.take("speeds", Param("list", doc="speed on each segment"))
        item.finish()
        b, v = _numbers(b, join(item.path, "breakpoints")), _numbers(v, join(item.path, "speeds"))
        try:
            profile = PiecewiseSpeed(tuple(b), tuple(v))
        except ValueError as err:
            raise ScenarioError(item.path, str(err)) from None
        for w in workers:
            profiles[w] = profile
    windows: dict[int, list] = {}
    for j, entry in enumerate(node.take("outages", Param("list", []))):
        item = Node(entry, join(join(node.path, "outages"), j))
        workers = _workers(item, n)
        start = item.take("start", Param("float", low=0))
        end = item.take("end", Param("float", low=0))
        item.finish()
        if not end > start:
            raise ScenarioError(join(item.path, "end"), f"must be > start = {start:g}, got {end:g}")
        for w in workers:
            if profiles[w] is not None:
                raise ScenarioError(item.path, f"worker {w} has both a speed profile and outages")
            windows.setdefault(w, []).append((start, end))
    for w, win in windows.items():
        try:
            profiles[w] = PiecewiseSpeed.with_outages(win)
        except ValueError as err:
            raise ScenarioError(join(node.path, "outages"), f"worker {w}: {err}") from None
    return profiles if any(p is not None for p in profiles) else None


def _numbers(values: list, path: str) -> list[float]:
    return [check_value(x, join(path, k), "float", 0) for k, x in enumerate(values)]


def _workers(item: Node, n: int) -> list[int]:
    value = item.raw("workers", "all")
    item.resolved["workers"] = value
    if value == "all":
        return list(range(n))
    values = value if isinstance(value, list) else [value]
    path = join(item.path, "workers")
    out = []
    for j, w in enumerate(values):
        w = check_value(w, join(path, j), "int", 0)
        if w >= n:
            raise ScenarioError(join(path, j), f"must be a worker index < {n}, got {w}")
        out.append(w)
    if not out:
        raise ScenarioError(path, f"must name at least one worker, got {describe(value)}")
    return out
