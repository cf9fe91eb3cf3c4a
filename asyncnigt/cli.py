"""Command line: ``asyncnigt run|validate|...``. A thin layer over the package.

Exit codes: 0 success; 2 bad input (one line on stderr, nothing written);
3 a method stopped on a non-finite value (its rows so far are kept).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import ScenarioError

EXIT_BAD_INPUT = 2
EXIT_NUMERICAL = 3


def _scenario_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key, e.g. --set methods[0].step_size=0.1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asyncnigt", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run every method of a scenario")
    _scenario_args(run)
    run.add_argument("--out", default=None, help="run directory (default runs/<name>-seed<seed>)")
    run.add_argument("--quiet", action="store_true", help="no progress or table")
    run.add_argument("--no-plots", action="store_true", help="do not write PNG plots")
    val = sub.add_parser("validate", help="check a scenario file and exit")
    _scenario_args(val)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ScenarioError as err:
        print(f"asyncnigt: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("asyncnigt: interrupted", file=sys.stderr)
        return 130


def _load(args):
    from .scenario import load_scenario

    return load_scenario(args.scenario, args.overrides, args.seed)


def cmd_validate(args) -> int:
    from .build import build_problem
    from .seeding import Streams

    scenario = _load(args)
    build_problem(scenario, Streams(scenario.seed)).dim  # problem-level checks too
    print(f"{args.scenario}: ok ({scenario.n} workers, problem {scenario.problem_kind}, "
          f"methods {', '.join(m.label for m in scenario.methods)})")
    return 0


def cmd_run(args) -> int:
    from .report import print_table
    from .runner import run_scenario

    scenario = _load(args)
    out = Path(args.out or f"runs/{scenario.name}-seed{scenario.seed}")
    report = None if args.quiet else _progress_line
    outcomes = run_scenario(scenario, out, report=report)
    if not args.no_plots:
        from .plots import plot_run

        plot_run(out)
    if not args.quiet:
        print_table(outcomes, scenario)
        print(f"results in {out}")
    failed = [o for o in outcomes if o.summary["status"] != "ok"]
    for o in failed:
        print(f"asyncnigt: {o.label}: {o.summary['message']}", file=sys.stderr)
    return EXIT_NUMERICAL if failed else 0


def _progress_line(label, summary, wall) -> None:
    print(f"  {label}: {summary['updates']} updates to virtual time {summary['time']:.6g} "
          f"({wall:.1f} s wall)", file=sys.stderr)


COMMANDS = {"run": cmd_run, "validate": cmd_validate}


if __name__ == "__main__":
    sys.exit(main())
