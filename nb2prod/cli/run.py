"""``nb2prod run``: the command-line adapter over ``nb2prod.run.run_notebook``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .. import DEFAULT_RUNS_DIR, ParameterValues, RunRecord, UsageError, mask_text, printable, run_exit_code
from .common import about

#: What the one-line message on stderr says for each unsuccessful status.
_PROBLEMS = {
    "failed": "the notebook raised",
    "timeout": "timed out",
    "kernel_died": "the kernel died",
    "interrupted": "interrupted",
}


def seconds(text: str) -> float:
    """An argparse type: a finite, positive number of seconds (``--timeout``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"the timeout must be a positive number of seconds, not {text}")
    return value


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``run`` subcommand."""
    parser = subparsers.add_parser(
        "run",
        parents=parents,
        help="run a notebook with typed parameters in a fresh kernel and keep a run record",
        description=(
            "Execute a notebook with papermill in a fresh kernel. Parameters are typed by the notebook's `parameters` cell "
            "(`nb2prod params` shows them): -p version=1.10 stays the string '1.10' for a str parameter. The executed notebook "
            "and run.json (parameters, status, timings, git commit, environment, input hashes, metrics) go to "
            "RUNS_DIR/<notebook>/<UTC time>-<id>/. Exit code: 0 ok, 1 a cell raised, 124 timeout, 130 interrupted, "
            "138 the kernel died, 2 bad input (nothing started)."
        ),
    )
    parser.add_argument("notebook", metavar="NOTEBOOK", help="a .ipynb or jupytext text notebook (py:percent, markdown...)")
    parser.add_argument(
        "-p",
        "--parameter",
        dest="parameters",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a parameter, converted by its type (repeatable; lists and dicts as JSON, e.g. -p layers=[64,32]); "
        "the environment variable NB2PROD_PARAM_<NAME> sets one too, out of the shell's history (-p wins over it, it wins over -f)",
    )
    parser.add_argument(
        "-f",
        "--parameters-file",
        metavar="FILE",
        help="parameter values from a YAML or JSON mapping; -p and NB2PROD_PARAM_<NAME> win over it",
    )
    parser.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR, metavar="DIR", help=f"where run folders go (default: {DEFAULT_RUNS_DIR}/)")
    parser.add_argument("--timeout", type=seconds, metavar="S", help="fail a cell that runs longer than S seconds (exit 124)")
    parser.add_argument("--kernel", metavar="NAME", help="kernel to run (default: the notebook's kernelspec)")
    parser.add_argument("--cwd", metavar="DIR", help="the kernel's working folder (default: the current folder)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.set_defaults(handler=run)


def parse_assignments(texts: list[str]) -> dict[str, str]:
    """``["name=value", ...]`` as a mapping (a later name wins); the value is kept exactly as typed."""
    found: dict[str, str] = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"-p {mask_text(text)!r}: expected NAME=VALUE", hint="for example -p learning_rate=0.01")
        found[name.strip()] = value
    return found


def run(args: argparse.Namespace) -> int:
    """Run the notebook, print the record's summary, return the exit code of its status.

    An error that names no file is about the notebook (an unknown or ill-typed ``-p``).
    """
    with about(args.notebook):
        strings = parse_assignments(args.parameters)
        from .. import load_parameters_file, run_notebook  # papermill, asyncio: only when a run starts

        file = args.parameters_file
        values = ParameterValues(load_parameters_file(file), source=file) if file else None
        record = run_notebook(
            args.notebook, strings=strings, values=values, runs_dir=args.runs_dir, timeout=args.timeout, kernel=args.kernel, cwd=args.cwd
        )
    if args.format == "json":
        print(json.dumps({**record.to_json(), "directory": os.fspath(record.directory)}, indent=2, ensure_ascii=False))
    else:
        print(summary(record))
    if record.status != "ok":
        print(problem(args.notebook, record), file=sys.stderr)
    return run_exit_code(record.status)


def summary(record: RunRecord) -> str:
    """The text report of a run: id, status, duration, folder, metrics (control characters escaped)."""
    lines = [
        f"run {record.id}: {record.status} in {record.duration_s:.2f} s",
        f"  directory: {os.fspath(record.directory)}",
    ]
    if record.metrics:
        lines.append("  metrics:   " + ", ".join(f"{name}={_value(value)}" for name, value in record.metrics.items()))
    return "\n".join(printable(line) for line in lines)


def problem(shown: str, record: RunRecord) -> str:
    """The one-line ``path:cell N: error: ...`` message for a run that did not succeed (control characters escaped)."""
    error = record.error or {}
    where = shown if error.get("cell_index") is None else f"{shown}:cell {error['cell_index'] + 1}"
    detail = ": ".join(str(part) for part in (error.get("ename"), error.get("evalue")) if part)
    what = _PROBLEMS[record.status] + (f" ({detail})" if detail else "")
    return printable(f"{where}: error: {what} (the executed notebook: {record.output_path})")


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
