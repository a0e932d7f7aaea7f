"""The ``dask`` executor: each run is a task on a ``dask.distributed`` cluster; its record comes back here.

What travels with a task: the notebook's bytes, its parameters, and its inputs as declared (the
files its string parameters name, relative to the working folder, and the ``--input`` files and
folders), so workers need no shared file system. On the worker the task unpacks them into a
folder and runs the notebook there with an ``nb2prod.sweep.worker`` process (a process of its own,
as on the local pool: no shared ``chdir``; a worker that dies takes it down, see
``nb2prod.sweep.worker``). Each Dask worker thread keeps that process and its folder for the
sweep's next task (``_Runner``): the process starts the next run's kernel ahead, in that folder, as
on the local pool (every run still gets a kernel of its own); when the sweep ends, every worker's
runners of the sweep are ended (``close_runners``). The executed notebook and ``run.json`` come
back and are written to the local runs folder, as if the run had been local (the record's
``environment`` is the worker's).

No ``scheduler``: a ``LocalCluster`` of ``workers`` single-threaded worker processes is started for
the sweep and closed after it, with the helper process ``multiprocessing`` starts to spawn them
(its resource tracker, which would otherwise live as long as the caller's process: see
``local_cluster``), so no process the sweep started outlives it. A worker that dies mid-run: dask
runs its task again on another worker; a task that cannot be run at all (``KilledWorker`` after repeated deaths) gets a ``failed``
record. Interrupting the sweep sets a cluster-wide event the tasks watch: running notebooks end as
``interrupted`` (their records come back), tasks not started end without running.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import secrets
import selectors
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..atomic import atomic_write
from ..errors import UsageError
from ..records import OUTPUT_FILE, RECORD_FILE, RunRecord, write_record
from .executor import Executor, Job, OnFinish, OnStart, default_workers, lost_record
from .worker import WorkerProcess

INSTALL_HINT = "pip install 'nb2prod[dask]'"
#: How long running tasks get to send back their interrupted records after an interrupt.
STOP_GRACE_S = 30.0


class DaskExecutor(Executor):
    """Runs jobs as tasks on a Dask cluster (``scheduler``: its address; None: a ``LocalCluster``)."""

    name = "dask"

    def __init__(self, *, workers: int | None = None, scheduler: str | None = None) -> None:
        super().__init__(workers=workers, scheduler=scheduler)
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise UsageError("the dask executor needs dask.distributed, which is not installed", hint=INSTALL_HINT) from None

    def describe(self) -> dict[str, Any]:
        """``{"name": "dask", "scheduler": ADDRESS or "LocalCluster", "workers": N or None}``."""
        workers = self.workers or (default_workers() if self.scheduler is None else None)
        return {"name": self.name, "scheduler": self.scheduler or "LocalCluster", "workers": workers}

    def run(self, jobs: Sequence[Job], on_start: OnStart, on_finish: OnFinish) -> None:
        """Submit every job to the cluster and store each record as it comes back; see ``Executor.run``."""
        if not jobs:
            return
        from distributed import Client

        with contextlib.ExitStack() as stack:
            if self.scheduler is None:
                cluster = stack.enter_context(local_cluster(n_workers=self.workers or default_workers()))
                client = stack.enter_context(Client(cluster))
            else:
                try:
                    client = stack.enter_context(Client(self.scheduler, timeout=30))
                except (OSError, TimeoutError) as exc:
                    raise UsageError(f"cannot reach the Dask scheduler at {self.scheduler}: {exc}", hint="check --scheduler") from None
            self._run(client, jobs, on_start, on_finish)

    def _run(self, client: Any, jobs: Sequence[Job], on_start: OnStart, on_finish: OnFinish) -> None:
        """Submit the jobs through ``client`` and finish each as it comes back; on an interrupt, stop the cluster's tasks."""
        from distributed import Event, as_completed

        stop = Event(f"nb2prod-stop-{jobs[0].sweep}", client=client)
        slots = max(1, sum(client.nthreads().values()))
        runners = f"{jobs[0].sweep}-{secrets.token_hex(4)}"  # this execution's (a resumed sweep has the same id)
        by_key = {}
        for position, job in enumerate(jobs):
            # the last ``slots`` tasks (dask runs them about in order) start no kernel ahead for a next task that will not come
            payload = {**pack(job, stop.name, more=position < len(jobs) - slots), "runners": runners}
            future = client.submit(run_remote, payload, key=f"nb2prod-{job.sweep}-{job.index}", pure=False)
            by_key[future.key] = (future, job)
        started = [job.index for _, job in list(by_key.values())[:slots]]
        for index in started:
            on_start(index)
        waiting = [job.index for _, job in list(by_key.values())[slots:]]
        completed = as_completed([future for future, _ in by_key.values()])
        try:
            self._collect(client, by_key, waiting, completed, stop, on_start, on_finish)
        finally:
            _close_runners(client, runners)

    def _collect(
        self, client: Any, by_key: dict[str, Any], waiting: list[int], completed: Any, stop: Any, on_start: OnStart, on_finish: OnFinish
    ) -> None:
        """Finish each task as it completes; on an interrupt, stop the running ones, keep what they send back, cancel the rest."""
        try:
            for future in completed:
                job = by_key[future.key][1]
                _finish(future, job, on_finish)
                if waiting:
                    on_start(waiting.pop(0))
        except KeyboardInterrupt:
            stop.set()
            deadline = time.monotonic() + STOP_GRACE_S
            for future, job in by_key.values():
                if future.done() or time.monotonic() > deadline:
                    continue
                try:
                    future.result(timeout=max(0.1, deadline - time.monotonic()))
                except Exception:
                    pass
                else:
                    _finish(future, job, on_finish)
            client.cancel([future for future, _ in by_key.values() if not future.done()])
            raise


