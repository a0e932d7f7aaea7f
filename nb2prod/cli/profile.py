"""``nb2prod profile DATA -o FILE``: the command-line adapter over ``nb2prod.drift.profile_files``."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..errors import EXIT_OK, UsageError
from ..text import printable


def names(text: str) -> list[str]:
    """An argparse type: comma-separated column names."""
    return [name.strip() for name in text.split(",") if name.strip()]


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add the ``profile`` subcommand."""
    parser = subparsers.add_parser(
        "profile",
        parents=parents,
        help="write the profile of a data set, for later drift checks",
        description=(
            "Profile data files (CSV, TSV, Parquet, JSON lines; read in chunks) into a small JSON file that `nb2prod drift` checks "
            "new data against: bins fixed on this data (deciles, vocabularies), 21 quantiles, missing and infinite counts, kinds. "
            "Inside a notebook, nb2prod.profile(df) does the same and stores the profile with the run."
        ),
    )
    parser.add_argument("data", nargs="+", metavar="DATA", help="data files (one data set; their rows are added up)")
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write the profile (`-` for stdout)")
    parser.add_argument("--name", default="train", help="the profile's name (default: train)")
    parser.add_argument("--target", metavar="COLUMN", help="the label column (checked for label drift when the new data has it)")
    parser.add_argument("--exclude", type=names, default=[], metavar="A,B", help="columns to leave out (identifiers, free text)")
    parser.add_argument(
        "--hash-categories",
        action="store_true",
        help="store the sha256 of each category instead of its value (no personal values in the file)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Profile the data and write the file; a one-line summary on stderr."""
    from ..drift import profile_files, write_profile
    from ..drift.profile import profile_bytes

    if args.output != "-":
        target = os.path.realpath(args.output)
        if any(os.path.realpath(path) == target for path in args.data):
            raise UsageError("the output is one of the data files", path=args.output, hint="write the profile to another file")
    result = profile_files(args.data, name=args.name, target=args.target, exclude=args.exclude, hash_categories=args.hash_categories)
    kinds: dict[str, int] = {}
    for summary in result["columns"].values():
        kinds[summary["kind"]] = kinds.get(summary["kind"], 0) + 1
    if args.output == "-":
        sys.stdout.write(profile_bytes(result).decode("utf-8", "surrogateescape"))
        size = len(profile_bytes(result))
    else:
        write_profile(result, args.output)
        size = os.path.getsize(args.output)
    described = ", ".join(f"{count} {kind}" for kind, count in kinds.items())
    where = "stdout" if args.output == "-" else args.output
    line = (
        f"{where}: profile {args.name!r} of {result['rows']:,} rows x {len(result['columns'])} columns ({described}), {size / 1024:.1f} KB"
    )
    if result["sampled"]:
        line += f"; quantiles from a seeded sample of {1_000_000:,} values per column"
    print(printable(line), file=sys.stderr)
    return EXIT_OK
