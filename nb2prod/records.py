"""Run records: the ``run.json`` that answers "which parameters produced this result?".

Every ``nb2prod run`` writes ``runs/<notebook-stem>/<UTC timestamp>-<short id>/`` holding
``output.ipynb`` (the executed notebook) and ``run.json`` (schema ``nb2prod.run/1``, see
DESIGN.md). This module owns that format: the ``RunRecord`` type, writing and reading it, and
finding runs by id, id prefix, path or ``latest``. Secrets never reach the disk: parameters whose
names look like keys, tokens, passwords or secrets are redacted before anything is written.

A run's ``run.json`` exists from before its kernel starts (status ``running``, with a ``runner``:
pid, host, process identity) and is rewritten when the run ends (without ``runner``). A reader
shows a ``running`` record whose process is gone as ``interrupted`` (``settled``).
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .atomic import atomic_write
from .errors import RecordError

SCHEMA = "nb2prod.run/1"
RECORD_FILE = "run.json"
OUTPUT_FILE = "output.ipynb"
DEFAULT_RUNS_DIR = "runs"
#: The statuses a record can show. ``running`` is what ``run.json`` says while its run goes on; a reader
#: shows a ``running`` record whose process is gone as ``interrupted``, or ``unknown`` when it cannot
#: tell (see ``read_record``).
STATUSES = ("ok", "failed", "timeout", "kernel_died", "interrupted", "running", "unknown")
FINISHED = ("ok", "failed", "timeout", "kernel_died", "interrupted")
REDACTED = "***"
_SECRET_NAME = re.compile(r"(?:^|_)key$|token|password|passwd|secret|credential|api_?key|private", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    """Whether a parameter name looks like it holds a secret (``*_key``, ``*token*``, ``*password*``…)."""
    return bool(_SECRET_NAME.search(name))


def redact(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``parameters`` with the values of secret-looking names replaced by ``***``."""
    return {name: (REDACTED if is_secret_name(name) and value is not None else value) for name, value in parameters.items()}


@dataclass
class RunRecord:
    """One run, as stored in ``run.json``. ``directory`` is where it lives (not stored)."""

    id: str
    notebook: str
    notebook_sha256: str
    parameters: dict[str, Any]
    status: str
    started: str
    finished: str | None = None
    duration_s: float | None = None
    error: dict[str, Any] | None = None  # {"cell_index", "cell_id", "ename", "evalue"}
    metrics: dict[str, Any] = field(default_factory=dict)
    git: dict[str, Any] | None = None  # {"commit", "dirty"}; None outside a git repository
    environment: dict[str, Any] = field(default_factory=dict)  # {"python", "platform", "packages"}
    inputs: dict[str, str] = field(default_factory=dict)  # path -> "sha256:…": files the run read, there before it started
    artifacts: dict[str, str] = field(default_factory=dict)  # path -> "sha256:…": files the run created or changed
    kernel: str | None = None
    nb2prod_version: str = ""
    schema: str = SCHEMA
    runner: dict[str, Any] | None = None  # {"pid", "host", "process"} of nb2prod while the run goes on; not stored after it
    directory: Path | None = field(default=None, compare=False, repr=False)

    @property
    def output_path(self) -> Path | None:
        """The executed notebook of this run."""
        return self.directory / OUTPUT_FILE if self.directory else None

    def to_json(self) -> dict[str, Any]:
        """The stored form, keys in DESIGN.md's order."""
        data = asdict(self)
        del data["directory"]
        if data["runner"] is None:
            del data["runner"]
        order = ("schema", "id", "notebook", "notebook_sha256", "parameters", "status", "error", "started", "finished")
        ordered = {key: data.pop(key) for key in order}
        ordered.update(data)
        return ordered

    @classmethod
    def from_json(cls, data: Mapping[str, Any], directory: Path | None = None) -> RunRecord:
        """Read a stored record; unknown keys (from newer versions) are ignored."""
        known = {f for f in cls.__dataclass_fields__ if f != "directory"}
        missing = {"id", "notebook", "status", "started"} - set(data)
        if missing:
            raise RecordError(f"run record lacks {', '.join(sorted(missing))}", path=str(directory) if directory else None)
        values = {key: value for key, value in data.items() if key in known}
        values.setdefault("notebook_sha256", "")
        values.setdefault("parameters", {})
        return cls(**values, directory=directory)


