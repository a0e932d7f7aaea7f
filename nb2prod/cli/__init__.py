"""The ``nb2prod`` command line: parse arguments, call the API, print, return an exit code.

Each subcommand lives in its own module with ``register(subparsers)``, named by one line of
``COMMANDS``; only the chosen command's module is imported (start-up is paid by every pre-commit
hook run). This module owns what is common to all of them: ``--version``, ``--debug``, usage errors, and turning an escaped error into
one line on stderr and the exit code from ``nb2prod.errors`` (a traceback only for bugs, and only
with ``--debug``).

argparse reports an option no parser knows (``nb2prod lint --slect F``) from the top-level parser,
with the top-level usage; :func:`parse` reports it from the subcommand that was given instead, with
that subcommand's usage and the closest option it has (``did you mean --select?``), exit 2. A
value outside an argument's choices (a command, ``--format jsn``) gets the closest choice too.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import typing
from collections.abc import Collection, Sequence

from .. import EXIT_INTERNAL, EXIT_INTERRUPTED, Nb2prodError, __version__, exit_code, printable
from .common import print_error

#: The subcommands in the order ``nb2prod --help`` lists them: command name -> the module of
#: ``nb2prod.cli`` whose ``register(subparsers, parents)`` adds it. Adding a command is one line here.
#: Only the chosen command's module is imported (see :func:`build_parser`).
COMMANDS: dict[str, str] = {
    "strip": "strip",
    "lint": "lint",
    "rules": "rules",
    "fmt": "fmt",
    "check": "check",
    "export": "export",
    "params": "params",
    "run": "run",
    "sweep": "sweep",
    "runs": "runs",
    "verify": "verify",
    "init": "init",
    "profile": "profile",
    "drift": "drift",
    "audit": "audit",
}
ISSUES_URL = "https://github.com/nb2prod/nb2prod/issues"
_INVALID_CHOICE = re.compile(r"invalid choice: '?(?P<typed>[^'(]*?)'? \(choose from (?P<choices>.*)\)$")


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose "invalid choice" error also names the closest choice (subparsers inherit it)."""

    def error(self, message: str) -> typing.NoReturn:
        """Print the usage and ``message`` (with a did-you-mean for a mistyped choice) and exit 2."""
        found = _INVALID_CHOICE.search(message)
        if found is not None:
            import difflib

            choices = [choice.strip().strip("'") for choice in found.group("choices").split(",")]
            close = difflib.get_close_matches(found.group("typed"), choices, n=1, cutoff=0.6)
            if close:
                message += f" (did you mean {close[0]}?)"
        super().error(message)


def commands_needed(argv: Sequence[str]) -> tuple[str, ...] | None:
    """The subcommands to register for parsing ``argv``: the one it names, none for ``--version``, None for all.

    The top-level options (``--debug``, ``--version``, ``-h``) take no value, so the first other
    word is the command. Without a known command (``--help``, a mistyped command, none at all)
    every one is needed, for the listing and the did-you-mean; ``--version`` alone needs none.
    """
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return (word,) if word in COMMANDS else None
    asks_help = any(word == "-h" or (len(word) > 2 and "--help".startswith(word)) for word in argv)
    asks_version = any(len(word) > 2 and "--version".startswith(word) for word in argv)
    return () if asks_version and not asks_help else None


def build_parser(commands: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser with the subcommands ``commands`` registered (default: every one).

    A pre-commit hook starts a fresh ``nb2prod`` per commit, so start-up is part of what the user
    waits for: each subcommand module imports what its command needs (``runs`` the run records,
    ``verify`` hashlib, ...) and :func:`main` imports only the chosen one (:func:`commands_needed`).
    """
    common = _Parser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks of internal errors")
    parser = _Parser(
        prog="nb2prod",
        description="Take machine-learning notebooks to production: strip, lint, export, run.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"nb2prod {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        if commands is None or name in commands:
            importlib.import_module(f"{__name__}.{module}").register(subparsers, parents=[common])
    return parser


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``; arguments no parser takes are a usage error of the innermost subcommand given (exit 2)."""
    args, extras = parser.parse_known_args(argv)
    if not extras:
        return args
    command = _innermost(parser, args)
    message = f"unrecognized arguments: {' '.join(extras)}"
    unknown = next((extra for extra in extras if extra.startswith("-") and extra != "-"), None)
    if unknown is not None:
        suggestion = suggest_option(command, unknown.split("=", 1)[0])
        if suggestion:
            message += f" (did you mean {suggestion}?)"
    command.error(message)
    raise AssertionError("unreachable: ArgumentParser.error exits")  # pragma: no cover


def suggest_option(parser: argparse.ArgumentParser, typed: str) -> str | None:
    """The option of ``parser`` closest to the mistyped ``typed`` (``--slect`` -> ``--select``), if one is close."""
    import difflib

    options = [option for action in parser._actions for option in action.option_strings]
    wanted = [option for option in options if option.startswith("--")] if typed.startswith("--") else options
    found = difflib.get_close_matches(typed, wanted, n=1, cutoff=0.6)
    return found[0] if found else None


def _innermost(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the (sub)subcommand ``args`` was parsed into (``nb2prod runs list`` -> ``runs list``'s)."""
    while True:
        chosen = None
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                name = getattr(args, action.dest, None) if action.dest != argparse.SUPPRESS else None
                chosen = action.choices.get(name) if isinstance(name, str) else None
        if chosen is None:
            return parser
        parser = chosen


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(commands_needed(arguments))
    args = parse(parser, arguments)
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
    except MemoryError:
        # Not a bug: the machine (or a ulimit) gave the process less memory than the input needs.
        print(
            "nb2prod: error: out of memory (give the process more memory, or smaller inputs: data files are read in chunks)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    except Exception as error:
        if debug:
            import traceback

            traceback.print_exc()
        from .. import mask_text  # the secret patterns (13 regular expressions) only for this rare message

        print(
            f"nb2prod: internal error: {printable(mask_text(f'{type(error).__name__}: {error}'))}\n"
            f"This is a bug in nb2prod {__version__}; please report it at {ISSUES_URL}"
            + ("" if debug else " with the output of the same command run with --debug"),
            file=sys.stderr,
        )
        return EXIT_INTERNAL
