"""Arguments and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path


def scenario_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key, e.g. --set methods[0].step_size=0.1")


def out_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default=None, help="run directory (default runs/<name>-seed<seed>)")


def run_dir(args, scenario) -> Path:
    """``--out``, or the default run directory ``runs/<name>-seed<seed>``."""
    return Path(args.out or f"runs/{scenario.name}-seed{scenario.seed}")


def load(args):
    """The validated scenario named by ``args`` (with --set and --seed applied)."""
    from ..scenario import load_scenario

    return load_scenario(args.scenario, args.overrides, args.seed)
