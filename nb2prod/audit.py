"""The audit trail: one append-only, hash-chained line per run, export, promotion and drift decision.

``<runs dir>/audit.jsonl`` holds one JSON object per line::

    {"schema":"nb2prod.audit/1","seq":7,"at":"2026-12-06T21:40:00.123Z","event":"drift",
     "actor":{"user":"ci","host":"runner-7"}, ...what the event is about...,
     "prev_sha256":"<the sha256 of line 6>","sha256":"<the sha256 of this line without this field>"}

Each line carries its own hash (of the line's bytes up to the ``sha256`` field, closed with ``}``)
and the previous line's, so ``verify`` tells an edited line (its hash does not match its bytes), a
removed one (``seq`` jumps and the link breaks) and a reordered one (``seq`` goes back) and names
the first bad line. The chain shows tampering; it cannot prevent it: whoever can write the file can
rewrite every hash after an edit.

Cutting lines off the end would leave a valid shorter chain, so the trail has a head:
``<runs dir>/audit.head`` records the last line's ``seq`` and hash, rewritten atomically (temporary
file and rename) under the trail's lock after every append. ``verify`` fails when the trail ends
before the head's line (naming how many lines are missing) or when the line at the head's ``seq``
is not the one the head recorded (the end was cut and new lines appended). A head *behind* the
trail is a warning, not tampering: the line is written and flushed before the head, so a crash
between the two leaves the head exactly one line behind, and an older nb2prod, which writes no
head, leaves it behind by the lines it appended; the next append brings it up to date. Nothing
about removing lines is hidden that way: a head behind only means lines were added. A trail with
no head at all (written before nb2prod kept one) verifies as before, with a note that its end
cannot be checked; deleting ``audit.head`` along with the end of the trail therefore goes unnoticed,
as editing both does: the head guards against truncation, not against someone who rewrites files.

Appending is safe across processes: the file is opened with ``O_APPEND``, locked exclusively
(``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows) while the last line is read and the new
one written with a single ``write`` and flushed with ``fsync``. A line is committed once its
newline is on disk. A crash mid-append can leave a last line without its newline: ``verify``
reports it as a warning (never as tampering), and the next append, holding the lock, removes it
when it is not a whole valid line (the append it belonged to never returned), or completes it with
the newline when it is.

Nothing secret enters a line: callers pass redacted parameters (``nb2prod.secrets``), and
``append`` masks the secret values it is given once more. Nothing from the data itself enters a
drift line either: paths, hashes, row counts, column names and the decision.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import math
import os
import socket
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .auditread import (  # the format, and what was public here before it moved
    AUDIT_FILE,
    EVENTS,
    GENESIS,
    HASH_FIELD,
    HEAD_FILE,
    HEAD_SCHEMA,
    SCHEMA,
    Head,
    Line,
    audit_path,
    check_line,
    entries,
    head_path,
    read_head,
    read_lines,
)
from .auditverify import Verification, verify
from .errors import RecordError, WriteError
from .secrets import Masker

__all__ = [
    "AUDIT_FILE",
    "DRIFT_FOLDER",
    "EVENTS",
    "GENESIS",
    "HEAD_FILE",
    "HEAD_SCHEMA",
    "SCHEMA",
    "Head",
    "Line",
    "Log",
    "RecordError",
    "Verification",
    "WriteError",
    "actor",
    "append",
    "audit_path",
    "check_line",
    "entries",
    "head_path",
    "locked",
    "now",
    "read_head",
    "read_lines",
    "record_drift",
    "record_export",
    "record_run",
    "sha256_file",
    "verify",
]

_TAIL_BLOCK = 8192


def actor() -> dict[str, str]:
    """Who acts: ``NB2PROD_ACTOR`` if set (a CI job names itself), else the login name; and the host."""
    user = os.environ.get("NB2PROD_ACTOR")
    if not user:
        try:
            user = getpass.getuser()
        except Exception:  # no login name (a container without a passwd entry)
            user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return {"user": user, "host": socket.gethostname()}


def now() -> str:
    """The current UTC time, milliseconds, as the audit lines and run records write it."""
    moment = datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The hex sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- writing --------------------------------------------------------------------------------------


def append(runs_dir: str | os.PathLike[str], event: str, fields: Mapping[str, Any], *, secrets: Iterable[str] = ()) -> dict[str, Any]:
    """Append one line about ``event`` (one of ``EVENTS``) to the runs folder's audit trail; return it.

    ``fields`` say what the event is about (JSON values); ``secrets`` are values to mask wherever
    they appear in them. The folder is created when missing. Raises ``WriteError`` when the file
    cannot be written (the trail is left as it was, or with a last line the next append removes).
    """
    with locked(runs_dir) as log:
        return log.append(event, fields, secrets=secrets)


class Log:
    """The audit trail of one runs folder, locked exclusively: ``append`` as often as needed, then leave the ``with``."""

    def __init__(self, fd: int, path: Path):
        self._fd = fd
        self.path = path
        self.head = path.with_name(HEAD_FILE)

    def append(self, event: str, fields: Mapping[str, Any], *, secrets: Iterable[str] = ()) -> dict[str, Any]:
        """Append one line (see :func:`append`) while the lock is held; return it as written."""
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}")
        seq, previous = self._tail()
        self._check_head(seq, previous)
        entry: dict[str, Any] = {"schema": SCHEMA, "seq": seq + 1, "at": now(), "event": event, "actor": actor()}
        entry.update(_strict_json(Masker(set(secrets)).data(dict(fields)) if secrets else fields))
        entry["prev_sha256"] = previous
        body = json.dumps(entry, ensure_ascii=True, separators=(",", ":"), allow_nan=False, default=str)
        digest = hashlib.sha256(body.encode("ascii")).hexdigest()
        line = f"{body[:-1]}{HASH_FIELD}{digest}" + '"}\n'
        try:
            _write_all(self._fd, line.encode("ascii"))
            os.fsync(self._fd)
        except OSError as exc:
            raise WriteError(f"cannot append to the audit trail: {exc.strerror or exc}", path=os.fspath(self.path)) from None
        entry["sha256"] = digest
        self._write_head(seq + 1, digest)
        return entry

    def _check_head(self, seq: int, digest: str) -> None:
        """Refuse to append after a cut-off end: a new line and head would hide it (``verify`` then finds nothing wrong).

        A head behind the trail is fine (see the module docstring); so is no head (an older trail).
        """
        try:
            head = read_head(self.path.parent)
        except RecordError as error:
            raise RecordError(
                f"{HEAD_FILE} is damaged ({error.message}); nothing appended",
                path=os.fspath(self.path),
                hint="run `nb2prod audit --verify` to see it",
            ) from None
        if head is None or head.seq < seq or (head.seq == seq and head.sha256 == digest):
            return
        if head.seq > seq:
            what = f"ends at seq {seq} but {HEAD_FILE} records seq {head.seq}: lines were cut off its end"
        else:
            what = f"does not end with the line {HEAD_FILE} recorded as seq {head.seq}"
        raise RecordError(
            f"the audit trail {what}; nothing appended",
            path=os.fspath(self.path),
            hint="run `nb2prod audit --verify`, and restore the trail from a backup",
        )

    def _write_head(self, seq: int, digest: str) -> None:
        """Record the last line in ``audit.head``; the line is already committed, so a failure is only a warning."""
        from .atomic import atomic_write

        body = json.dumps({"schema": HEAD_SCHEMA, "seq": seq, "sha256": digest}, separators=(",", ":")) + "\n"
        try:
            atomic_write(self.head, body.encode("ascii"))
        except WriteError as error:
            import logging

            logging.getLogger("nb2prod").warning(
                "%s (the line was appended; `nb2prod audit --verify` reports the head as behind until the next append)", error
            )

    def _tail(self) -> tuple[int, str]:
        """The last committed line's ``seq`` and hash, after removing (or completing) a line a crash left unfinished."""
        size = os.fstat(self._fd).st_size
        if size == 0:
            return 0, GENESIS
        last_newline, tail = _last_line(self._fd, size)
        if tail:  # no newline at the end: an append that did not finish
            checked = check_line(tail)
            if checked.problem is None:
                _write_all(self._fd, b"\n")  # whole and valid: only its newline was lost
                return int(checked.entry["seq"]), checked.entry["sha256"]
            os.ftruncate(self._fd, last_newline + 1)
            os.fsync(self._fd)
            if last_newline < 0:
                return 0, GENESIS
            size = last_newline + 1
        end = size - 1  # the committed last line ends with the newline at ``end``
        start_newline, _ = _last_line(self._fd, end)
        raw = _read_at(self._fd, start_newline + 1, end - start_newline - 1)
        checked = check_line(raw)
        if checked.entry is None or not isinstance(checked.entry.get("seq"), int):
            raise RecordError(
                "the audit trail's last line is damaged; nothing appended",
                path=os.fspath(self.path),
                hint="run `nb2prod audit --verify` to see it",
            )
        return checked.entry["seq"], checked.digest