def _close_runners(client: Any, runners: str) -> None:
    """End the run processes the cluster's workers kept for the sweep (``runners``: its execution's name), with their kernels."""
    with contextlib.suppress(Exception):  # a worker gone, or the cluster: its run processes ended with it (their stdin closed)
        client.run(close_runners, runners)


@contextlib.contextmanager
def local_cluster(**options: Any) -> Iterator[Any]:
    """A ``LocalCluster`` of single-threaded worker processes for a sweep (``options``: more ``LocalCluster`` arguments).

    Closing it ends its worker processes; and when it was the cluster that made ``multiprocessing``
    start this process's resource tracker (to spawn its workers), the tracker is stopped too: it
    would otherwise stay a child of the caller's process until that process ends (a notebook, a
    test session, a service running sweeps).
    """
    from multiprocessing import resource_tracker

    from distributed import LocalCluster

    tracker = resource_tracker._resource_tracker
    tracker_was_running = getattr(tracker, "_fd", None) is not None
    settings = {"threads_per_worker": 1, "processes": True, "dashboard_address": None, **options}
    try:
        with LocalCluster(**settings) as cluster:
            yield cluster
    finally:
        if not tracker_was_running and hasattr(tracker, "_stop"):
            gc.collect()  # the workers' queues, unreachable now, unregister their semaphores before the tracker goes
            with contextlib.suppress(OSError):
                tracker._stop()


def _finish(future: Any, job: Job, on_finish: OnFinish) -> None:
    """Store what a finished task sent back and report it; a task that failed as a whole gets a failed record."""
    try:
        result = future.result()
    except Exception as exc:  # KilledWorker (its worker died again and again), a cancelled task, a broken worker
        on_finish(job.index, lost_record(job, type(exc).__name__, f"the Dask task of this run failed: {exc}"))
        return
    if result.get("skipped"):
        return
    if result.get("error"):
        on_finish(job.index, lost_record(job, "RunError", result["error"]))
        return
    on_finish(job.index, store(job, result))


def pack(job: Job, stop: str, *, more: bool = True) -> dict[str, Any]:
    """What travels with a job: the notebook's bytes and path, the declared input files' bytes, the job, the stop event's name.

    ``more``: whether the sweep has tasks after this one for the worker to start a kernel ahead for.
    """
    base = Path(job.cwd) if job.cwd is not None else Path.cwd()
    notebook = Path(job.notebook)
    try:
        relative = notebook.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        relative = notebook.name
    files: dict[str, bytes] = {}
    for name in [*_named_files(job.values, base), *job.inputs]:
        path = base / name
        for found in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if found.is_file():
                files[found.relative_to(base).as_posix()] = found.read_bytes()
    return {"job": job.to_json(), "notebook_path": relative, "notebook": notebook.read_bytes(), "files": files, "stop": stop, "more": more}


def _named_files(values: dict[str, Any], base: Path) -> list[str]:
    """The files the parameters name that exist under ``base`` (what a run records as its inputs): relative paths only."""
    from ..run.environment import snapshot_files

    return [name for name in snapshot_files(values, base).hashes if not os.path.isabs(name) and ".." not in Path(name).parts]


def run_remote(payload: dict[str, Any]) -> dict[str, Any]:
    """The task: unpack the notebook and its inputs into its runner's folder, run it there, send the record back.

    Returns ``{"run_json": TEXT, "output": BYTES or None}``, ``{"error": MESSAGE}`` when the run could
    not start, or ``{"skipped": True}`` when the sweep was stopped before the task began.
    """
    from distributed import Event

    stop = Event(payload["stop"])
    if stop.is_set():
        return {"skipped": True}
    key = (payload.get("runners", payload["job"]["sweep"]), threading.get_ident())
    runner = _take_runner(key, payload["job"]["kernel"])
    keep = False
    runs = Path(tempfile.mkdtemp(prefix="nb2prod-runs-"))
    try:
        runner.empty()
        for relative, data in [(payload["notebook_path"], payload["notebook"]), *payload["files"].items()]:
            target = runner.work / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        job = Job.from_json(
            {
                **payload["job"],
                "notebook": os.fspath(runner.work / payload["notebook_path"]),
                "runs_dir": os.fspath(runs),
                "cwd": os.fspath(runner.work),
            }
        )
        result, keep = _run_job(runner.process, job, stop, more=payload.get("more", True))
        return result
    finally:
        shutil.rmtree(runs, ignore_errors=True)
        _give_back(key, runner, keep)


