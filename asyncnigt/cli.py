"""Command line of asyncnigt: a thin layer over the package (``asyncnigt/commands/``).

Exit codes: 0 success; 2 bad input (one line on stderr, nothing written);
3 a method stopped on a non-finite value (its rows so far are kept); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from .errors import ScenarioError

EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    from .commands import COMMANDS

    parser = argparse.ArgumentParser(
        prog="asyncnigt",
        description="Emulate asynchronous distributed policy-gradient methods on a virtual clock.")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.add_arguments(sub.add_parser(module.NAME, help=module.HELP))
    return parser


def main(argv=None) -> int:
    from .commands import COMMANDS

    args = build_parser().parse_args(argv)
    try:
        return {m.NAME: m for m in COMMANDS}[args.command].run(args)
    except ScenarioError as err:
        print(f"asyncnigt: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("asyncnigt: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