def _strict_json(value: Any) -> Any:
    """``value`` with NaN and infinities as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (strict JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {str(key): _strict_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_strict_json(item) for item in value]
    return value


@contextlib.contextmanager
def locked(runs_dir: str | os.PathLike[str]) -> Iterator[Log]:
    """Hold the audit trail of ``runs_dir`` locked exclusively (other processes wait); yield a :class:`Log`."""
    path = audit_path(runs_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
    except OSError as exc:
        raise WriteError(f"cannot open the audit trail: {exc.strerror or exc}", path=os.fspath(path)) from None
    try:
        _lock(fd)
        try:
            yield Log(fd, path)
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


def _unlock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        return
    fcntl.flock(fd, fcntl.LOCK_UN)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_at(fd: int, offset: int, count: int) -> bytes:
    os.lseek(fd, offset, os.SEEK_SET)
    chunks = []
    while count > 0:
        chunk = os.read(fd, count)
        if not chunk:
            break
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def _last_line(fd: int, end: int) -> tuple[int, bytes]:
    """The offset of the last newline before ``end`` (-1 if none) and the bytes after it up to ``end``."""
    position = end
    tail = b""
    while position > 0:
        start = max(0, position - _TAIL_BLOCK)
        block = _read_at(fd, start, position - start)
        index = block.rfind(b"\n")
        if index >= 0:
            return start + index, block[index + 1 :] + tail
        tail = block + tail
        position = start
    return -1, tail


# --- the lines of runs and exports ----------------------------------------------------------------


def record_run(record: Any, runs_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Append the line of a finished run (a ``RunRecord`` already written): id, notebook hash, status, redacted parameters, file hashes.

    A trail that cannot be written does not undo the run (its record is on disk): the failure is
    logged as a warning on the ``nb2prod`` logger and None is returned.
    """
    from .records import RECORD_FILE
    from .secrets import redact

    record_sha256 = None
    if record.directory is not None and (record.directory / RECORD_FILE).is_file():
        record_sha256 = sha256_file(record.directory / RECORD_FILE)
    fields = {
        "run": {
            "id": record.id,
            "notebook": record.notebook,
            "notebook_sha256": record.notebook_sha256,
            "status": record.status,
            "parameters": redact(record.parameters),
            "record_sha256": record_sha256,
        },
        "inputs": dict(record.inputs),
        "artifacts": dict(record.artifacts),
        "decision": record.status,
    }
    return _append_or_warn(runs_dir, "run", fields, secrets=record.secrets)


