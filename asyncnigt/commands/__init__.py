"""Subcommands of the ``asyncnigt`` command line, one module each.

A command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; adding a command is one module plus one entry in :data:`COMMANDS`.
"""

from . import plot, run, sweep, theory, validate

COMMANDS = [run, sweep, plot, validate, theory]
