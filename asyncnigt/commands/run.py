"""``asyncnigt run SCENARIO``: run every method and write the run directory."""

from __future__ import annotations

import sys

from .common import load, out_argument, run_dir, scenario_arguments

NAME = "run"
HELP = "run every method of a scenario"
EXIT_NUMERICAL = 3


def add_arguments(p) -> None:
    scenario_arguments(p)
    out_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress or table")
    p.add_argument("--no-plots", action="store_true", help="do not write PNG plots")


def run(args) -> int:
    from ..progress import bars_for
    from ..report import print_table
    from ..runner import run_scenario

    scenario = load(args)
    out = run_dir(args, scenario)
    report = None if args.quiet else _progress_line
    progress = None if args.quiet else bars_for(scenario)  # only on a terminal
    outcomes = run_scenario(scenario, out, report=report, progress=progress)
    if not args.no_plots:
        from ..plotting import plot_run

        plot_run(out)
    if not args.quiet:
        print_table(outcomes, scenario)
        print(f"results in {out}")
    failed = [o for o in outcomes if o.summary["status"] != "ok"]
    for o in failed:  # e.g. "asyncnigt: rn (rennala_nigt) stopped: non-finite gradient at ..."
        method = o.summary["method"]
        name = o.label if o.label == method else f"{o.label} ({method})"
        print(f"asyncnigt: {name} stopped: {o.summary['message']} (rows so far kept in "
              f"{out / o.label / 'metrics.csv'})", file=sys.stderr)
    return EXIT_NUMERICAL if failed else 0


def _progress_line(label, summary, wall) -> None:
    print(f"  {label}: {summary['updates']} updates to virtual time {summary['time']:.6g} "
          f"({wall:.1f} s wall)", file=sys.stderr)