def _run_job(worker: WorkerProcess, job: Job, stop: Any, *, more: bool) -> tuple[dict[str, Any], bool]:
    """Hand ``job`` to the run process and wait for its record (interrupting it once ``stop`` is set).

    Returns what the task sends back and whether the run process can take the sweep's next task.
    """
    with selectors.DefaultSelector() as selector:
        selector.register(worker.stdout, selectors.EVENT_READ)
        worker.send(job, more=more)
        interrupted = False
        while True:
            if not selector.select(timeout=0.5):
                if not interrupted and stop.is_set():
                    worker.interrupt()
                    interrupted = True
                continue
            events = worker.events()
            if events is None:  # stopped before its run began (nothing to send back), or it died
                return ({"skipped": True} if interrupted else {"error": "the run's worker process ended without a record"}), False
            for event in events:
                if event["event"] == "finished":
                    directory = Path(event["directory"])
                    output = directory / OUTPUT_FILE
                    result = {
                        "run_json": (directory / RECORD_FILE).read_text(encoding="utf-8"),
                        "output": output.read_bytes() if output.exists() else None,
                    }
                    return result, not interrupted
                if event["event"] == "error":
                    return {"error": event["message"]}, not interrupted


class _Runner:
    """A run process (``nb2prod.sweep.worker``) a Dask worker keeps for the tasks of one sweep, one per worker thread.

    Its runs all happen in one folder, emptied and refilled by each task, so the kernel it starts
    ahead (in that folder) is the one the next task's run takes: still a fresh kernel per run, but
    booted while the previous run executed, and the process's imports paid once per sweep, not per task.
    """

    def __init__(self, kernel: str) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="nb2prod-task-"))
        self.work = self.folder / "work"
        self.work.mkdir()
        self.process = WorkerProcess(kernel, os.fspath(self.work), workdir=os.fspath(self.work))

    def empty(self) -> None:
        """Remove what the previous task left in the folder (the folder stays: the kernel started ahead runs in it)."""
        for entry in self.work.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def close(self) -> None:
        """End the run process (its kernel started ahead shut down; killed past the grace time) and remove the folder."""
        self.process.close()
        if self.process.wait(10) is None:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        shutil.rmtree(self.folder, ignore_errors=True)


#: This Dask worker process's idle runners, by (sweep execution, thread); a runner in use is not here.
_RUNNERS: dict[tuple[str, int], _Runner] = {}
#: Sweep executions whose runners were closed (``close_runners``): a task of theirs still running closes its runner at its end.
_CLOSED: set[str] = set()
_RUNNERS_LOCK = threading.Lock()


def _take_runner(key: tuple[str, int], kernel: str) -> _Runner:
    """The runner this thread kept for the sweep, or a new one (the kept one has ended: a new one too)."""
    with _RUNNERS_LOCK:
        runner = _RUNNERS.pop(key, None)
    if runner is not None and runner.process.process.poll() is None:
        return runner
    if runner is not None:
        runner.close()
    return _Runner(kernel)


def _give_back(key: tuple[str, int], runner: _Runner, keep: bool) -> None:
    """Keep the runner for the sweep's next task on this thread, or end it (interrupted, died, or its sweep has ended)."""
    with _RUNNERS_LOCK:
        if keep and key[0] not in _CLOSED:
            _RUNNERS[key] = runner
            return
    runner.close()


def close_runners(runners: str) -> int:
    """End this Dask worker's runners of a sweep's execution (run on every worker when it ends); how many were idle."""
    with _RUNNERS_LOCK:
        _CLOSED.add(runners)
        idle = [_RUNNERS.pop(key) for key in list(_RUNNERS) if key[0] == runners]
    for runner in idle:
        runner.close()
    return len(idle)


def store(job: Job, result: dict[str, Any]) -> RunRecord:
    """Write a run that came back from a worker into the local runs folder: ``RUNS_DIR/<stem>/<run id>/``.

    The record names the local notebook and the local git state, the one the sweep captured when it
    started (the worker ran the same bytes: ``notebook_sha256`` says so); its environment is the worker's.
    """
    from ..run.environment import git_state
    from ..run.plan import QUERY_GIT, _record_path

    record = RunRecord.from_json(json.loads(result["run_json"]))
    parent = Path(job.runs_dir) / Path(job.notebook).stem
    parent.mkdir(parents=True, exist_ok=True)
    folder = parent / record.id
    while True:
        try:
            folder.mkdir()
            break
        except FileExistsError:  # the same id made elsewhere: keep both runs
            folder = parent / f"{record.id.rsplit('-', 1)[0]}-{secrets.token_hex(3)}"
    record.id = folder.name
    record.notebook = _record_path(Path(job.notebook))
    record.git = git_state(Path(job.notebook).resolve().parent) if job.git == QUERY_GIT else job.git
    record.directory = folder
    if result.get("output") is not None:
        atomic_write(folder / OUTPUT_FILE, result["output"])
    write_record(record)
    return record
