"""Pieces the commands share: the paths argument, the closing summary line, and error lines.

Error lines are ``path: error: what (what to do)`` on stderr with their control characters
escaped (a file name or a value from a notebook must not reach the terminal raw); ``about`` gives
an error without a path the one its command is about.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from .. import Nb2prodError, printable


def add_paths(parser: argparse.ArgumentParser) -> None:
    """The positional ``PATH...`` argument: notebooks or folders."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help="notebooks or folders")


def print_summary(*, changed: int, total: int, failed: int, done: str) -> None:
    """``2 notebooks stripped, 5 unchanged, 1 failed`` on stderr (black's style of summary)."""
    parts = [f"{changed} notebook{'s' if changed != 1 else ''} {done}", f"{total - changed - failed} unchanged"]
    if failed:
        parts.append(f"{failed} failed")
    print(", ".join(parts), file=sys.stderr)


def print_error(error: Nb2prodError) -> None:
    """The error's one line on stderr, control characters escaped."""
    print(printable(str(error)), file=sys.stderr)


@contextmanager
def about(path: str | os.PathLike[str] | None) -> Iterator[None]:
    """An ``Nb2prodError`` raised inside without a path is about ``path`` (the notebook, run or file the command was given)."""
    try:
        yield
    except Nb2prodError as error:
        if error.path is None and path is not None:
            error.path = os.fspath(path)
        raise
