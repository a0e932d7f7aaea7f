"""``nb2prod lint``: the command-line adapter over ``nb2prod.lint.engine.lint``."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .. import Config, __version__, config_for, exit_status
from .common import add_paths

FORMATS = ("text", "json", "github", "sarif")


def codes(text: str) -> list[str]:
    """A comma-separated list of rule codes or prefixes."""
    return [part.strip().upper() for part in text.split(",") if part.strip()]


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``lint`` subcommand."""
    parser = subparsers.add_parser(
        "lint",
        parents=parents,
        help="find hidden state, export blockers, secrets, unseeded randomness; plus ruff's rules",
        description=(
            "Lint notebooks statically (nothing is executed): nb2prod's notebook rules (`nb2prod rules` lists them) "
            "and ruff's code rules, reported per cell as path:cell N:line L."
        ),
    )
    add_paths(parser)
    parser.add_argument("--select", type=codes, action="extend", help="only these codes or prefixes (NB1, F401, ALL); comma-separated")
    parser.add_argument("--ignore", type=codes, action="extend", help="skip these codes or prefixes; comma-separated")
    parser.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    parser.add_argument(
        "--fail-on", choices=("error", "warning", "info"), help="lowest severity that makes the exit code 1 (default: warning)"
    )
    parser.add_argument(
        "--fix", action="store_true", help="first apply the safe fixes (NB501, NB502, NB507, ruff's safe fixes), then report what remains"
    )
    parser.add_argument("--no-ruff", dest="ruff", action="store_false", default=None, help="run nb2prod's rules only")
    parser.add_argument("--jobs", type=int, metavar="N", help="worker processes (default: all cores)")
    parser.add_argument("--output", metavar="FILE", help="write the report to FILE instead of stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Lint, print the report, return the exit code."""
    from .. import Severity, lint
    from .. import rules as registry

    config = config_for(args.paths)
    fix_failed = _apply_fixes(args, config) if args.fix else False
    results = lint(args.paths, config=config, select=args.select, ignore=args.ignore, ruff=args.ruff, jobs=args.jobs)
    from .. import lint_report as report

    if args.format == "json":
        text = report.render_json(results)
    elif args.format == "github":
        text = report.render_github(results)
    elif args.format == "sarif":
        text = report.render_sarif(results, registry(), tool_version=__version__)
    else:
        color = args.output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        text = report.render_text(results, color=color)
    if args.output:
        from .. import atomic_write

        atomic_write(args.output, (text + "\n").encode("utf-8"))
    elif text:
        print(text)
    fail_on = Severity.parse(args.fail_on or config.lint.fail_on)
    return exit_status(failed=fix_failed or any(r.error is not None for r in results), found=results.fails(fail_on))


def _apply_fixes(args: argparse.Namespace, config: Config) -> bool:
    """Apply the safe fixes; each fix (``train.ipynb:cell 3: F401 removed unused import 'os'``), notes, errors and a
    summary go to stderr. True if a notebook could not be fixed."""
    from .. import NotebookReadError, fix

    results = fix(args.paths, config=config, select=args.select, ignore=args.ignore, ruff=args.ruff)
    failed = False
    for result in results:
        if result.written:  # a notebook that could not be written keeps none of its fixes
            for line in result.lines():
                print(line, file=sys.stderr)
        for note in result.notes:
            print(f"{result.path}: note: {note}", file=sys.stderr)
        if result.error is not None and not isinstance(result.error, NotebookReadError):  # lint reports unreadable files itself
            failed = True
            print(result.error, file=sys.stderr)
    total = sum(sum(r.fixed.values()) for r in results)
    written = sum(r.written for r in results)
    print(f"fixed {total} problem{'s' * (total != 1)} in {written} notebook{'s' * (written != 1)}", file=sys.stderr)
    return failed
