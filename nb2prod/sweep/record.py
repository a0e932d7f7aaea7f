"""The sweep record, ``sweep.json``: which sets a sweep ran, as which runs, with what outcome, on which executor.

Where it lives: ``RUNS_DIR/.sweeps/<sweep id>/sweep.json``. Runs are found as
``RUNS_DIR/<notebook stem>/<run id>/run.json`` (``nb2prod.records.scan_records``), two levels
down; a sweep's folder sits inside ``.sweeps``, which is no notebook's folder, and holds no
``run.json``, so ``runs list`` never takes a sweep for a run nor reports it as a damaged record.
The leading dot also keeps ``strip``/``lint`` of a folder out of it (hidden folders are skipped).
Each run of the sweep is an ordinary run in its notebook's folder whose ``run.json`` names the
sweep (``RunRecord.sweep``); ``nb2prod runs list --sweep ID`` and ``nb2prod.runs.sweep_runs`` find them.

The file (schema ``nb2prod.sweep/1``) is rewritten, atomically, as each run ends::

    {"schema": "nb2prod.sweep/1", "id": "sweep-20261206T101500Z-3fa2c1",
     "notebook": "train.ipynb", "status": "ok",          // running | ok | failed | interrupted
     "started": "...", "finished": "...",
     "executor": {"name": "local", "workers": 2},
     "options": {"timeout": null, "kernel": null, "cwd": null, "inputs": []},
     "swept": ["lr"],
     "sets": [{"parameters": {"lr": 0.1}, "status": "ok", "runs": ["20261206T101501Z-aaaaaa"]}, ...]}

A set's ``runs`` are its attempts, oldest first (a resumed sweep adds one); its status is ``ok``
once any attempt succeeded, else the last attempt's, ``pending`` before any. Secret-looking
parameter values are stored as ``***`` (as in ``run.json``).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..atomic import atomic_write
from ..errors import RecordError
from ..records import DEFAULT_RUNS_DIR, REDACTED, current_runner, is_secret_name, redact, runner_state

SCHEMA = "nb2prod.sweep/1"
SWEEPS_DIR = ".sweeps"
SWEEP_FILE = "sweep.json"
SWEEP_STATUSES = ("running", "ok", "failed", "interrupted")
SET_STATUSES = ("pending", "ok", "failed", "timeout", "kernel_died", "interrupted")


@dataclass
class SweepSet:
    """One parameter set of a sweep: its values (as given), its runs (attempts, oldest first) and its status."""

    parameters: dict[str, Any]
    status: str = "pending"
    runs: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """Whether a run of this set succeeded (``--resume`` skips it)."""
        return self.status == "ok"


@dataclass
class SweepRecord:
    """A sweep, as stored in ``sweep.json``. ``directory`` is where it lives (not stored)."""

    id: str
    notebook: str
    status: str
    started: str
    sets: list[SweepSet]
    executor: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    swept: list[str] = field(default_factory=list)
    finished: str | None = None
    runner: dict[str, Any] | None = None  # who runs it while it runs (as in run.json); not stored after
    schema: str = SCHEMA
    directory: Path | None = field(default=None, compare=False, repr=False)

    @property
    def run_ids(self) -> list[str]:
        """Every run of the sweep, set by set."""
        return [run for entry in self.sets for run in entry.runs]

    def counts(self) -> dict[str, int]:
        """How many sets have each status."""
        found = {status: 0 for status in SET_STATUSES}
        for entry in self.sets:
            found[entry.status] = found.get(entry.status, 0) + 1
        return found

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        data = asdict(self)
        del data["directory"]
        if data["runner"] is None:
            del data["runner"]
        for entry in data["sets"]:
            entry["parameters"] = redact(entry["parameters"])
        order = ("schema", "id", "notebook", "status", "started", "finished", "executor", "options", "swept", "sets")
        return {key: data[key] for key in order} | {key: value for key, value in data.items() if key not in order}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], directory: Path | None = None) -> SweepRecord:
        """Read a stored sweep; ``RecordError`` naming the file when a field is missing or of the wrong kind."""
        where = os.fspath(directory / SWEEP_FILE) if directory else None
        problem = _problem(data)
        if problem:
            raise RecordError(f"damaged sweep record: {problem}", path=where, hint="repair the file or delete its sweep folder")
        sets = [
            SweepSet(dict(entry["parameters"]), str(entry.get("status", "pending")), list(entry.get("runs", []))) for entry in data["sets"]
        ]
        return cls(
            id=data["id"],
            notebook=data["notebook"],
            status=data["status"],
            started=data["started"],
            sets=sets,
            executor=dict(data.get("executor") or {}),
            options=dict(data.get("options") or {}),
            swept=list(data.get("swept") or []),
            finished=data.get("finished"),
            runner=data.get("runner"),
            directory=directory,
        )


def _problem(data: Mapping[str, Any]) -> str | None:
    for name, kind in (("id", str), ("notebook", str), ("status", str), ("started", str), ("sets", list)):
        if not isinstance(data.get(name), kind):
            return f"'{name}' is missing or not a {kind.__name__}"
    for number, entry in enumerate(data["sets"], start=1):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("parameters"), Mapping):
            return f"set {number} has no parameters"
        runs = entry.get("runs", [])
        if not isinstance(runs, list) or not all(isinstance(run, str) for run in runs):
            return f"set {number}: 'runs' is not a list of run ids"
    for name in ("executor", "options"):
        if data.get(name) is not None and not isinstance(data[name], Mapping):
            return f"'{name}' is not an object"
    return None


def new_sweep_id(now: datetime | None = None) -> str:
    """``sweep-<UTC timestamp>-<6 hex>``: sorts by start time, never taken for a run id."""
    moment = now or datetime.now(timezone.utc)
    return f"sweep-{moment.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def sweeps_folder(runs_dir: str | os.PathLike[str]) -> Path:
    """Where the sweeps of a runs folder are kept."""
    return Path(runs_dir) / SWEEPS_DIR


def write_sweep(record: SweepRecord) -> Path:
    """Write ``sweep.json`` atomically into the sweep's folder; return its path."""
    if record.directory is None:
        raise ValueError("a sweep needs its directory before it is written")
    record.directory.mkdir(parents=True, exist_ok=True)
    path = record.directory / SWEEP_FILE
    atomic_write(path, (json.dumps(record.to_json(), indent=2, ensure_ascii=False, default=repr) + "\n").encode("utf-8"))
    return path