def record_export(
    runs_dir: str | os.PathLike[str], *, notebooks: Mapping[str, str], out: str, files: Mapping[str, str], written: list[str]
) -> dict[str, Any] | None:
    """Append the line of an export: the source notebooks' and the package files' sha256, which of them it wrote.

    A failure to append is a warning on the ``nb2prod`` logger (the package is written), not an error.
    """
    fields = {"notebooks": dict(notebooks), "out": out, "files": dict(files), "written": written}
    return _append_or_warn(runs_dir, "export", fields)


def _append_or_warn(
    runs_dir: str | os.PathLike[str], event: str, fields: Mapping[str, Any], *, secrets: Iterable[str] = ()
) -> dict[str, Any] | None:
    import logging

    try:
        return append(runs_dir, event, fields, secrets=secrets)
    except (WriteError, RecordError) as error:
        logging.getLogger("nb2prod").warning("%s (the %s line was not added to the audit trail)", error, event)
        return None


DRIFT_FOLDER = "drift-checks"


def record_drift(
    runs_dir: str | os.PathLike[str],
    document: Mapping[str, Any],
    *,
    reference: Mapping[str, Any],
    data: Iterable[str | os.PathLike[str]],
    exit_code: int,
    html_report: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Store a drift decision: its result document first, then the audit line that points to it; return the line.

    The document (``nb2prod.drift/1``) is written atomically to ``<runs dir>/drift-checks/<id>.json``
    before the line is appended, so a crash in between leaves a report no line names, never a line
    naming a report that is not there. ``reference`` holds the run id, profile name, path and sha256;
    ``data`` the checked files (hashed here). Only paths, hashes, counts, column names and the decision
    reach the line, nothing of the data itself. Raises ``WriteError`` when either cannot be written.
    """
    import secrets as random

    from .atomic import atomic_write

    moment = datetime.now(timezone.utc)
    check_id = f"{moment.strftime('%Y%m%dT%H%M%SZ')}-{random.token_hex(3)}"
    relative = f"{DRIFT_FOLDER}/{check_id}.json"
    report = Path(runs_dir) / relative
    payload = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    try:
        report.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"cannot create the drift folder: {exc.strerror or exc}", path=os.fspath(report.parent)) from None
    atomic_write(report, payload)
    summary = document.get("summary") or {}
    gate = document.get("gate") or {}
    fields: dict[str, Any] = {
        "id": check_id,
        "reference": dict(reference),
        "current": [{"path": os.fspath(path), "sha256": sha256_file(path)} for path in data],
        "rows": document.get("rows"),
        "config_sha256": hashlib.sha256(json.dumps(document.get("config"), sort_keys=True).encode()).hexdigest(),
        "fail_on": list(gate.get("fail_on") or []),
        "summary": dict(summary),
        "failed": [c["column"] for c in document.get("columns", []) if isinstance(c, Mapping) and c.get("status") == "fail"],
        "decision": "fail" if gate.get("failed") else "pass",
        "exit_code": exit_code,
        "report": relative,
        "report_sha256": hashlib.sha256(payload).hexdigest(),
    }
    if html_report is not None:
        fields["html_report"] = {"path": os.fspath(html_report), "sha256": sha256_file(html_report)}
    return append(runs_dir, "drift", fields)