def write_record(record: RunRecord) -> Path:
    """Write ``run.json`` atomically into the record's directory (parameters redacted); return its path."""
    if record.directory is None:
        raise ValueError("a record needs its directory before it is written")
    record.parameters = redact(record.parameters)
    path = record.directory / RECORD_FILE
    atomic_write(path, (json.dumps(record.to_json(), indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8"))
    return path


def read_record(path: str | os.PathLike[str]) -> RunRecord:
    """Read a run record from its ``run.json`` or its directory."""
    target = Path(path)
    if target.is_dir():
        target = target / RECORD_FILE
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordError("no run record here", path=os.fspath(path), hint="`nb2prod runs list` shows the runs") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordError(f"cannot read the run record: {exc}", path=os.fspath(target)) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise RecordError(
            f"not an nb2prod run record (schema {data.get('schema') if isinstance(data, dict) else None!r})", path=os.fspath(target)
        )
    return settled(RunRecord.from_json(data, directory=target.parent))


# --- runs that are still going, or were killed -------------------------------------------------------


def current_runner() -> dict[str, Any]:
    """Who runs a run: this process's pid, the host name and (on Linux) the process's identity.

    ``process`` is ``<boot id>/<start time in clock ticks>`` from ``/proc``: a pid is reused once its
    process is gone, that pair is not. None where ``/proc`` does not say.
    """
    return {"pid": os.getpid(), "host": socket.gethostname(), "process": _process_identity(os.getpid())}


def runner_state(runner: Mapping[str, Any] | None) -> str:
    """``alive``, ``gone`` or ``unknown``: whether the process that wrote a ``running`` record still runs.

    Known only on the host that started the run (a runs folder on a shared disk may hold other
    machines' runs): there the pid must exist and, where recorded, be the same process (not a reused
    pid). Anywhere else, or for a record without its runner, the answer is ``unknown``.
    """
    if not isinstance(runner, Mapping) or runner.get("host") != socket.gethostname():
        return "unknown"
    pid = runner.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return "unknown"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "gone"
    except PermissionError:
        pass  # it exists, under another user
    except OSError:
        return "unknown"
    recorded = runner.get("process")
    if recorded is not None and _process_identity(pid) != recorded:
        return "gone"  # the pid now belongs to another process (or is a zombie)
    return "alive"


def settled(record: RunRecord) -> RunRecord:
    """``record`` as a reader should see it: a ``running`` record whose process is gone shows as ``interrupted``.

    ``nb2prod run`` writes ``run.json`` with status ``running`` (and its pid, host and process
    identity in ``runner``) before the kernel starts, and rewrites it when the run ends, whatever the
    ending, so a record that still says ``running`` belongs to a run in progress or to one whose
    process was killed (``kill -9``, a power cut) before it could finish the record. Readers never
    write, so the file keeps saying ``running``; what they show is decided here, once:

    - the runner is alive on this host: ``running``;
    - it is gone (this host, no such process, or the pid reused): ``interrupted``, with an error
      saying so;
    - it ran on another host, or the record does not say who ran it: ``unknown``.
    """
    if record.status != "running":
        return record
    state = runner_state(record.runner)
    if state == "alive":
        return record
    runner = record.runner if isinstance(record.runner, Mapping) else {}
    who = f"nb2prod (pid {runner.get('pid', '?')} on {runner.get('host', '?')})"
    if state == "gone":
        record.status = "interrupted"
        evalue = f"{who} ended before the run finished (killed?): the record is incomplete"
    else:
        record.status = "unknown"
        evalue = f"the run was started by {who} and did not finish its record; whether it still runs cannot be told from here"
    if record.error is None:
        record.error = {"cell_index": None, "cell_id": None, "ename": "RunnerLost", "evalue": evalue}
    return record


def _process_identity(pid: int) -> str | None:
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace").rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if len(fields) < 20 or fields[0] == "Z":
        return None
    return f"{boot}/{fields[19]}"  # field 22 of stat: start time after boot, in clock ticks


def iter_records(runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR) -> Iterator[RunRecord]:
    """Every readable run record under ``runs_dir``, newest first (by start time, to the millisecond)."""
    root = Path(runs_dir)
    if not root.is_dir():
        return
    records = []
    for path in root.glob(f"*/*/{RECORD_FILE}"):
        try:
            records.append(read_record(path))
        except RecordError:
            continue  # a run still being written, or a foreign file: not a record to list
    yield from sorted(records, key=_start_order, reverse=True)


def _start_order(record: RunRecord) -> tuple[str, str]:
    """When a run started: the id's UTC second, then the record's (millisecond) start time."""
    started = record.started
    if started.endswith("Z") and "." not in started:
        started = started[:-1] + ".000Z"
    return record.id.split("-")[0], started


def find_record(reference: str, runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR) -> RunRecord:
    """A run by id, unique id prefix, path (to the directory or run.json), or ``latest``."""
    candidate = Path(reference)
    if candidate.exists():
        return read_record(candidate)
    records = list(iter_records(runs_dir))
    if not records:
        raise RecordError(f"no runs in {os.fspath(runs_dir)}", hint="run a notebook with `nb2prod run NOTEBOOK` first, or pass --runs-dir")
    if reference == "latest":
        return records[0]
    matches = [r for r in records if r.id == reference] or [r for r in records if r.id.startswith(reference)]
    if not matches:
        raise RecordError(f"no run '{reference}' in {os.fspath(runs_dir)}", hint="`nb2prod runs list` shows the ids")
    if len(matches) > 1:
        shown = ", ".join(r.id for r in matches[:5])
        raise RecordError(f"'{reference}' matches {len(matches)} runs ({shown}…)", hint="give more of the id")
    return matches[0]
