"""Arguments and helpers shared by the subcommands."""

from __future__ import annotations

import argparse


def scenario_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key, e.g. --set methods[0].step_size=0.1")


def load(args):
    """The validated scenario named by ``args`` (with --set and --seed applied)."""
    from ..scenario import load_scenario

    return load_scenario(args.scenario, args.overrides, args.seed)
