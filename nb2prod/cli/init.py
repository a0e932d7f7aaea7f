"""``nb2prod init``: the command-line adapter over ``nb2prod.setup_repo.init_repository``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import CI_PROVIDERS  # a constant of a module that imports nothing: `nb2prod strip` stays cheap


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``init`` subcommand."""
    parser = subparsers.add_parser(
        "init",
        parents=parents,
        help="add nb2prod's pre-commit hooks and configuration to a git repository",
        description=(
            "Set up the git repository around FOLDER (default: the current folder) for nb2prod: add nb2prod's hooks "
            "to .pre-commit-config.yaml (pinned to this nb2prod's version tag; the rest of the file is kept byte for "
            "byte), a commented [tool.nb2prod] table to pyproject.toml, and with --ci github a workflow. Files that "
            "already have what nb2prod needs are not touched: running init again changes nothing."
        ),
    )
    parser.add_argument("folder", nargs="?", default=None, metavar="FOLDER", help="a folder of the repository (default: the current one)")
    parser.add_argument("--ci", choices=CI_PROVIDERS, help="also write a CI workflow (.github/workflows/nb2prod.yml)")
    parser.add_argument("--dry-run", action="store_true", help="write nothing; print the diff of each file that would change")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Set the repository up; print one line per file changed (diffs with --dry-run) and notes on stderr; return 0."""
    from .. import init_repository

    result = init_repository(args.folder, ci=args.ci, dry_run=args.dry_run)
    for change in result.changes:
        if args.dry_run:
            sys.stdout.write(change.diff())
        verb = ("would create" if change.created else "would update") if args.dry_run else ("created" if change.created else "updated")
        print(f"{verb} {change.shown}: {change.summary}", file=sys.stderr if args.dry_run else sys.stdout)
    if not result.changes:
        print(f"nothing to change: nb2prod is set up in {result.root}", file=sys.stderr)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0
