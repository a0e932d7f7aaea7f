"""``nb2prod export``: the command-line adapter over ``nb2prod.export.export``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from .. import DEFAULT_RUNS_DIR, FORMATTERS, UsageError, exit_status

if TYPE_CHECKING:
    from .. import ExportResult


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``export`` subcommand."""
    parser = subparsers.add_parser(
        "export",
        parents=parents,
        help="write an installable package from the marked cells of notebooks",
        description=(
            "Write an installable package from notebooks: cells tagged export (or #| export) become modules, "
            "main cells a console entry point whose options are the parameters cell's, test cells pytest tests; "
            "plus pyproject.toml with pinned dependencies and a README model card. Files are written only when "
            "they change; a generated file edited by hand is not overwritten without --force. Without notebooks, "
            "every package listed in [[tool.nb2prod.export]] of pyproject.toml is exported (or checked, with --check: "
            "the nb2prod-export-check pre-commit hook)."
        ),
    )
    parser.add_argument(
        "paths", nargs="*", metavar="NOTEBOOK", help="notebooks or folders (one package); none: each [[tool.nb2prod.export]] entry"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-o", "--out", metavar="DIR", help="the project folder to write (default: build/<name>)")
    where.add_argument(
        "--into",
        metavar="PACKAGE_DIR",
        help="write only the modules into this existing package folder (no pyproject, entry point or tests; no requirements inferred)",
    )
    parser.add_argument("--name", help="the package's import name (default: the notebook's file name, or the folder's for several)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 and list the files that are out of date")
    parser.add_argument("--diff", action="store_true", help="write nothing; print a unified diff of each file that would change")
    parser.add_argument("--force", action="store_true", help="overwrite generated files even if they were edited by hand")
    parser.add_argument(
        "--pin", choices=("compatible", "exact"), default="compatible", help="pin dependencies with ~= (default) or == to this environment"
    )
    parser.add_argument("--template-dir", metavar="DIR", help="templates that override the built-in ones, file by file")
    parser.add_argument("--all", dest="all_cells", action="store_true", help="export every code cell that has no role (no tags needed)")
    parser.add_argument("--formatter", choices=FORMATTERS, help="ruff (default) or black; overrides [tool.nb2prod.lint] formatter")
    parser.add_argument(
        "--explain-tests",
        action="store_true",
        help="write nothing; print the ML roles found, the sanity tests that follow from them and why the others do not",
    )
    parser.add_argument(
        "--reference-run",
        metavar="RUN",
        help="a run of `nb2prod run` (id, folder or latest, in --runs-dir) whose metrics the generated test T13 must reproduce",
    )
    parser.add_argument(
        "--profile",
        metavar="PROFILE",
        help="a data profile (a profile-*.json file, or a run that stored one) to synthesize the ML tests' data from and "
        "check the loader's data against (T16); default: the --reference-run run's profile, if it stored one",
    )
    parser.add_argument(
        "--capture-sample",
        type=int,
        metavar="N",
        help="store N real rows of the module's loader as the ML tests' data (tests/fixtures/sample.csv, sha256 checked)",
    )
    parser.add_argument(
        "--redact-column",
        action="append",
        default=[],
        metavar="NAME",
        help="keep this column's values out of the tests' data (repeatable; also [tool.nb2prod.ml-tests] redact); "
        "the tests get synthesized values for it",
    )
    parser.add_argument(
        "--runs-dir",
        metavar="DIR",
        help=f"the runs folder whose audit trail records the export, where --reference-run and --profile find runs "
        f"(default: {DEFAULT_RUNS_DIR}; for [[tool.nb2prod.export]] packages, their runs are found in the project's {DEFAULT_RUNS_DIR})",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors, warnings, stale files and diffs")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Export, print what was written (or is stale) and the plan's warnings on stderr, diffs on stdout; return the exit code."""
    from .. import export, ml_profile, ml_reference

    if not args.paths:
        given = [
            flag
            for flag, value in (
                ("--explain-tests", args.explain_tests),
                ("--reference-run", args.reference_run),
                ("--profile", args.profile),
                ("--capture-sample", args.capture_sample is not None),
                ("--redact-column", args.redact_column),
            )
            if value
        ]
        if given:
            flag = given[0]
            hint = "name the notebooks, e.g. nb2prod export notebooks/train.ipynb " + flag
            if flag != "--explain-tests":
                key = {"--redact-column": "redact-columns"}.get(flag, flag[2:])
                hint += f", or set {key} per package in [[tool.nb2prod.export]] of pyproject.toml"
            raise UsageError(f"{flag} needs notebooks to apply to", hint=hint)
        return _run_configured(args)
    runs_dir = args.runs_dir or DEFAULT_RUNS_DIR
    profile = ml_profile(args.profile or args.reference_run, runs_dir, required=args.profile is not None)
    result = export(
        args.paths,
        out=args.out,
        name=args.name,
        into=args.into,
        check=args.check or args.explain_tests,
        diff=args.diff,
        force=args.force,
        pin=args.pin,
        template_dir=args.template_dir,
        all_cells=args.all_cells,
        formatter=args.formatter,
        reference_run=ml_reference(args.reference_run, runs_dir) if args.reference_run else None,
        audit_dir=runs_dir,
        data_profile=profile[0] if profile is not None else None,
        profile_origin=profile[1] if profile is not None else "",
        capture_sample=args.capture_sample,
        redact=args.redact_column,
    )
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    if args.explain_tests:
        from .. import explain_ml_tests as explain

        plan = result.plan.ml_tests if result.plan is not None else None
        sys.stdout.write(explain(plan) if plan is not None else "ML tests are generated for a whole project, not with --into\n")
        return exit_status(failed=False, found=False)
    for path in result.orphaned:
        print(f"{path}: warning: generated by an earlier export but no longer produced; delete it if it is not needed", file=sys.stderr)
    _report_files(result, quiet=args.quiet)
    if not args.quiet:
        print(_summary(result, writes=not (args.check or args.diff)), file=sys.stderr)
    return exit_status(failed=False, found=args.check and result.changed)


def _report_files(result: Any, *, quiet: bool) -> None:
    """Name the refused, stale and written files of one export on stderr, and print its diffs on stdout."""
    for path in result.refused:
        print(f"{path}: error: edited by hand (or not written by nb2prod); an export needs --force to overwrite it", file=sys.stderr)
    for path in result.stale:
        print(f"would write {path}", file=sys.stderr)
    if not quiet:
        for path in result.written:
            print(f"wrote {path}", file=sys.stderr)
    for text in result.diffs.values():
        sys.stdout.write(text)


def _run_configured(args: argparse.Namespace) -> int:
    """``nb2prod export [--check]`` without notebooks: every package of ``[[tool.nb2prod.export]]``.

    A stale package is named with its notebooks and the command that refreshes it; nothing is
    written with ``--check`` or ``--diff``.
    """
    from .. import export_configured

    options = (("--out", args.out), ("--into", args.into), ("--name", args.name), ("--template-dir", args.template_dir))
    given = [flag for flag, value in options if value]
    if given or args.all_cells or args.pin != "compatible":
        flags = ", ".join(given + (["--all"] if args.all_cells else []) + (["--pin"] if args.pin != "compatible" else []))
        raise UsageError(
            f"{flags} need notebooks to apply to",
            hint="name the notebooks, or set these per package in [[tool.nb2prod.export]] of pyproject.toml",
        )
    checking = args.check or args.diff
    stale_packages = 0
    done_all = export_configured(
        check=args.check,
        diff=args.diff,
        force=args.force,
        formatter=args.formatter,
        audit_dir=args.runs_dir or DEFAULT_RUNS_DIR,
        runs_dir=args.runs_dir,
    )
    for done in done_all:
        result = done.result
        for warning in result.warnings:
            print(warning, file=sys.stderr)
        _report_files(result, quiet=args.quiet)
        if checking and (result.stale or result.refused):
            stale_packages += 1
            files = len(result.stale) + len(result.refused)
            where = done.entry.out if done.entry.out is not None else done.entry.into
            print(
                f"{where}: out of date with {', '.join(done.entry.notebooks)} ({files} file{'s' if files != 1 else ''}); "
                f"refresh it with: {done.command}" + (" --force" if result.refused else ""),
                file=sys.stderr,
            )
        elif not args.quiet:
            print(_summary(result, writes=not checking), file=sys.stderr)
    return exit_status(failed=False, found=args.check and stale_packages > 0)


def _summary(result: ExportResult, *, writes: bool) -> str:
    package = result.plan.package if result.plan is not None else "package"
    if writes:
        counts = f"{len(result.written)} written, {len(result.unchanged)} unchanged"
        return f"exported {package} into {result.out}: {counts}"
    stale = len(result.stale) + len(result.refused)
    state = "up to date" if not stale else f"{stale} file{'s' if stale != 1 else ''} out of date"
    return f"{package} in {result.out}: {state} ({len(result.unchanged)} unchanged)"
