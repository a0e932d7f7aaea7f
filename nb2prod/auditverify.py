"""``nb2prod audit --verify``: the hash chain line by line, then the head against the chain's end.

What each failure and warning means is in the docstring of :mod:`nb2prod.audit`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from .auditread import GENESIS, HEAD_FILE, Line, read_head, read_lines
from .errors import RecordError


@dataclass
class Verification:
    """The result of :func:`verify`: how many lines, the first bad one (None when the chain holds) and warnings."""

    lines: int
    bad_line: int | None = None
    problem: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every line is intact and in place."""
        return self.bad_line is None

    def to_json(self) -> dict[str, Any]:
        """The JSON form ``nb2prod audit --verify --format json`` prints."""
        return {"ok": self.ok, "lines": self.lines, "bad_line": self.bad_line, "problem": self.problem, "warnings": self.warnings}


def verify(runs_dir: str | os.PathLike[str]) -> Verification:
    """Check the whole chain and its head; name the first line that was edited, removed, moved or cut off the end.

    A last line without its newline that is not a whole valid line is the trace of an append a
    crash interrupted: a warning, not tampering (the next append removes it). So is a head behind
    the trail (see the module docstring); a trail without a head gets a note that its end cannot be
    checked. Lines cut off the end fail with ``bad_line`` one past the last line that is left.
    """
    lines = read_lines(runs_dir)
    result = Verification(len(lines))
    previous_digest, previous_seq = GENESIS, 0
    later = [line.entry.get("seq") if line.entry is not None else None for line in lines]
    for index, line in enumerate(lines):
        if not line.complete and line.problem is not None:
            result.warnings.append(f"line {line.number}: unfinished (an append interrupted by a crash); the next append removes it")
            result.lines -= 1
            break
        problem = line.problem or _link_problem(line, previous_digest, previous_seq, later[index + 1 :])
        if problem is not None:
            result.bad_line, result.problem = line.number, problem
            return result
        assert line.entry is not None
        previous_digest, previous_seq = line.digest, line.entry["seq"]
    _check_head(runs_dir, lines, previous_seq, result)
    return result


def _check_head(runs_dir: str | os.PathLike[str], lines: list[Line], last_seq: int, result: Verification) -> None:
    """Compare the intact chain (ending at ``last_seq``) with ``audit.head``; record a failure or a warning on ``result``."""
    try:
        head = read_head(runs_dir)
    except RecordError as error:
        result.bad_line, result.problem = result.lines + 1, f"{HEAD_FILE} {error.message}: the end of the trail cannot be checked"
        return
    if head is None:
        if result.lines:
            result.warnings.append(
                f"no {HEAD_FILE} (a trail from before nb2prod kept one): lines cut off the end cannot be detected; "
                "the next append writes it"
            )
        return
    if head.seq > last_seq:
        missing = head.seq - last_seq
        result.bad_line = result.lines + 1
        result.problem = (
            f"{missing} line{'s' if missing != 1 else ''} missing at the end: the trail ends at seq {last_seq} "
            f"but {HEAD_FILE} records seq {head.seq} (lines cut off the end)"
        )
        return
    at_head = next((line for line in lines if line.entry is not None and line.entry.get("seq") == head.seq), None)
    if head.seq and (at_head is None or at_head.digest != head.sha256):
        result.bad_line = at_head.number if at_head is not None else result.lines + 1
        result.problem = f"not the line {HEAD_FILE} recorded as seq {head.seq} (the end of the trail was cut off and other lines appended)"
        return
    behind = last_seq - head.seq
    if behind == 1:
        result.warnings.append(
            f"{HEAD_FILE} is one line behind (seq {head.seq} of {last_seq}): the last append was interrupted between "
            "writing its line and updating the head (a crash), not tampering; the next append updates it"
        )
    elif behind > 1:
        result.warnings.append(
            f"{HEAD_FILE} is {behind} lines behind (seq {head.seq} of {last_seq}): lines were appended without updating it "
            "(by an nb2prod older than the head, or appends that could not write it); the next append updates it"
        )


def _link_problem(line: Line, previous_digest: str, previous_seq: int, later: list[Any]) -> str | None:
    """What is wrong with a line's place in the chain (None when it follows the line before); ``later``: the seqs after it."""
    assert line.entry is not None
    seq, link = line.entry.get("seq"), line.entry.get("prev_sha256")
    if not isinstance(seq, int):
        return "no sequence number"
    if seq <= previous_seq:
        return f"out of order: seq {seq} after seq {previous_seq} (lines moved)"
    if seq > previous_seq + 1 and previous_seq + 1 in later:
        return f"out of order: seq {seq} before seq {previous_seq + 1} (lines moved)"
    if seq > previous_seq + 1:
        missing = f"seq {previous_seq + 1}" if seq == previous_seq + 2 else f"seq {previous_seq + 1} to {seq - 1}"
        return f"{missing} removed before this line"
    if link != previous_digest:
        return "the line before it was replaced (its hash is not the one this line recorded)"
    return None
