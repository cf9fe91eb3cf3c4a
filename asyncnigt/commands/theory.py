"""``asyncnigt theory SCENARIO``: run a scenario and put the timing theory's predictions
(round time, arrival rate, t* and m*) next to the measured values; writes ``theory.csv``
into the run directory (:mod:`asyncnigt.theory_predict`, :mod:`asyncnigt.theory_report`).
When no method has a closed form it says so for each method and does not run.

Exit code 1 when an exact prediction or a bound does not hold (an emulator bug)."""

from __future__ import annotations

import sys
import warnings

from ..errors import ScenarioWarning
from .common import load, out_argument, run_dir, scenario_arguments

NAME = "theory"
HELP = "predicted (timing theory) vs measured round times and arrival rates"
EXIT_MISMATCH = 1


def add_arguments(p) -> None:
    scenario_arguments(p)
    out_argument(p)


def run(args) -> int:
    from ..build import build_problem
    from ..runner import run_scenario
    from ..seeding import Streams
    from ..theory_predict import predict
    from ..theory_report import (
        any_failed,
        format_theory,
        predicted_only,
        theory_rows,
        write_theory_csv,
    )

    scenario = load(args)
    out = run_dir(args, scenario)
    with warnings.catch_warnings():  # the run warns about the scenario, once
        warnings.simplefilter("ignore", ScenarioWarning)
        predictions = predict(scenario, build_problem(scenario, Streams(scenario.seed)))
    if all(p.kind == "none" for p in predictions):
        print(format_theory(predicted_only(predictions, scenario.stop)))
        print("no method of this scenario has a closed-form timing prediction: "
              "nothing to compare, not running it")
        return 0
    outcomes = run_scenario(scenario, out)
    rows = theory_rows(predictions, out, scenario)
    path = write_theory_csv(out, rows)
    print(format_theory(rows))
    print(f"{path}")
    for o in outcomes:
        if o.summary["status"] != "ok":
            print(f"asyncnigt: {o.label}: {o.summary['message']}", file=sys.stderr)
    return EXIT_MISMATCH if any_failed(rows) else 0
