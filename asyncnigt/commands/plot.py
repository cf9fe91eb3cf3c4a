"""``asyncnigt plot DIR``: (re)write the PNG plots of a run or sweep directory."""

from __future__ import annotations

NAME = "plot"
HELP = "write the PNG plots of a run or sweep directory"


def add_arguments(p) -> None:
    p.add_argument("path", metavar="RUN_OR_SWEEP_DIR", help="a run directory or a sweep directory")


def run(args) -> int:
    from ..plotting import plot_path

    for path in plot_path(args.path):
        print(path)
    return 0
