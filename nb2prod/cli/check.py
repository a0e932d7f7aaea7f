"""``nb2prod check``: the command-line adapter over ``nb2prod.check`` (strip, fmt and lint in one process).

It is the ``nb2prod-check`` pre-commit hook. Every line it prints names the check it comes from
(``strip:``, ``fmt:``, ``lint:``), and a failing run ends with one line naming the checks that
failed, so a hook failure reads like the failures of the three separate hooks.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .. import FORMATTERS, exit_status, printable
from .common import add_paths


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``check`` subcommand."""
    parser = subparsers.add_parser(
        "check",
        parents=parents,
        help="strip, format and lint notebooks in one pass (the nb2prod-check pre-commit hook)",
        description=(
            "Do what `nb2prod strip`, `nb2prod fmt` and `nb2prod lint` do, in one process: each notebook is read "
            "once, stripped and formatted in memory, written once if that changed it, then linted as written. "
            "Exit 1 if strip or fmt changed a notebook or lint found problems at or above fail-on "
            "(pre-commit's convention: a hook that rewrites files fails, you review and commit again); "
            "exit 2 if a notebook could not be processed."
        ),
    )
    add_paths(parser)
    parser.add_argument(
        "--no-write",
        dest="write",
        action="store_false",
        help="write nothing: say what strip and fmt would change; lint the files as they are",
    )
    parser.add_argument("--formatter", choices=FORMATTERS, help="ruff (default) or black; overrides [tool.nb2prod.lint] formatter")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Check, print what each check changed or found, return the exit code."""
    from .. import check

    result = check(args.paths, write=args.write, formatter=args.formatter)
    would = "" if args.write else "would be "
    lint_errors = {r.path for r in result.lint if r.error is not None}
    for rewrite in result.rewrites:
        if rewrite.stripped:
            print(f"strip: {rewrite.path}: outputs, execution counts or volatile metadata {would}cleared")
        if rewrite.formatted:
            print(f"fmt: {rewrite.path}: code cells {would}reformatted")
        for note in rewrite.notes:
            print(f"fmt: {rewrite.path}: note: {note}", file=sys.stderr)
        if rewrite.error is not None and not (rewrite.failed == "strip" and rewrite.path in lint_errors):
            print(f"{rewrite.failed or 'strip'}: {printable(str(rewrite.error))}", file=sys.stderr)
    from .. import lint_report

    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    if result.lint.findings or any(r.error is not None for r in result.lint):
        print("lint:")
        print(lint_report.render_text(result.lint, color=color))
    failed = [
        f"{name} ({len(paths)} notebook{'s' * (len(paths) != 1)} {would or ''}{verb})"
        for name, paths, verb in (("strip", result.stripped, "stripped"), ("fmt", result.formatted, "reformatted"))
        if paths
    ]
    if result.lint_fails:
        failed.append("lint (findings above)")
    if any(r.error is not None for r in result.rewrites) or any(r.error is not None for r in result.lint):
        failed.append("errors above")
    if failed:
        print(f"nb2prod check failed: {', '.join(failed)}", file=sys.stderr)
    return exit_status(failed=result.failed, found=not result.passed)
