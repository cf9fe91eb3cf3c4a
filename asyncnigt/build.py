"""From a validated :class:`~asyncnigt.scenario.Scenario` to runtime objects.

Everything random is drawn from named streams of the run seed
(:mod:`asyncnigt.seeding`), and every method gets *fresh* generators on the same
streams: all methods see the same computation and communication draws and the same
θ_0 (common random numbers), and adding or removing a method changes nothing else.
"""

from __future__ import annotations

from .problems import build_problem as make_problem
from .seeding import Streams
from .sim.engine import SimulationContext
from .timing.spec import LinkTime
from .timing.streams import DurationStream


def build_problem(scenario, streams: Streams):
    return make_problem(scenario.problem_kind, scenario.problem_params, streams, scenario.n)


def _links(models, dim: int) -> list:
    return [m.resolve(dim) if isinstance(m, LinkTime) else m for m in models]


def build_context(scenario, problem, streams: Streams, theta0) -> SimulationContext:
    """A fresh context (fresh generators, fresh oracle) for one method."""
    n, dim = scenario.n, problem.dim
    aggregate = scenario.aggregate
    if hasattr(aggregate, "resolve"):
        aggregate = aggregate.resolve(dim)
    return SimulationContext(
        n=n,
        compute=DurationStream(scenario.compute, streams.per_worker("compute", n)),
        upload=DurationStream(_links(scenario.upload, dim), streams.per_worker("upload", n)),
        download=DurationStream(_links(scenario.download, dim), streams.per_worker("download", n)),
        aggregate=aggregate,
        oracle=problem.oracle(streams, n),
        theta0=theta0,
        stop=scenario.stop,
        speeds=list(scenario.speeds) if scenario.speeds else None,
        per_step=scenario.per_step,
        eval_every=scenario.eval_every,
        eval_every_time=scenario.eval_every_time,
        events_until=scenario.events,
    )
