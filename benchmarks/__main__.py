"""Run every benchmark and print its table of side-by-side ratios.

    python -m benchmarks            # engine, rollouts, end to end (about 5 minutes)
    python -m benchmarks --quick    # fewer arrivals, repeats and shorter end-to-end budgets
    python -m benchmarks --only engine rollouts

Absolute rates drift on a shared machine; every table compares variants measured
alternately in the same process, so read the ratio columns (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings

from . import end_to_end, event_engine, rollouts

PARTS = ("engine", "rollouts", "end_to_end")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller budgets (a rough check)")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # scenario warnings (heterogeneity) are not the point here
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(f"asyncnigt benchmarks: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load average {load[0]:.2f}, Python {sys.version.split()[0]}")
    start = time.perf_counter()
    if "engine" in args.only:
        print("\n== Event engine: simulated gradient arrivals per CPU second "
              "(tiny synthetic problem)")
        event_engine.table(arrivals=30_000 if args.quick else 100_000,
                           repeats=1 if args.quick else 3, min_rounds=20 if args.quick else 100)
        print("\n   round fast path at n = 1000 against the batch S (default engine / heapq):")
        event_engine.batch_sweep(arrivals=30_000 if args.quick else 100_000,
                                 repeats=1 if args.quick else 3,
                                 min_rounds=20 if args.quick else 100)
        print("")
        event_engine.fixed_batch_table(arrivals=30_000 if args.quick else 100_000,
                                       repeats=1 if args.quick else 3)
    if "rollouts" in args.only:
        print("\n== Rollouts: environment steps per wall second of a Rennala round's gradients")
        rollouts.table(repeats=1 if args.quick else 3,
                       horizon=200 if args.quick else None)
    if "end_to_end" in args.only:
        print("\n== End to end: wall seconds of whole runs")
        end_to_end.table(quick=args.quick)
    print(f"\n(total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
