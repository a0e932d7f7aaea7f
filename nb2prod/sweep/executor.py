"""The executor interface: what runs a sweep's jobs, and how one is found by name.

An executor gets the jobs of a sweep (one per parameter set still to run) and runs each as an
ordinary ``nb2prod run`` would, in a fresh kernel, with the run's folder under the local runs
folder. It reports, from the thread that called ``run``, when a job starts and when it has a
record (``on_start(index)``, ``on_finish(index, record)``). A job that cannot give a record of its
own (its worker vanished for good) is given a ``failed`` record (``lost_record``): never lost.

On ``KeyboardInterrupt`` (Ctrl-C, or SIGTERM turned into one by the sweep) ``run`` stops the jobs
that are running (their kernels shut down, their records say ``interrupted``), reports the ones
that still finish, drops the ones not started, and raises ``KeyboardInterrupt`` again.

Before the sweep checks its sets it calls ``prepare(count)``, so that an executor can start what
takes long to start (the local pool's worker processes) in the meantime; it calls ``close()`` at its
end whatever happened. Neither runs anything; both do nothing by default.

Executors are found through the ``nb2prod.executors`` entry point group (the built-ins,
``local`` and ``dask``, are registered in nb2prod's own ``pyproject.toml``), looked up when a
sweep asks for one, never at import time. A class there takes ``workers`` and ``scheduler``
keyword arguments and implements ``Executor``.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import UsageError
from ..records import RunRecord, write_record

ENTRY_POINT_GROUP = "nb2prod.executors"
#: The built-in executors, used when the installed metadata lacks their entry points (a stale editable install).
BUILTIN = {"local": "nb2prod.sweep.local:LocalExecutor", "dask": "nb2prod.sweep.dask:DaskExecutor"}


@dataclass(frozen=True)
class Job:
    """One run of a sweep: the set's number, the notebook, the set's typed values and the run's options.

    ``inputs`` are the declared input files and folders (relative to ``cwd``) that must travel with
    the job to a worker without the local file system; ``kernel`` is resolved (never None). ``git``
    is the notebook's git state the sweep captured once, when it started, recorded by every run
    (``"query"``: the run asks git itself, as a lone ``nb2prod run`` does).
    """

    index: int
    notebook: str
    values: dict[str, Any]
    runs_dir: str
    sweep: str
    kernel: str
    timeout: float | None = None
    cwd: str | None = None
    inputs: tuple[str, ...] = ()
    git: dict[str, Any] | str | None = "query"

    def to_json(self) -> dict[str, Any]:
        """The job as plain data (it crosses process boundaries as JSON)."""
        return {
            "index": self.index,
            "notebook": self.notebook,
            "values": self.values,
            "runs_dir": self.runs_dir,
            "sweep": self.sweep,
            "kernel": self.kernel,
            "timeout": self.timeout,
            "cwd": self.cwd,
            "inputs": list(self.inputs),
            "git": self.git,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Job:
        """The job ``to_json`` wrote."""
        return cls(**{**data, "inputs": tuple(data.get("inputs") or ())})


OnStart = Callable[[int], None]
OnFinish = Callable[[int, RunRecord], None]


class Executor(ABC):
    """Runs a sweep's jobs. ``workers``: how many runs at once (None: the executor's default); ``scheduler``: where to send them."""

    name = ""

    def __init__(self, *, workers: int | None = None, scheduler: str | None = None) -> None:
        self.workers = workers
        self.scheduler = scheduler

    def prepare(self, count: int) -> None:  # noqa: B027 (an optional hook: most executors have nothing to start)
        """Start, before the sweep's checks, what takes long to start for ``count`` jobs (worker processes); nothing runs yet.

        The sweep calls ``close`` when it ends, whether or not ``run`` came. Default: nothing to start.
        """

    def close(self) -> None:  # noqa: B027 (an optional hook)
        """Release what ``prepare`` started and ``run`` did not end (the sweep's checks refused it, Ctrl-C). Default: nothing."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What ``sweep.json`` records about the executor (its name first)."""

    @abstractmethod
    def run(self, jobs: Sequence[Job], on_start: OnStart, on_finish: OnFinish) -> None:
        """Run every job, reporting as they start and finish; see the module docstring for interrupts."""


def load_executor(name: str, *, workers: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor registered as ``name``, made with ``workers`` and ``scheduler``.

    Raises ``UsageError`` for an unknown name (listing the known ones) and whatever the executor
    raises when it cannot work here (the dask executor without dask installed: ``UsageError``).
    """
    from importlib import import_module
    from importlib.metadata import entry_points

    found = {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}
    known = sorted({*found, *BUILTIN})
    if name in found:
        cls = found[name].load()
    elif name in BUILTIN:
        module, _, attribute = BUILTIN[name].partition(":")
        cls = getattr(import_module(module), attribute)
    else:
        raise UsageError(
            f"unknown executor '{name}'", hint=f"one of {', '.join(known)}; more come from the {ENTRY_POINT_GROUP} entry points"
        )
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}")
    return cls(workers=workers, scheduler=scheduler)


def lost_record(job: Job, ename: str, evalue: str, directory: Path | None = None) -> RunRecord:
    """A ``failed`` record for a job whose run left none (its worker died for good): the set is never silently lost.

    Written into ``directory`` when the run's folder is known, else into a new run folder of the notebook.
    """
    from ..run import _make_run_dir, _timestamp  # the run folder naming, in one place
    from ..run.plan import _record_path

    now = datetime.now(timezone.utc)
    folder = directory or _make_run_dir(Path(job.runs_dir) / Path(job.notebook).stem, now)
    record = RunRecord(
        id=folder.name,
        notebook=_record_path(Path(job.notebook)),
        notebook_sha256="",
        parameters=dict(job.values),
        status="failed",
        started=_timestamp(now),
        finished=_timestamp(now),
        duration_s=0.0,
        error={"cell_index": None, "cell_id": None, "ename": ename, "evalue": evalue},
        kernel=job.kernel,
        nb2prod_version=__version__,
        sweep=job.sweep,
        git=None if job.git == "query" else job.git,
        directory=folder,
    )
    write_record(record)
    return record


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1