def read_sweep(path: str | os.PathLike[str]) -> SweepRecord:
    """Read a sweep from its ``sweep.json`` or its folder; a ``running`` sweep whose process is gone reads as ``interrupted``."""
    target = Path(path)
    if target.is_dir():
        target = target / SWEEP_FILE
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordError("no sweep record here", path=os.fspath(path)) from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RecordError(
            f"damaged sweep record: {exc}", path=os.fspath(target), hint="repair the file or delete its sweep folder"
        ) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise RecordError("not an nb2prod sweep record", path=os.fspath(target))
    record = SweepRecord.from_json(data, directory=target.parent)
    if record.status == "running" and runner_state(record.runner) == "gone":
        record.status = "interrupted"
    return record


def list_sweeps(runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR) -> list[SweepRecord]:
    """The readable sweeps of a runs folder, newest first."""
    found = []
    for path in sweeps_folder(runs_dir).glob(f"*/{SWEEP_FILE}"):
        try:
            found.append(read_sweep(path))
        except RecordError:
            continue
    return sorted(found, key=lambda sweep: [*sweep.id.split("-")[1:2], sweep.started], reverse=True)


def find_sweep(reference: str, runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR) -> SweepRecord:
    """A sweep by id, unique id prefix (with or without ``sweep-``), path to its folder or ``sweep.json``, or ``latest``."""
    candidate = Path(reference)
    if candidate.exists() and (candidate.is_dir() or candidate.name == SWEEP_FILE):
        return read_sweep(candidate)
    shown = os.fspath(runs_dir)
    sweeps = list_sweeps(runs_dir)
    if reference == "latest":
        matches = sweeps[:1]
    else:
        wanted = reference if reference.startswith("sweep-") else f"sweep-{reference}"
        matches = [s for s in sweeps if s.id == wanted] or [s for s in sweeps if s.id.startswith(wanted)]
    if not matches:
        raise RecordError(f"no sweep '{reference}' here", path=shown, hint=f"sweeps are kept in {sweeps_folder(runs_dir)}")
    if len(matches) > 1:
        raise RecordError(
            f"'{reference}' matches {len(matches)} sweeps ({', '.join(s.id for s in matches[:5])})", path=shown, hint="give more of the id"
        )
    return matches[0]


def new_sweep(
    sweep_id: str,
    notebook: str,
    sets: Sequence[Mapping[str, Any]],
    *,
    runs_dir: str | os.PathLike[str],
    executor: Mapping[str, Any],
    options: Mapping[str, Any],
    swept: Sequence[str],
) -> SweepRecord:
    """A sweep record about to start (status ``running``, every set pending)."""
    return SweepRecord(
        id=sweep_id,
        notebook=notebook,
        status="running",
        started=timestamp(),
        sets=[SweepSet(dict(values)) for values in sets],
        executor=dict(executor),
        options=dict(options),
        swept=list(swept),
        runner=current_runner(),
        directory=sweeps_folder(runs_dir) / sweep_id,
    )


def secrets_to_give(record: SweepRecord) -> list[str]:
    """The secret-looking parameters stored as ``***``: a resumed sweep needs them again (``-p NAME=VALUE``)."""
    return sorted({name for entry in record.sets for name, value in entry.parameters.items() if is_secret_name(name) and value == REDACTED})


def timestamp() -> str:
    """Now, in UTC, to the millisecond (as run records write it)."""
    moment = datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
