"""``nb2prod params``: show a notebook's parameters (name, type, default, help), or them and a JSON Schema."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import REDACTED, Parameter, is_secret, json_schema, mask_text, notebook_parameters, printable, read_notebook, render_value
from .common import about
from .runs import emit


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``params`` subcommand."""
    parser = subparsers.add_parser(
        "params",
        parents=parents,
        help="show a notebook's parameters: name, type, default, help",
        description=(
            "Show the parameters of a notebook's `parameters` cell: name, type (from an annotation, else from the default), "
            "default and help (the comment at the end of the line). --format json adds a JSON Schema."
        ),
    )
    parser.add_argument("notebook", metavar="NOTEBOOK", help="a .ipynb or jupytext text notebook")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the parameters; a parameters cell that is not plain literals is an error naming the line (exit 2)."""
    with about(args.notebook):
        parameters = _shown(notebook_parameters(read_notebook(args.notebook)))
    if args.format == "json":
        document = {
            "notebook": args.notebook,
            "parameters": [p.to_json() for p in parameters],
            "schema": json_schema(parameters, title=Path(args.notebook).stem),
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
    elif parameters:
        _print_table(parameters)
    else:
        print(printable(f"{args.notebook}: no parameters cell (tag a cell `parameters` to give the notebook parameters)"))
    return 0


def _shown(parameters: tuple[Parameter, ...]) -> tuple[Parameter, ...]:
    """The parameters as they may be printed: a secret default (by name or by shape) is ``***``, help masked."""
    return tuple(
        replace(p, default=REDACTED if is_secret(p.name, p.default) else p.default, help=mask_text(p.help) if p.help else p.help)
        for p in parameters
    )


def _print_table(parameters: tuple[Parameter, ...]) -> None:
    """The table through ``runs``' console: values escaped, folded on a terminal, rows whole in a pipe."""
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("name", "type", "default", "help"):
        table.add_column(column, overflow="fold")
    for p in parameters:
        kind = f"{p.type} | None" if p.optional and p.type != "any" else p.type
        table.add_row(p.name, kind, render_value(p.default), p.help)
    emit(table)
