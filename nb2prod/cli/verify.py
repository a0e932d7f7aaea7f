"""``nb2prod verify``: the command-line adapter over ``nb2prod.verify.verify``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import (
    DEFAULT_ATOL,
    DEFAULT_RTOL,
    DEFAULT_RUNS_DIR,
    EXIT_FINDINGS,
    EXIT_OK,
    describe_error,
    format_delta,
    format_value,
    printable,
    run_exit_code,
    verify,
)
from .run import parse_assignments, seconds
from .runs import emit, print_json

#: A re-run that could not finish is no verdict on reproducibility: verify then exits as `nb2prod run` would.
UNFINISHED = ("timeout", "kernel_died", "interrupted")


def tolerance(text: str) -> float:
    """An argparse type: a finite, non-negative float."""
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a non-negative number, got {text}")
    return value


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``verify`` subcommand."""
    parser = subparsers.add_parser(
        "verify",
        parents=parents,
        help="re-run a recorded run and check that its metrics come out the same",
        description=(
            "Re-run a run's notebook in a fresh kernel with the recorded parameters and compare the metrics: numbers within "
            "--rtol/--atol (math.isclose), other values exactly. Warns where the notebook, git commit, Python, packages or "
            "inputs differ from the record. Exit 0 reproduced, 1 not. RUN is an id, a unique id prefix, a path, or `latest`."
        ),
    )
    parser.add_argument("run", metavar="RUN")
    parser.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR, metavar="DIR", help=f"where the runs are (default: {DEFAULT_RUNS_DIR})")
    parser.add_argument("--rtol", type=tolerance, default=DEFAULT_RTOL, metavar="R", help=f"relative tolerance (default: {DEFAULT_RTOL:g})")
    parser.add_argument("--atol", type=tolerance, default=DEFAULT_ATOL, metavar="A", help=f"absolute tolerance (default: {DEFAULT_ATOL:g})")
    parser.add_argument(
        "-p",
        "--parameter",
        dest="overrides",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a recorded parameter (repeatable); needed for the secrets the run was given, which records do not keep "
        "(or set NB2PROD_PARAM_<NAME>, which stays out of the shell's history)",
    )
    parser.add_argument("--timeout", type=seconds, metavar="S", help="seconds each cell may run (default: no limit)")
    parser.add_argument("--cwd", metavar="DIR", help="working folder of the kernel (as given to the original `nb2prod run`)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Verify, print warnings (stderr), the metric table and the verdict; return the exit code."""
    result = verify(
        args.run,
        runs_dir=args.runs_dir,
        rtol=args.rtol,
        atol=args.atol,
        overrides=parse_assignments(args.overrides),
        timeout=args.timeout,
        cwd=args.cwd,
    )
    code = EXIT_OK if result.reproduced else EXIT_FINDINGS
    if not result.same_status and result.rerun.status in UNFINISHED:
        code = run_exit_code(result.rerun.status)
    if args.format == "json":
        print_json(result.to_json())
        return code
    for warning in result.warnings:
        print(printable(f"warning: {warning}"), file=sys.stderr)
    from rich.table import Table
    from rich.text import Text

    lines: list[Any] = [f"run {result.record.id} ({result.record.notebook}) re-run as {result.rerun.id}"]
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("metric", "recorded", "now", "delta", "ok"):
        table.add_column(column, justify="right" if column in ("recorded", "now", "delta") else "left")
    table.add_row("status", result.record.status, result.rerun.status, "", _ok(result.same_status))
    for metric in result.metrics:
        recorded, now = format_value(metric.recorded, width=None), format_value(metric.now, width=None)
        table.add_row(metric.name, recorded, now, format_delta(metric.delta), _ok(metric.ok))
    lines.append(table)
    tolerances = f"rtol={result.rtol:g}, atol={result.atol:g}"
    if result.reproduced:
        lines.append(Text(f"reproduced: {len(result.metrics)} metrics match within {tolerances}", style="green"))
    else:
        lines.append(Text(printable(f"NOT reproduced ({tolerances}): " + ", ".join(result.differences)), style="bold red"))
    if result.rerun.error:
        lines.append(f"the re-run failed: {describe_error(result.rerun)}; see {result.rerun.output_path}")
    emit(*lines)
    return code


def _ok(passed: bool) -> Any:
    from rich.text import Text

    return Text("yes", style="green") if passed else Text("NO", style="bold red")
