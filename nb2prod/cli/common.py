"""Pieces every file-rewriting command shares: the paths argument and the closing summary line."""

from __future__ import annotations

import argparse
import sys


def add_paths(parser: argparse.ArgumentParser) -> None:
    """The positional ``PATH...`` argument: notebooks or folders."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help="notebooks or folders")


def print_summary(*, changed: int, total: int, failed: int, done: str) -> None:
    """``2 notebooks stripped, 5 unchanged, 1 failed`` on stderr (black's style of summary)."""
    parts = [f"{changed} notebook{'s' if changed != 1 else ''} {done}", f"{total - changed - failed} unchanged"]
    if failed:
        parts.append(f"{failed} failed")
    print(", ".join(parts), file=sys.stderr)
