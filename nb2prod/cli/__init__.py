"""The ``nb2prod`` command line: parse arguments, call the API, print, return an exit code.

Each subcommand lives in its own module with ``register(subparsers)``; this module owns what is
common to all of them: ``--version``, ``--debug``, and turning an escaped error into one line on
stderr and the exit code from ``nb2prod.errors`` (a traceback only for bugs, and only with
``--debug``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import EXIT_INTERNAL, EXIT_INTERRUPTED, Nb2prodError, exit_code
from ..text import printable
from . import export, fmt, lint, params, rules, run, runs, strip, verify
from .common import print_error

COMMANDS = (strip, lint, rules, fmt, export, params, run, runs, verify)
ISSUES_URL = "https://github.com/nb2prod/nb2prod/issues"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks of internal errors")
    parser = argparse.ArgumentParser(
        prog="nb2prod",
        description="Take machine-learning notebooks to production: strip, lint, export, run.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"nb2prod {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(subparsers, parents=[common])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False)
    try:
        return args.handler(args)
    except Nb2prodError as error:
        print_error(error)
        return exit_code(error)
    except KeyboardInterrupt:
        print("nb2prod: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError as error:
        # Python would complain again when it flushes stdout at exit; point it at nothing.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return exit_code(error)
    except Exception as error:
        if debug:
            import traceback

            traceback.print_exc()
        print(
            f"nb2prod: internal error: {printable(f'{type(error).__name__}: {error}')}\n"
            f"This is a bug in nb2prod {__version__}; please report it at {ISSUES_URL}"
            + ("" if debug else " with the output of the same command run with --debug"),
            file=sys.stderr,
        )
        return EXIT_INTERNAL
