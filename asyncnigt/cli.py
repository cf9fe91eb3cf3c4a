"""Command line of asyncnigt: a thin layer over the package (``asyncnigt/commands/``).

Exit codes: 0 success; 2 bad input (one line on stderr, nothing written; also a
scenario too large for memory);
3 a method stopped on a non-finite value (its rows so far are kept); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from .errors import ScenarioError, ScenarioWarning

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
        with warnings.catch_warnings():
            warnings.simplefilter("always", ScenarioWarning)
            warnings.showwarning = _show_warning
            return {m.NAME: m for m in COMMANDS}[args.command].run(args)
    except ScenarioError as err:
        print(f"asyncnigt: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MemoryError as err:
        print(f"asyncnigt: error: out of memory: the scenario is too large for this machine "
              f"({err})", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("asyncnigt: interrupted", file=sys.stderr)
        return 130


_default_showwarning = warnings.showwarning


def _show_warning(message, category, filename, lineno, file=None, line=None):
    if issubclass(category, ScenarioWarning):
        print(f"asyncnigt: warning: {message}", file=sys.stderr)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


if __name__ == "__main__":
    sys.exit(main())
