"""Types, ranges and meanings of method parameters (shared by all methods)."""

from __future__ import annotations

from .schema import Param

METHOD_PARAMS = {
    "step_size": Param("float", 0.01, "step size α", low=0, low_open=True),
    "batch": Param("int", 1, "batch M (S); per-worker b for synchronous methods", low=1),
    "init_batch": Param("int", None, "M_init of the first round (default: batch)", low=1),
    "momentum": Param("float", 0.1, "momentum η ∈ (0, 1]", low=0, high=1, low_open=True),
    "in_flight": Param("str", "cancel", "unfinished work at round end",
                       choices=("cancel", "ignore")),
    "engine": Param("str", "fast", "round timing: numpy where valid, or one event per job",
                    choices=("fast", "events")),
    "delay_adaptive": Param("bool", False, "ASGD step α·n/max(n, δ)"),
    "max_delay": Param("int", None, "Ringmaster ASGD delay threshold R", low=1),
    "momentum_schedule": Param("str", "constant", "AFedPG η_k",
                               choices=("constant", "delay_adaptive")),
}
