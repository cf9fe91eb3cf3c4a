"""End-to-end benchmark: wall time of whole runs (``asyncnigt run`` without the CLI).

* the quickstart (``scenarios/quickstart.yaml``) as shipped, with the default settings;
* one paper setting at a fixed budget: the Hopper heterogeneous-times setting of the
  paper (as ``scenarios/paper_hopper_hetero_times.yaml``: n = 10, √i seconds per
  environment step, slowest-link aggregation, Rennala/Malenia/synchronized NIGT and
  AFedPG), every method stopped after 60 gradients.

Each scenario runs with the default settings and with the reference settings (round
engine ``events``, ``vector_envs: false``, ``threads: 1``), alternately; the table gives
both wall times and their ratio, and checks that every ``metrics.csv`` is byte-identical
between the two (speed settings never change results).

    python benchmarks/end_to_end.py            # quickstart + paper setting
    python benchmarks/end_to_end.py --quick    # shorter budgets (quickstart to 10 virtual s)
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path

from asyncnigt.methods import METHODS
from asyncnigt.runner import run_scenario
from asyncnigt.scenario import parse_scenario, read_yaml

ROOT = Path(__file__).resolve().parent.parent

PAPER_HOPPER = {
    "name": "paper_hopper_hetero_times_budget",
    "seed": 0,
    "workers": {
        "n": 10,
        "compute": {"per": "step", "preset": "sqrt", "scale": 1.0},
        "comm": {"upload": {"preset": "sqrt", "scale": 1.0},
                 "aggregate": {"model": "slowest_link"}},
    },
    "problem": {"kind": "gym", "env": "Hopper-v5", "horizon": 1000, "gamma": 0.99,
                "eval_episodes": 10},
    "methods": [
        {"name": "rennala_nigt", "batch": 20, "step_size": 0.03125, "momentum": 0.1},
        {"name": "malenia_nigt", "batch": 20, "step_size": 0.03125, "momentum": 0.1},
        {"name": "sync_nigt", "batch": 2, "step_size": 0.03125, "momentum": 0.1},
        {"name": "afedpg", "step_size": 0.001953125, "momentum": 0.1},
    ],
    "stop": {"gradients": 60},
    "evaluation": {"every_time": 8000},
}


def reference(doc: dict) -> dict:
    """The same scenario with every speed setting at its reference value."""
    doc = copy.deepcopy(doc)
    for m in doc["methods"]:
        if METHODS[m["name"]].server == "round":
            m["engine"] = "events"
    if doc["problem"]["kind"] == "gym":
        doc["problem"].update(vector_envs=False, threads=1)
    return doc


def run(doc: dict) -> tuple[float, dict]:
    """Wall seconds of a run and its metrics.csv files."""
    scenario = parse_scenario(copy.deepcopy(doc))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_scenario(scenario, Path(tmp) / "run")
        wall = time.perf_counter() - t0
        metrics = {p.parent.name: p.read_bytes() for p in (Path(tmp) / "run").glob("*/metrics.csv")}
    return wall, metrics


def scenarios(quick: bool) -> dict:
    quickstart = read_yaml(ROOT / "scenarios" / "quickstart.yaml")
    paper = copy.deepcopy(PAPER_HOPPER)
    if quick:
        quickstart["stop"] = {"time": 10}
        paper["stop"] = {"gradients": 20}
    return {"quickstart": quickstart, "paper Hopper (60 gradients)" if not quick
            else "paper Hopper (20 gradients)": paper}


def table(quick: bool = False, repeats: int = 1, out=print) -> list:
    """Measure and print the end-to-end table; returns its rows."""
    out(f"{'scenario':<30} {'default s':>10} {'reference s':>12} {'reference/default':>18} "
        f"{'same metrics':>13}")
    rows = []
    for name, doc in scenarios(quick).items():
        walls = {"default": [], "reference": []}
        results = {}
        for _ in range(repeats):
            for variant, d in (("default", doc), ("reference", reference(doc))):
                wall, metrics = run(d)
                walls[variant].append(wall)
                results[variant] = metrics
        same = results["default"] == results["reference"]
        w = {k: statistics.median(v) for k, v in walls.items()}
        out(f"{name:<30} {w['default']:>10.1f} {w['reference']:>12.1f} "
            f"{w['reference'] / w['default']:>18.2f} {'yes' if same else 'NO':>13}")
        rows.append(dict(scenario=name, same=same, **w))
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter budgets")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    table(args.quick, args.repeats)


if __name__ == "__main__":
    main()
