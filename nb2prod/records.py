"""Run records: the ``run.json`` that answers "which parameters produced this result?".

Every ``nb2prod run`` writes ``runs/<notebook-stem>/<UTC timestamp>-<short id>/`` holding
``output.ipynb`` (the executed notebook) and ``run.json`` (schema ``nb2prod.run/1``, see
DESIGN.md). This module owns that format: the ``RunRecord`` type, writing and reading it, and
finding runs by id, id prefix, path or ``latest``. Secrets never reach the disk: parameters whose
names look like keys, tokens, passwords or secrets, or whose values look like credentials
(``nb2prod.secrets``), are ``***``, and those values are masked in the error, the metrics and the
inputs, before anything is written and again whenever a record is read (a record written by an
older version is shown masked too).

Besides the parameters' values, ``run.json`` says which of them were *given* to the run (``-p``,
``-f``, ``NB2PROD_PARAM_<NAME>``): ``"given": ["seed", "api_token"]``; the others ran with the
notebook's defaults. ``verify`` needs this to know that a redacted secret it cannot replay was the
notebook's own default (it can use it again) and not a value passed to the run (it must be passed
again). The key is new in the same schema: a record without it (older versions) says nothing
about which values were given, and older versions ignore it.

Reading is strict: every field of a ``run.json`` is checked against its type before a record is
made (``"parameters": null`` or a string ``duration_s`` would otherwise break every view of the
runs folder). A record that cannot be read or fails the check is a ``DamagedRecord``: listed as
damaged, an error naming its file when it is asked for, never skipped silently.

A run's ``run.json`` exists from before its kernel starts (status ``running``, with a ``runner``:
pid, host, process identity) and is rewritten when the run ends (without ``runner``). A reader
shows a ``running`` record whose process is gone as ``interrupted`` (``settled``).
"""

from __future__ import annotations

import json
import os
import socket
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Union

from .atomic import atomic_write
from .errors import RecordError
from .secrets import REDACTED as REDACTED
from .secrets import Masker, mask_text, redact, secret_values
from .secrets import is_secret_name as is_secret_name

SCHEMA = "nb2prod.run/1"
RECORD_FILE = "run.json"
OUTPUT_FILE = "output.ipynb"
DEFAULT_RUNS_DIR = "runs"
#: The statuses a record can show. ``running`` is what ``run.json`` says while its run goes on; a reader
#: shows a ``running`` record whose process is gone as ``interrupted``, or ``unknown`` when it cannot
#: tell (see ``read_record``).
STATUSES = ("ok", "failed", "timeout", "kernel_died", "interrupted", "running", "unknown")


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
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {"path", "sha256", "rows", "columns"}: nb2prod.profile(df)
    kernel: str | None = None
    nb2prod_version: str = ""
    schema: str = SCHEMA
    given: list[str] | None = None  # names of the parameters given to the run; None: not known (older records)
    runner: dict[str, Any] | None = None  # {"pid", "host", "process"} of nb2prod while the run goes on; not stored after it
    sweep: str | None = None  # the id of the sweep this run belongs to; stored only when set
    directory: Path | None = field(default=None, compare=False, repr=False)
    #: The secret values this record has masked so far (never stored): a record redacted once still masks them.
    secrets: set[str] = field(default_factory=set, compare=False, repr=False)

    @property
    def output_path(self) -> Path | None:
        """The executed notebook of this run."""
        return self.directory / OUTPUT_FILE if self.directory else None

    def to_json(self) -> dict[str, Any]:
        """The stored form, keys in DESIGN.md's order."""
        data = asdict(self)
        del data["directory"], data["secrets"]
        for optional in ("given", "runner", "sweep"):  # stored only when set: records of plain runs stay as they were
            if data[optional] is None:
                del data[optional]
        order = ("schema", "id", "notebook", "notebook_sha256", "parameters", "status", "error", "started", "finished")
        ordered = {key: data.pop(key) for key in order if key in data}
        ordered.update(data)  # then the rest in field order; ``given`` (newer than DESIGN.md's list) last
        return ordered

    def redact(self) -> RunRecord:
        """Make the record safe to write or show, in place: secret parameters ``***``, their values masked everywhere else.

        The values of secret parameters (by name or by shape, ``nb2prod.secrets``) are remembered
        before they are replaced, so calling this again after new metrics or an error arrived masks
        them too. Returns the record.
        """
        if isinstance(self.parameters, Mapping):
            self.secrets |= secret_values(self.parameters)
            self.parameters = redact(self.parameters)
        masker = Masker(self.secrets)
        self.error = masker.data(self.error)
        self.metrics = masker.data(self.metrics)
        self.inputs = masker.data(self.inputs)
        self.artifacts = masker.data(self.artifacts)
        return self

    @classmethod
    def from_json(cls, data: Mapping[str, Any], directory: Path | None = None) -> RunRecord:
        """Read a stored record; unknown keys (from newer versions) are ignored."""
        known = {f for f in cls.__dataclass_fields__ if f not in ("directory", "secrets")}
        missing = {"id", "notebook", "status", "started"} - set(data)
        problem = f"no {', '.join(sorted(missing))}" if missing else record_problem(data, known)
        if problem:  # every stored field is checked against its type: see record_problem
            where = os.fspath(directory / RECORD_FILE) if directory else None
            raise RecordError(f"damaged run record: {problem}", path=where, hint=DAMAGED_HINT)
        values = {key: value for key, value in data.items() if key in known}
        values.setdefault("notebook_sha256", "")
        values.setdefault("parameters", {})
        return cls(**values, directory=directory)


