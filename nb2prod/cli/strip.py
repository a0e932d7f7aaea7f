"""``nb2prod strip``: the command-line adapter over ``nb2prod.strip.strip``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import exit_status, strip
from .common import add_paths, print_summary


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``strip`` subcommand."""
    parser = subparsers.add_parser(
        "strip",
        parents=parents,
        help="clear outputs, execution counts and volatile metadata",
        description=(
            "Clear outputs, execution counts and volatile metadata (nbstripout's defaults) from notebooks. "
            "Cells tagged keep-output keep their outputs; cell ids and the file's formatting are kept. "
            "Folders are searched for .ipynb files (not the executed notebooks of runs); text notebooks pass through untouched."
        ),
    )
    add_paths(parser)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="write nothing; exit 1 and list the notebooks that would change")
    mode.add_argument("--dry-run", action="store_true", help="write nothing; list the notebooks that would change, exit 0")
    parser.add_argument("--keep-count", action="store_true", default=None, help="keep execution counts")
    parser.add_argument("--keep-output", action="store_true", default=None, help="keep all outputs (strip metadata only)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Strip, print one line per changed notebook and a summary, return the exit code."""
    writes = not (args.check or args.dry_run)
    verb, done = ("stripped", "stripped") if writes else ("would strip", "would be stripped")
    results = strip(args.paths, write=writes, keep_count=args.keep_count, keep_output=args.keep_output)
    changed = failed = 0
    for result in results:
        if result.error is not None:
            failed += 1
            print(result.error, file=sys.stderr)
        elif result.changed:
            changed += 1
            if not args.quiet:
                print(f"{verb} {result.path}")
    if not args.quiet:
        print_summary(changed=changed, total=len(results), failed=failed, done=done)
    return exit_status(failed=failed > 0, found=args.check and changed > 0)
