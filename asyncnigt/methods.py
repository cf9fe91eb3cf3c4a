"""The named methods: an outer rule × an aggregation × a server shape (methods.md §4).

Adding a method is one entry in :data:`METHODS`. Parameters a method accepts (with their
defaults) are listed in its :class:`MethodSpec`; the scenario loader rejects others.

Common parameter names: ``step_size`` (α), ``batch`` (M, or S; for synchronous methods
the number b of gradients *per worker*, default 1), ``init_batch`` (M_init of the first
round, default ``batch``), ``momentum`` (η), ``max_delay`` (R of Ringmaster ASGD),
``in_flight`` (``cancel`` | ``ignore``), ``delay_adaptive`` (ASGD step α n/max(n, δ)),
``momentum_schedule`` (AFedPG: ``constant`` | ``delay_adaptive``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .rules import afedpg, asgd, nigt, sgd

ROUND_PARAMS = {"step_size": 0.01, "batch": 1, "init_batch": None, "in_flight": "cancel"}
SYNC_PARAMS = {"step_size": 0.01, "batch": 1, "init_batch": None, "in_flight": "cancel"}
NIGT_PARAMS = {"momentum": 0.1}
STREAM_PARAMS = {"step_size": 0.01}


@dataclass(frozen=True)
class MethodSpec:
    """How a named method is assembled.

    ``server``: ``"round"`` (all workers compute at one query point until the
    aggregation's stop rule holds, then one aggregation and one update) or ``"stream"``
    (every arrival is an update and the sender is re-dispatched at the new point).
    """

    name: str
    server: str
    rule: str
    aggregation: str | None
    params: dict = field(default_factory=dict)
    description: str = ""

    def build_rule(self, p: dict, n_workers: int):
        if self.rule == "sgd":
            return sgd(p["step_size"])
        if self.rule == "nigt":
            return nigt(p["step_size"], p["momentum"])
        if self.rule == "asgd":
            return asgd(p["step_size"], n_workers, p.get("delay_adaptive", False))
        if self.rule == "afedpg":
            return afedpg(p["step_size"], p["momentum"], p["momentum_schedule"])
        raise KeyError(self.rule)


def _round(name, rule, aggregation, description, extra=None, sync=False):
    params = dict(SYNC_PARAMS if sync else ROUND_PARAMS)
    params.update(extra or {})
    return MethodSpec(name, "round", rule, aggregation, params, description)


def _stream(name, rule, description, extra):
    return MethodSpec(name, "stream", rule, None, {**STREAM_PARAMS, **extra}, description)


METHODS = {
    m.name: m
    for m in (
        _round("rennala_sgd", "sgd", "rennala", "Rennala SGD: SGD step on M gradients"),
        _round("malenia_sgd", "sgd", "malenia", "Malenia SGD: equal-weight worker means"),
        _round("minibatch_sgd", "sgd", "synchronous", "Minibatch SGD: b per worker", sync=True),
        _round("rennala_pg", "sgd", "rennala", "Rennala PG: plain PG ascent, Rennala batch"),
        _round("sync_pg", "sgd", "synchronous", "Synchronous PG", sync=True),
        _round("rennala_nigt", "nigt", "rennala", "Rennala NIGT (the paper)", NIGT_PARAMS),
        _round("malenia_nigt", "nigt", "malenia", "Malenia NIGT (the paper)", NIGT_PARAMS),
        _round("sync_nigt", "nigt", "synchronous", "Synchronized NIGT", NIGT_PARAMS, sync=True),
        _stream("asgd", "asgd", "Asynchronous SGD", {"delay_adaptive": False}),
        _stream(
            "ringmaster_asgd",
            "asgd",
            "Ringmaster ASGD: restart jobs whose delay reaches R",
            {"delay_adaptive": False, "max_delay": None},
        ),
        _stream(
            "afedpg",
            "afedpg",
            "AFedPG: normalized momentum on every arrival (reconstructed)",
            {"momentum": 0.1, "momentum_schedule": "constant"},
        ),
    )
}