def write_record(record: RunRecord) -> Path:
    """Write ``run.json`` atomically into the record's directory; return its path.

    The record is redacted in place first (``RunRecord.redact``): what the caller shows afterwards is safe too.
    """
    if record.directory is None:
        raise ValueError("a record needs its directory before it is written")
    record.redact()
    path = record.directory / RECORD_FILE
    atomic_write(path, (json.dumps(record.to_json(), indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8"))
    return path


def read_record(path: str | os.PathLike[str]) -> RunRecord:
    """Read a run record from its ``run.json`` or its directory.

    Raises ``RecordError`` naming the file when there is no record there, or it is not a record
    (not JSON, another schema, a field of the wrong type).
    """
    target = Path(path)
    if target.is_dir():
        target = target / RECORD_FILE
    if target.exists() and not target.is_file():  # a FIFO would block the read forever
        raise RecordError("damaged run record: not a regular file", path=os.fspath(target), hint=DAMAGED_HINT)
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordError("no run record here", path=os.fspath(path), hint="`nb2prod runs list` shows the runs") from None
    except json.JSONDecodeError as exc:
        message = f"damaged run record: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise RecordError(message, path=os.fspath(target), hint=DAMAGED_HINT) from None
    except (OSError, UnicodeDecodeError, RecursionError) as exc:
        detail = getattr(exc, "strerror", None) or exc
        raise RecordError(f"damaged run record: cannot read it: {detail}", path=os.fspath(target), hint=DAMAGED_HINT) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise RecordError(
            f"not an nb2prod run record (schema {data.get('schema') if isinstance(data, dict) else None!r})",
            path=os.fspath(target),
            hint="pass a run id or the folder `nb2prod run` wrote; `nb2prod runs list` shows them",
        )
    # Masked first (a record written before masking existed is shown masked), then settled.
    return settled(RunRecord.from_json(data, directory=target.parent).redact())


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


def scan_records(runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR) -> list[RunRecord | DamagedRecord]:
    """Every ``RUNS_DIR/<notebook>/<run>/run.json``, newest first: a record, or a ``DamagedRecord`` saying why not.

    Raises ``RecordError`` when ``runs_dir`` exists but is not a folder; a missing folder holds no runs.
    """
    root = Path(runs_dir)
    if root.exists() and not root.is_dir():
        raise RecordError("the runs folder is not a folder", path=os.fspath(runs_dir), hint="pass --runs-dir with the folder of the runs")
    entries: list[RunRecord | DamagedRecord] = []
    for path in root.glob(f"*/*/{RECORD_FILE}") if root.is_dir() else ():
        try:
            entries.append(read_record(path))
        except RecordError as error:
            entries.append(DamagedRecord(path, error))
    return sorted(entries, key=_start_order, reverse=True)


def iter_records(runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR) -> Iterator[RunRecord]:
    """Every readable run record under ``runs_dir``, newest first (by start time, to the millisecond).

    Damaged records are left out: ``scan_records`` has them too.
    """
    yield from (entry for entry in scan_records(runs_dir) if isinstance(entry, RunRecord))


def _start_order(entry: RunRecord | DamagedRecord) -> tuple[str, str]:
    """When a run started: the id's UTC second, then the record's (millisecond) start time."""
    if isinstance(entry, DamagedRecord):
        return entry.id.split("-")[0], ""
    started = entry.started
    if started.endswith("Z") and "." not in started:
        started = started[:-1] + ".000Z"
    return entry.id.split("-")[0], started


def find_record(reference: str, runs_dir: str | os.PathLike[str] = DEFAULT_RUNS_DIR) -> RunRecord:
    """A run by id, unique id prefix, path (to the directory or run.json), ``latest``, or a stage (``production``).

    Raises ``RecordError``: about the runs folder when no run matches or several do, about the
    run's ``run.json`` when the run it names is damaged.
    """
    candidate = Path(reference)
    if candidate.exists():
        return read_record(candidate)
    shown = os.fspath(runs_dir)
    from .stages import stage_run  # stages imports this module

    promoted = stage_run(reference, runs_dir)
    entries = scan_records(runs_dir)
    if promoted is not None:
        found = next((e for e in entries if e.id == promoted), None)
        if found is None:
            raise RecordError(f"the run promoted to {reference} ({promoted}) is gone", path=shown, hint="promote another run")
        if isinstance(found, DamagedRecord):
            raise found.error
        return found
    if not entries:
        raise RecordError("no runs here", path=shown, hint="run a notebook with `nb2prod run NOTEBOOK` first, or pass --runs-dir")
    if reference == "latest":
        matches = entries[:1]
    else:
        matches = [e for e in entries if e.id == reference] or [e for e in entries if e.id.startswith(reference)]
    if not matches:
        raise RecordError(f"no run '{reference}' here", path=shown, hint="`nb2prod runs list` shows the ids")
    if len(matches) > 1:
        listed = ", ".join(e.id for e in matches[:5]) + ("…" if len(matches) > 5 else "")
        raise RecordError(f"'{reference}' matches {len(matches)} runs ({listed})", path=shown, hint="give more of the id")
    found = matches[0]
    if isinstance(found, DamagedRecord):
        raise found.error
    return found


# --- checking a stored record --------------------------------------------------------------------


DAMAGED_HINT = "repair the file or delete its run folder"

#: Fields inside the record's objects that views of the record use, with their types.
_NESTED_FIELDS: Mapping[str, Mapping[str, Any]] = {
    "error": {"cell_index": int | None, "cell_id": str | None, "ename": str | None, "evalue": str | None},
    "git": {"commit": str | None, "dirty": bool | None},
    "environment": {"python": str, "platform": str, "packages": dict[str, str]},
}


def record_problem(data: Mapping[str, Any], fields: Iterable[str]) -> str | None:
    """What is wrong with the types of a stored record's ``fields`` (None when nothing is).

    Each stored field of ``RunRecord`` is checked against its annotation, and the fields inside
    ``error``, ``git`` and ``environment`` against ``_NESTED_FIELDS``; keys nb2prod does not know
    are left alone (a newer version may have written them).
    """
    hints = typing.get_type_hints(RunRecord)
    for name in fields:
        hint = hints[name]
        if name in data and not _fits(data[name], hint):
            return _mismatch(name, data[name], hint)
    if not data["id"]:
        return "'id' is empty"
    for name, fields in _NESTED_FIELDS.items():
        outer = data.get(name)
        for key, hint in fields.items() if isinstance(outer, Mapping) else ():
            if key in outer and not _fits(outer[key], hint):
                return _mismatch(f"{name}.{key}", outer[key], hint)
    return None


def _mismatch(name: str, value: Any, hint: Any) -> str:
    """Why ``value`` is not a ``hint``, down to the first wrong item of an object of strings."""
    if typing.get_origin(hint) is dict and isinstance(value, dict):
        value_hint = typing.get_args(hint)[1]
        key, item = next((k, v) for k, v in value.items() if not _fits(v, value_hint))
        return _mismatch(f"{name}.{key}", item, value_hint)
    return f"'{name}' is {_json_kind(value)}, expected {_expected(hint)}"


def _fits(value: Any, hint: Any) -> bool:
    """Whether a JSON value has the type ``hint`` (an int is a float; a bool is neither)."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin in (Union, types.UnionType):
        return any(_fits(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is dict:
        key_hint, value_hint = typing.get_args(hint)
        return isinstance(value, dict) and all(_fits(k, key_hint) and _fits(v, value_hint) for k, v in value.items())
    if origin is list:
        (item_hint,) = typing.get_args(hint)
        return isinstance(value, list) and all(_fits(item, item_hint) for item in value)
    return isinstance(value, origin or hint)


_KINDS = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    dict: "an object",
    list: "a list",
    type(None): "null",
}


def _expected(hint: Any) -> str:
    """A type annotation in JSON's words: ``dict[str, Any] | None`` is "an object or null"."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        return " or ".join(_expected(arg) for arg in typing.get_args(hint))
    kind = _KINDS.get(typing.get_origin(hint) or hint, str(hint))
    if typing.get_origin(hint) in (dict, list) and typing.get_args(hint)[-1] is not Any:
        kind += f" of {_expected(typing.get_args(hint)[-1]).split(' ', 1)[-1]}s"
    return kind


def _json_kind(value: Any) -> str:
    """How a JSON value is named in a message: null, true, a string "x"…"""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str):
        return f"the string {json.dumps(mask_text(value)[:40], ensure_ascii=False)}"  # a damaged record may hold a key
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return "a list" if isinstance(value, list) else "an object"


@dataclass(frozen=True)
class DamagedRecord:
    """A ``run.json`` under a runs folder that cannot be read as a record: where it is and why.

    ``id`` is its run folder's name (what the id would be), so ``runs show ID`` finds it and says
    what is wrong instead of "no such run".
    """

    path: Path
    error: RecordError

    @property
    def id(self) -> str:
        """The name of the run folder."""
        return self.path.parent.name

    @property
    def directory(self) -> Path:
        """The run folder."""
        return self.path.parent

    @property
    def reason(self) -> str:
        """What is wrong, without the path."""
        return self.error.message.removeprefix("damaged run record: ")
