"""``asyncnigt sweep SCENARIO --seeds 0:5 --grid KEY=V1,V2 --jobs N --out DIR``.

Runs every grid cell × seed as one run directory ``DIR/<cell>/seed<k>/`` and writes
``sweep.csv``, ``sweep_summary.csv`` and one figure per cell. Started again with the same
command, it finishes only the missing runs. Ctrl-C keeps the finished runs (exit 130).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

NAME = "sweep"
HELP = "run a scenario over seeds and a parameter grid"
EXIT_NUMERICAL = 3


def add_arguments(p) -> None:
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--seeds", default=None,
                   help="A:B (seeds A..B-1), a comma list, or one seed (default: the scenario's)")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="a grid axis, e.g. --grid methods[0].step_size=0.01,0.1 (repeatable)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key in every run")
    p.add_argument("--jobs", type=int, default=1, help="parallel processes (0: one per CPU)")
    p.add_argument("--out", default=None, help="sweep directory (default sweeps/<name>)")
    p.add_argument("--quiet", action="store_true", help="no progress lines or table")
    p.add_argument("--no-plots", action="store_true", help="do not write PNG plots")


def run(args) -> int:
    from ..errors import ScenarioError
    from ..scenario import load_scenario
    from ..sweep import parse_grid, parse_seeds, plan_sweep, run_sweep

    base = load_scenario(args.scenario, args.overrides)
    seeds = parse_seeds(args.seeds) if args.seeds is not None else (base.seed,)
    if args.jobs < 0:
        raise ScenarioError("--jobs", f"must be >= 0, got {args.jobs}")
    jobs = args.jobs or os.cpu_count() or 1
    out = Path(args.out or f"sweeps/{base.name}")
    plan = plan_sweep(args.scenario, args.overrides, seeds, parse_grid(args.grid), out)
    log = _Log(args.quiet)
    try:
        outcome = run_sweep(plan, jobs, on_start=log.start, on_done=log.done)
    except KeyboardInterrupt:
        print(f"asyncnigt: sweep interrupted after {log.finished} runs; "
              "run the same command again to finish it", file=sys.stderr)
        raise
    if not args.no_plots:
        from ..plotting import plot_sweep

        plot_sweep(out)
    if not args.quiet:
        _print_summary(outcome)
        print(f"results in {out}")
    records = [dict(zip(outcome.summary_columns, r, strict=True))
               for r in outcome.summary_rows]
    failed = [r for r in records if r["ok"] < r["seeds"]]
    for r in failed:
        print(f"asyncnigt: {r['cell']}: {r['label']}: {r['seeds'] - r['ok']} of {r['seeds']} runs "
              "stopped on a non-finite value (status in sweep.csv)", file=sys.stderr)
    return EXIT_NUMERICAL if failed else 0


class _Log:
    """One line per finished run on stderr."""

    def __init__(self, quiet: bool):
        self.quiet, self.finished, self.pending = quiet, 0, 0

    def start(self, pending: int, total: int) -> None:
        self.pending = pending
        if not self.quiet:
            print(f"sweep: {total} runs, {total - pending} already complete, {pending} to run",
                  file=sys.stderr)

    def done(self, result) -> None:
        self.finished += 1
        if not self.quiet:
            print(f"  [{self.finished}/{self.pending}] {result.name} "
                  f"({result.wall_seconds:.1f} s wall)", file=sys.stderr)


def _print_summary(outcome) -> None:
    """Per cell and method: median [q20, q80] of the final objective, and the median time
    to each target with the number of seeds that reached it."""
    from ..report import format_table

    cols = outcome.summary_columns
    metric = "final_objective" if "final_objective_median" in cols else "final_grad_norm"
    targets = sorted((c.removesuffix("_reached") for c in cols if c.endswith("_reached")),
                     key=_target_order)
    headers = ["cell", "method", "runs", f"{metric} median [q20, q80]",
               *(f"{t.replace('time_to_', 't→')} median (reached)" for t in targets)]
    rows = []
    for r in outcome.summary_rows:
        rec = dict(zip(cols, r, strict=True))
        line = [rec["cell"], rec["label"], rec["seeds"], _band(rec, metric)]
        for t in targets:
            line.append(f"{_fmt(rec[t + '_median'])} ({rec[t + '_reached']}/{rec['seeds']})")
        rows.append(line)
    print(format_table(headers, rows))


def _target_order(column: str):
    """``time_to_objective_50.0`` before ``time_to_objective_150.0``."""
    key, _, value = column.rpartition("_")
    try:
        return key, float(value)
    except ValueError:
        return key, 0.0


def _band(rec, metric) -> str:
    if f"{metric}_median" not in rec:
        return "-"
    low, mid, high = (_fmt(rec[f"{metric}_{q}"]) for q in ("q20", "median", "q80"))
    return f"{mid} [{low}, {high}]"


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.4g}"
