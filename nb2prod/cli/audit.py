"""``nb2prod audit``: list the audit trail, or ``--verify`` its hash chain (exit 1 naming the first bad line)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Any

from ..errors import EXIT_FINDINGS, EXIT_OK
from ..records import DEFAULT_RUNS_DIR
from ..text import printable
from .runs import emit, positive_int, print_json


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``audit`` subcommand."""
    from ..audit import EVENTS

    parser = subparsers.add_parser(
        "audit",
        parents=parents,
        help="the audit trail of runs, exports, promotions and drift decisions",
        description=(
            "List the hash-chained audit trail (<runs dir>/audit.jsonl): one line per run, export, promotion and drift "
            "decision, oldest first. --verify checks the chain and exits 1 naming the first line that was edited, "
            "removed before, or moved."
        ),
    )
    parser.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR, metavar="DIR", help=f"where the runs are (default: {DEFAULT_RUNS_DIR})")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.add_argument("--verify", action="store_true", help="check the hash chain; exit 1 at the first bad line")
    parser.add_argument("--event", choices=EVENTS, help="only lines of this event")
    parser.add_argument("--limit", type=positive_int, metavar="N", help="only the last N lines")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """List or verify; return 1 when ``--verify`` finds a bad line."""
    from ..audit import audit_path, entries, read_lines, verify

    if args.verify:
        result = verify(args.runs_dir)
        shown = os.fspath(audit_path(args.runs_dir))
        if args.format == "json":
            print_json({"path": shown, **result.to_json()})
        else:
            for warning in result.warnings:
                print(f"{shown}: warning: {warning}", file=sys.stderr)
            if result.ok:
                print(f"{shown}: {result.lines} lines, chain intact")
            else:
                print(f"{shown}:{result.bad_line}: error: {result.problem}")
        return EXIT_OK if result.ok else EXIT_FINDINGS
    every = entries(args.runs_dir)
    damaged = sum(1 for line in read_lines(args.runs_dir) if line.complete and line.entry is None)
    if damaged:
        shown = os.fspath(audit_path(args.runs_dir))
        print(f"{shown}: warning: {damaged} line(s) are not audit lines and are not listed (run `nb2prod audit --verify`)", file=sys.stderr)
    lines = [entry for entry in every if args.event is None or entry.get("event") == args.event]
    if args.limit:
        lines = lines[-args.limit :]
    if args.format == "json":
        print_json(lines)
        return EXIT_OK
    if not lines:
        print(f"{os.fspath(audit_path(args.runs_dir))}: no audit lines yet", file=sys.stderr)
        return EXIT_OK
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for header in ("seq", "at", "event", "who", "what", "decision"):
        table.add_column(header, justify="right" if header == "seq" else "left")
    for entry in lines:
        actor = entry.get("actor") or {}
        who = f"{actor.get('user', '?')}@{actor.get('host', '?')}" if isinstance(actor, Mapping) else "?"
        table.add_row(
            str(entry.get("seq")), str(entry.get("at")), str(entry.get("event")), who, describe(entry), str(entry.get("decision", ""))
        )
    emit(table)
    return EXIT_OK


def describe(entry: Mapping[str, Any]) -> str:
    """One short phrase saying what an audit line is about."""
    event = entry.get("event")
    run = entry.get("run") if isinstance(entry.get("run"), Mapping) else {}
    if event == "run":
        return printable(f"run {run.get('id')} of {run.get('notebook')}")
    if event == "promote":
        previous = entry.get("previous")
        return printable(f"run {run.get('id')} to {entry.get('stage')}" + (f" (was {previous})" if previous else ""))
    if event == "export":
        files = entry.get("files") or {}
        return printable(f"{len(entry.get('written') or [])} of {len(files)} files written to {entry.get('out')}")
    if event == "drift":
        reference = entry.get("reference") if isinstance(entry.get("reference"), Mapping) else {}
        current = entry.get("current") or []
        named = reference.get("run") or reference.get("path")
        return printable(f"{len(current)} file(s) against {named} ({reference.get('profile')})")
    return ""
