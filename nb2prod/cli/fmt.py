"""``nb2prod fmt``: the command-line adapter over ``nb2prod.formatting.fmt``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import FORMATTERS, exit_status
from .common import add_paths, print_summary


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``fmt`` subcommand."""
    parser = subparsers.add_parser(
        "fmt",
        parents=parents,
        help="format the code cells of notebooks (ruff's formatter, or black), magics kept",
        description=(
            "Format the code cells of notebooks with ruff's formatter (default) or black, using the project's "
            "ruff or black settings. IPython magics and !commands are kept; markdown, outputs, metadata and "
            "non-Python cells (%%bash, %%html…) are left alone. A notebook is written only if the formatted "
            "code has the same AST as before and formatting it again changes nothing."
        ),
    )
    add_paths(parser)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 and list the notebooks that would change")
    parser.add_argument("--diff", action="store_true", help="write nothing; print a unified diff of each changed cell")
    parser.add_argument(
        "--formatter",
        choices=FORMATTERS,
        help="ruff (default) or black; overrides [tool.nb2prod.lint] formatter",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors (and diffs with --diff)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Format, print one line per changed notebook, notes, diffs and a summary; return the exit code."""
    from .. import fmt  # the formatter machinery loads only for this command

    writes = not (args.check or args.diff)
    verb, done = ("reformatted", "reformatted") if writes else ("would reformat", "would be reformatted")
    results = fmt(args.paths, write=writes, formatter=args.formatter, diff=args.diff)
    changed = failed = 0
    for result in results:
        if not args.quiet:
            for note in result.notes:
                print(f"{result.path}: note: {note}", file=sys.stderr)
        if result.error is not None:
            failed += 1
            print(result.error, file=sys.stderr)
            continue
        if not result.changed:
            continue
        changed += 1
        if args.diff:
            sys.stdout.write(result.diff)
        elif not args.quiet:
            print(f"{verb} {result.path}")
    if not args.quiet:
        print_summary(changed=changed, total=len(results), failed=failed, done=done)
    return exit_status(failed=failed > 0, found=args.check and changed > 0)
