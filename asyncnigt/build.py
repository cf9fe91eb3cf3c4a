"""From a validated :class:`~asyncnigt.scenario.Scenario` to runtime objects.

Everything random is drawn from named streams of the run seed
(:mod:`asyncnigt.seeding`), and every method gets *fresh* generators on the same
streams: all methods see the same computation and communication draws and the same
θ_0 (common random numbers), and adding or removing a method changes nothing else.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from .errors import ScenarioError, ScenarioWarning
from .methods import METHODS
from .problems import build_problem as make_problem
from .seeding import Streams
from .sim.engine import SimulationContext
from .timing.spec import LinkTime
from .timing.streams import DurationStream

EQUAL_WEIGHT = ("malenia", "synchronous")  # aggregations that weight every worker equally
SPREAD_WARNING = 1e6  # compute-time spread from which rounds that wait for all are warned of


def build_problem(scenario, streams: Streams):
    """The scenario's problem, after the checks that need it (raises ScenarioError).

    Message sizes of ``{latency, bandwidth}`` links depend on the dimension d, so link
    times are checked here. A heterogeneous problem run by a method that weights workers
    by their gradient counts is allowed (it shows that method's bias) but warned about
    (:class:`~asyncnigt.errors.ScenarioWarning`; docs/scenarios.md), and so are compute
    times so spread that a Malenia round takes very long to emulate.
    """
    problem = make_problem(scenario.problem_kind, scenario.problem_params, streams, scenario.n)
    for side, models in (("upload", scenario.upload), ("download", scenario.download)):
        try:
            _links(models, problem.dim)
        except ValueError:  # the only way a checked link fails: bytes/bandwidth overflows
            raise ScenarioError(f"workers.comm.{side}", "latency + bytes/bandwidth is not a "
                                f"finite time (message of {8 * problem.dim} bytes unless "
                                "`bytes` is given)") from None
    for message in (heterogeneity_warning(scenario, problem), spread_warning(scenario)):
        if message:
            warnings.warn(message, ScenarioWarning, stacklevel=2)
    return problem


def heterogeneity_warning(scenario, problem) -> str | None:
    """Why count-weighted methods are a questionable choice here, or ``None``."""
    if not problem.heterogeneous:
        return None
    weighted = [m.label for m in scenario.methods
                if METHODS[m.name].aggregation not in EQUAL_WEIGHT]
    if not weighted:
        return None
    verb = "weights" if len(weighted) == 1 else "weight"
    return (f"the problem is heterogeneous and {', '.join(weighted)} {verb} workers by the "
            "gradients they send, so fast workers' objectives dominate (malenia_* and "
            "sync methods weight workers equally)")


def spread_warning(scenario) -> str | None:
    """Why a Malenia round would take very long to emulate, or ``None``: it waits for
    every worker's gradient, so its fastest worker computes about max_i τ_i / min_i τ_i
    gradients per round (mean times), one event each. Valid and emulated faithfully."""
    waiting = [m.label for m in scenario.methods if METHODS[m.name].aggregation == "malenia"]
    means = [m.mean for m in scenario.compute]
    spread = max(means) / min(means)
    if not waiting or not spread >= SPREAD_WARNING:
        return None
    verb = "waits" if len(waiting) == 1 else "wait"
    return (f"workers.compute: the slowest worker's mean time is {spread:.3g} times the "
            f"fastest's, and {', '.join(waiting)} {verb} for every worker in each round: "
            f"the fastest computes about {spread:.3g} gradients per round, one event each "
            "to emulate")


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


class RunInputs(NamedTuple):
    """What every method of one run shares: the seed's streams, the problem and θ_0."""

    streams: Streams
    problem: object
    theta0: np.ndarray


def build_run(scenario) -> RunInputs:
    """The streams, problem and common θ_0 (``init`` stream) of ``scenario``'s run."""
    streams = Streams(scenario.seed)
    problem = build_problem(scenario, streams)
    return RunInputs(streams, problem, problem.initial_point(streams.generator("init")))
