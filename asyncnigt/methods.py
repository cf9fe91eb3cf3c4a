"""The named methods: an outer rule × an aggregation × a server shape (methods.md §4).

Adding a method is one entry in :data:`METHODS`. The parameter names a method accepts are
listed in its :class:`MethodSpec`; their types, ranges and defaults are in
:data:`asyncnigt.method_params.METHOD_PARAMS`; the scenario loader rejects others.

Common parameter names: ``step_size`` (α), ``batch`` (M, or S; for synchronous methods
the number b of gradients *per worker*, default 1), ``init_batch`` (M_init of the first
round, default ``batch``), ``momentum`` (η), ``max_delay`` (R of Ringmaster ASGD),
``in_flight`` (``cancel`` | ``ignore``), ``delay_adaptive`` (ASGD step α n/max(n, δ)),
``momentum_schedule`` (AFedPG: ``constant`` | ``delay_adaptive``), ``engine`` (round
methods: ``fast`` | ``events``, identical results; see :mod:`asyncnigt.sim.fast_round`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .rules import afedpg, asgd, nigt, sgd

ROUND_PARAMS = ("step_size", "batch", "init_batch", "in_flight", "engine")
NIGT_PARAMS = ("momentum",)


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
    params: tuple[str, ...] = ()
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


def _round(name, rule, aggregation, description, extra=()):
    return MethodSpec(name, "round", rule, aggregation, ROUND_PARAMS + extra, description)


def _stream(name, rule, description, extra):
    return MethodSpec(name, "stream", rule, None, ("step_size", *extra), description)


METHODS = {
    m.name: m
    for m in (
        _round("rennala_sgd", "sgd", "rennala", "Rennala SGD: SGD step on M gradients"),
        _round("malenia_sgd", "sgd", "malenia", "Malenia SGD: equal-weight worker means"),
        _round("minibatch_sgd", "sgd", "synchronous", "Minibatch SGD: b per worker"),
        _round("rennala_pg", "sgd", "rennala", "Rennala PG: plain PG ascent, Rennala batch"),
        _round("sync_pg", "sgd", "synchronous", "Synchronous PG"),
        _round("rennala_nigt", "nigt", "rennala", "Rennala NIGT (the paper)", NIGT_PARAMS),
        _round("malenia_nigt", "nigt", "malenia", "Malenia NIGT (the paper)", NIGT_PARAMS),
        _round("sync_nigt", "nigt", "synchronous", "Synchronized NIGT", NIGT_PARAMS),
        _stream("asgd", "asgd", "Asynchronous SGD", ("delay_adaptive",)),
        _stream(
            "ringmaster_asgd",
            "asgd",
            "Ringmaster ASGD: restart jobs whose delay reaches R",
            ("delay_adaptive", "max_delay"),
        ),
        _stream(
            "afedpg",
            "afedpg",
            "AFedPG: normalized momentum on every arrival (reconstructed)",
            ("momentum", "momentum_schedule"),
        ),
    )
}
