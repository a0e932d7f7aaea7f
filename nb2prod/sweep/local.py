"""The ``local`` executor: up to ``workers`` runs at once on this machine, each worker a process of its own.

Workers are ``nb2prod.sweep.worker`` processes (no shared ``chdir``: each process runs one run at a
time in its working folder), handed one job at a time as they become free, so a long run never
holds back the queue. Each worker starts the next run's kernel while its current run executes,
when a next job will come to it (``_wants_ahead``: no kernel boots for a job another worker takes).
The workers are started (``prepare``) while the sweep checks its sets, so their imports overlap the
check; they start no kernel before their first job. Default ``workers``: the number of cores.
"""

from __future__ import annotations

import selectors
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import RecordError
from ..records import read_record
from .executor import Executor, Job, OnFinish, OnStart, default_workers, lost_record
from .worker import WorkerProcess

#: How long stopped workers get to write their interrupted records before they are killed.
STOP_GRACE_S = 30.0


class LocalExecutor(Executor):
    """Runs jobs in a pool of local worker processes."""

    name = "local"

    def describe(self) -> dict[str, Any]:
        """``{"name": "local", "workers": N}``."""
        return {"name": self.name, "workers": self.workers or default_workers()}

    def __init__(self, *, workers: int | None = None, scheduler: str | None = None) -> None:
        super().__init__(workers=workers, scheduler=scheduler)
        self._started: list[WorkerProcess] = []

    def prepare(self, count: int) -> None:
        """Start the worker processes for ``count`` jobs now: they import what runs need while the sweep checks its sets.

        A worker started this way starts no kernel until its first job names the kernel.
        """
        if count > 0 and not self._started:
            self._started = [WorkerProcess(None, None) for _ in range(min(self.workers or default_workers(), count))]

    def close(self) -> None:
        """End the workers ``prepare`` started that ``run`` did not take: they have started no kernel, so they are killed at once."""
        workers, self._started = self._started, []
        for worker in workers:
            worker.kill()
        for worker in workers:
            worker.wait()

    def run(self, jobs: Sequence[Job], on_start: OnStart, on_finish: OnFinish) -> None:
        """Run ``jobs`` on the pool; see ``Executor.run``."""
        if not jobs:
            return
        pending = deque(jobs)
        count = min(self.workers or default_workers(), len(jobs))
        workers, self._started = self._started[:count], self._started[count:]
        self.close()  # more workers than jobs were started
        workers += [WorkerProcess(None, None) for _ in range(count - len(workers))]
        selector = selectors.DefaultSelector()
        for worker in workers:
            selector.register(worker.stdout, selectors.EVENT_READ, worker)
        try:
            _serve(selector, pending, on_start, on_finish)
        except KeyboardInterrupt:
            pending.clear()
            for worker in workers:
                worker.close()
                worker.interrupt()
            _drain(selector, on_start, on_finish)
            raise
        finally:
            _stop(workers)
            selector.close()


def _stop(workers: Sequence[WorkerProcess]) -> None:
    """Close each worker's job stream and wait for it to end (killed past the grace time)."""
    for worker in workers:
        worker.close()
    for worker in workers:
        if worker.wait(STOP_GRACE_S) is None:
            worker.kill()
            worker.wait()


def _serve(selector: selectors.BaseSelector, pending: deque[Job], on_start: OnStart, on_finish: OnFinish) -> None:
    """Hand out jobs as workers ask for them, and report what they say, until every worker has ended."""
    while selector.get_map():
        for key, _ in selector.select(timeout=1.0):
            worker: WorkerProcess = key.data
            events = worker.events()
            if events is None:
                _ended(selector, worker, on_finish)
                continue
            for event in events:
                if event["event"] != "ready":
                    _report(worker, event, on_start, on_finish)
                elif pending:
                    job = pending.popleft()
                    worker.send(job, more=_wants_ahead(worker, selector, len(pending)))
                else:
                    worker.close()
    while pending:  # every worker died: what they did not get to is failed, not silently dropped
        job = pending.popleft()
        on_finish(job.index, lost_record(job, "WorkerDied", "every worker process of the sweep had ended before this run started"))


def _wants_ahead(worker: WorkerProcess, selector: selectors.BaseSelector, pending: int) -> bool:
    """Whether ``worker`` should start a kernel ahead for a next job: only if the other workers leave one for it.

    Each other worker takes one of the ``pending`` jobs first: an idle one at once, a busy one with
    the kernel it keeps ahead. A kernel started ahead for a job another worker takes would boot for
    nothing (a core's time on a small machine); when runs take about as long as each other, every
    kernel started ahead is used.
    """
    others = sum(1 for key in selector.get_map().values() if key.data is not worker and (key.data.ahead or key.data.job is None))
    return pending > others


def _drain(selector: selectors.BaseSelector, on_start: OnStart, on_finish: OnFinish) -> None:
    """After an interrupt: report what the stopping workers still say until they have ended (kill them past the grace time)."""
    deadline = time.monotonic() + STOP_GRACE_S
    while selector.get_map():
        if time.monotonic() > deadline:
            for key in list(selector.get_map().values()):
                key.data.kill()
        try:
            ready = selector.select(timeout=1.0)
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting for records, end the workers now
            for key in list(selector.get_map().values()):
                key.data.kill()
            continue
        for key, _ in ready:
            worker: WorkerProcess = key.data
            events = worker.events()
            if events is None:
                selector.unregister(worker.stdout)
                worker.wait()
                continue
            for event in events:
                if event["event"] != "ready":
                    _report(worker, event, on_start, on_finish)


def _report(worker: WorkerProcess, event: dict[str, Any], on_start: OnStart, on_finish: OnFinish) -> None:
    job = worker.job
    assert job is not None and event.get("index") == job.index, f"worker said {event} while running {job}"
    if event["event"] == "started":
        on_start(job.index)
        return
    worker.job = None
    if event["event"] == "finished":
        try:
            on_finish(job.index, read_record(Path(event["directory"])))
            return
        except RecordError as error:
            message = f"the run's record cannot be read: {error}"
    else:
        message = event.get("message", "the run did not start")
    on_finish(job.index, lost_record(job, "RunError", message))


def _ended(selector: selectors.BaseSelector, worker: WorkerProcess, on_finish: OnFinish) -> None:
    """A worker ended: if it was running a job, the job gets a failed record (it died, it was not interrupted)."""
    selector.unregister(worker.stdout)
    status = worker.wait()
    job, worker.job = worker.job, None
    if job is not None:
        on_finish(job.index, lost_record(job, "WorkerDied", f"the sweep's worker process ended with status {status} during the run"))
