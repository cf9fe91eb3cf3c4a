"""``asyncnigt validate SCENARIO``: check a scenario (and build its problem) and exit."""

from __future__ import annotations

from .common import load, scenario_arguments

NAME = "validate"
HELP = "check a scenario file and exit"


def add_arguments(p) -> None:
    scenario_arguments(p)


def run(args) -> int:
    from ..build import build_problem
    from ..seeding import Streams

    scenario = load(args)
    build_problem(scenario, Streams(scenario.seed))  # problem-level checks too
    print(f"{args.scenario}: ok ({scenario.n} workers, problem {scenario.problem_kind}, "
          f"methods {', '.join(m.label for m in scenario.methods)})")
    return 0
