"""Entry point of the runtime: run one method of a scenario on a fresh SimPy clock."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import simpy

from ..aggregation import AGGREGATIONS
from ..threads import single_threaded_blas
from .collector import fewer_collections
from .recorder import NumericalError, Recorder
from .round_server import RoundServer
from .stream_server import StreamServer


@dataclass(frozen=True)
class StopRule:
    """Stop at whichever comes first (``None`` = no limit)."""

    updates: int | None = None
    time: float | None = None
    gradients: int | None = None


@dataclass
class SimulationContext:
    """Everything a method needs, built fresh per method from the run's streams.

    ``compute``/``upload``/``download`` are :class:`~asyncnigt.timing.streams.DurationStream`
    objects; ``aggregate`` a cost model of :mod:`asyncnigt.timing.comm`; ``speeds`` one
    :class:`~asyncnigt.timing.speed.PiecewiseSpeed` (or ``None``) per worker; ``per_step``
    multiplies a job's drawn duration by the steps its trajectory took.
    """

    n: int
    compute: object
    upload: object
    download: object
    aggregate: object
    oracle: object
    theta0: np.ndarray
    stop: StopRule
    speeds: list | None = None
    per_step: bool = False
    eval_every: int | None = 1
    eval_every_time: float | None = None
    events_until: int = 0
    progress: object = None  # optional callable(update, virtual_time)


@dataclass
class SimulationResult:
    columns: tuple[str, ...]
    rows: list[tuple]
    events: list[tuple] | None
    theta: np.ndarray
    status: str = "ok"  # "ok" or "numerical_error"
    message: str = ""
    extra: dict = field(default_factory=dict)


def simulate(spec, params: dict, ctx: SimulationContext) -> SimulationResult:
    """Run method ``spec`` (a :class:`~asyncnigt.methods.MethodSpec`) with ``params``."""
    env = simpy.Environment()
    rec = Recorder(ctx.oracle, ctx.eval_every, ctx.events_until, ctx.eval_every_time,
                   ctx.n, ctx.progress)
    rule = spec.build_rule(params, ctx.n)
    if spec.server == "round":
        server = RoundServer(env, ctx, rule, AGGREGATIONS[spec.aggregation], params, rec)
    else:
        server = StreamServer(env, ctx, rule, params, rec)
    status, message = "ok", ""
    theta = None
    try:
        # overflow and NaN are reported by the recorder's and the servers' checks as one
        # NumericalError naming update and time, not as numpy warnings along the way; BLAS
        # runs single-threaded (asyncnigt.threads); the garbage collector passes less
        # often (collector.py)
        with single_threaded_blas(), fewer_collections(), np.errstate(
                over="ignore", invalid="ignore", divide="ignore"):
            env.run(until=env.process(server.process()))
            theta = rule.params(server.state)
            rec.finish(theta)
    except NumericalError as err:  # stop this method; the rows so far are kept
        if err.update is None:
            err.update = rec.rows[-1][0] + 1 if rec.rows else 0
        if err.time is None:
            err.time = env.now
        status, message = "numerical_error", str(err)
    if theta is None:
        theta = rule.params(server.state)
    return SimulationResult(rec.columns, rec.rows, rec.events, theta, status, message,
                            {"gradients_per_worker": rec.worker_used})
