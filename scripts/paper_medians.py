"""Median virtual time to a target over seeds, per method and scenario (issue 3's note).

    python scripts/paper_medians.py SCENARIO [SCENARIO ...] --target objective=150 \
        [--seeds 0:5] [--methods rennala_nigt,sync_nigt,afedpg] [--jobs 2] [--out DIR]

Runs every (scenario, seed) once with :func:`asyncnigt.runner.run_scenario` into
``OUT/<scenario stem>/seed<k>/`` (a complete run directory is reused, so an interrupted
call resumes), keeping only the methods named by ``--methods`` (by label; default all).
Then, per method, reads ``metrics.csv`` and takes the virtual time of the first
evaluated row reaching the target (``objective`` ≥ v, or ``grad_norm`` ≤ v), and prints a
Markdown table: median over seeds, [min, max], and how many seeds reached it. A seed
that never reaches the target counts as +∞, so the median is "not reached" when half
of the seeds or more never get there.
"""

from __future__ import annotations

import argparse
import math
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from asyncnigt.results import read_csv
from asyncnigt.runner import run_scenario
from asyncnigt.scenario import parse_scenario, read_yaml


def seeds_of(text: str) -> list[int]:
    """``0:5`` -> [0, 1, 2, 3, 4]; ``1,4`` -> [1, 4]."""
    if ":" in text:
        lo, hi = (int(p) for p in text.split(":"))
        return list(range(lo, hi))
    return [int(p) for p in text.split(",")]


def run_one(path: str, seed: int, methods: list[str] | None, out: str) -> str:
    """Run ``path`` with ``seed`` (only ``methods``) into ``out`` unless already there."""
    out_dir = Path(out)
    if (out_dir / "summary.csv").is_file():
        return str(out_dir)
    doc = read_yaml(path)
    doc["seed"] = seed
    if methods:
        doc["methods"] = [m for m in doc["methods"] if m.get("label", m["name"]) in methods]
    run_scenario(parse_scenario(doc), out_dir)
    return str(out_dir)


def time_to(metrics: Path, column: str, target: float) -> float:
    """Virtual time of the first row whose ``column`` reaches ``target`` (∞ if none)."""
    _, rows = read_csv(metrics)
    for row in rows:
        value = row.get(column)
        if value is not None and (value <= target if column == "grad_norm" else value >= target):
            return float(row["time"])
    return math.inf


def cell(times: list[float]) -> str:
    reached = [t for t in times if math.isfinite(t)]
    med = statistics.median(times)
    text = "not reached" if math.isinf(med) else f"{med:,.0f}"
    if reached:
        text += f" [{min(reached):,.0f}, {max(times):,.0f}]".replace("inf", "∞")
    return f"{text} ({len(reached)}/{len(times)})"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="+")
    ap.add_argument("--target", required=True, help="objective=V or grad_norm=V")
    ap.add_argument("--seeds", default="0:5")
    ap.add_argument("--methods", default=None, help="comma-separated labels (default: all)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", default="runs/paper_medians")
    args = ap.parse_args(argv)
    column, value = args.target.split("=")
    target = float(value)
    methods = args.methods.split(",") if args.methods else None
    seeds = seeds_of(args.seeds)
    tasks = [(s, k, methods, str(Path(args.out) / Path(s).stem / f"seed{k}"))
             for s in args.scenarios for k in seeds]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(run_one, *zip(*tasks, strict=True)))

    labels = methods or [m.get("label", m["name"]) for m in read_yaml(args.scenarios[0])["methods"]]
    stems = [Path(s).stem for s in args.scenarios]
    op = "≤" if column == "grad_norm" else "≥"
    print(f"Virtual time to {column} {op} {value}: median over seeds {args.seeds} "
          "[fastest, slowest] (seeds reaching it)\n")
    print("| method | " + " | ".join(stems) + " |")
    print("|---|" + "---|" * len(stems))
    for label in labels:
        cells = []
        for stem in stems:
            runs = Path(args.out) / stem
            times = [time_to(runs / f"seed{k}" / label / "metrics.csv", column, target)
                     for k in seeds]
            cells.append(cell(times))
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
