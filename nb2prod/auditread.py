"""Reading the audit trail: its file format, each line parsed and checked against its own hash, and its head.

The format is described in :mod:`nb2prod.audit`, which writes the trail; :mod:`nb2prod.auditverify`
checks the chain and the head. Nothing here writes.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import RecordError

SCHEMA = "nb2prod.audit/1"
AUDIT_FILE = "audit.jsonl"
HEAD_FILE = "audit.head"
HEAD_SCHEMA = "nb2prod.audit-head/1"
GENESIS = "0" * 64
EVENTS = ("run", "export", "drift", "promote")
HASH_FIELD = ',"sha256":"'


def audit_path(runs_dir: str | os.PathLike[str]) -> Path:
    """Where the audit trail of a runs folder lives."""
    return Path(runs_dir) / AUDIT_FILE


def head_path(runs_dir: str | os.PathLike[str]) -> Path:
    """Where the head of a runs folder's audit trail lives (the last line's ``seq`` and hash)."""
    return Path(runs_dir) / HEAD_FILE


@dataclass(frozen=True)
class Line:
    """One line of the trail as read: its 1-based number, the parsed entry (None if it is not one) and what is wrong with it."""

    number: int
    raw: bytes
    entry: dict[str, Any] | None
    digest: str = ""
    problem: str | None = None
    complete: bool = True


def check_line(raw: bytes, number: int = 0, *, complete: bool = True) -> Line:
    """Parse one line and check its own hash (not its place in the chain)."""
    try:
        text = raw.decode("ascii")
        entry = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        return Line(number, raw, None, problem="not a JSON audit line", complete=complete)
    if not isinstance(entry, dict) or entry.get("schema") != SCHEMA:
        return Line(number, raw, None, problem=f"not a {SCHEMA} line", complete=complete)
    marker = text.rfind(HASH_FIELD)
    stored = entry.get("sha256")
    if marker < 0 or not isinstance(stored, str) or text[marker:] != f'{HASH_FIELD}{stored}"}}':
        return Line(number, raw, entry, problem="its hash field is missing or not last", complete=complete)
    digest = hashlib.sha256((text[:marker] + "}").encode("ascii")).hexdigest()
    if digest != stored:
        return Line(number, raw, entry, digest, problem="edited: its content does not match its hash", complete=complete)
    return Line(number, raw, entry, digest, complete=complete)


def read_lines(runs_dir: str | os.PathLike[str]) -> list[Line]:
    """Every line of the trail, each parsed and checked against its own hash (``[]`` when there is no trail)."""
    path = audit_path(runs_dir)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise RecordError(f"cannot read the audit trail: {exc.strerror or exc}", path=os.fspath(path)) from None
    pieces = data.split(b"\n")
    complete = [True] * (len(pieces) - 1) + [False]
    if pieces[-1] == b"":
        pieces, complete = pieces[:-1], complete[:-1]
    return [check_line(raw, number, complete=done) for number, (raw, done) in enumerate(zip(pieces, complete, strict=True), start=1)]


@dataclass(frozen=True)
class Head:
    """What ``audit.head`` records: the ``seq`` and hash of the trail's last line when it was written."""

    seq: int
    sha256: str


def read_head(runs_dir: str | os.PathLike[str]) -> Head | None:
    """The trail's head, None when there is none (a trail from before heads, or no trail); ``RecordError`` if it is damaged."""
    path = head_path(runs_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RecordError(f"cannot read the audit head: {exc.strerror or exc}", path=os.fspath(path)) from None
    try:
        document = json.loads(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        document = None
    if not isinstance(document, dict) or document.get("schema") != HEAD_SCHEMA:
        raise RecordError(f"not a {HEAD_SCHEMA} file", path=os.fspath(path))
    seq, digest = document.get("seq"), document.get("sha256")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0 or not isinstance(digest, str) or len(digest) != 64:
        raise RecordError("damaged: no valid seq and sha256", path=os.fspath(path))
    return Head(seq, digest)


def entries(runs_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The parsed entries of the trail, oldest first, skipping lines that are not entries (``verify`` names those)."""
    return [line.entry for line in read_lines(runs_dir) if line.entry is not None and line.complete]
