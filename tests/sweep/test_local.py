"""The local pool's dispatch: a kernel is started ahead only for a job the worker will get (none boots for nothing)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from nb2prod.sweep.local import _wants_ahead


class FakeSelector:
    """What ``_wants_ahead`` reads of the pool's selector: the live workers."""

    def __init__(self, workers: list[SimpleNamespace]) -> None:
        self.workers = workers

    def get_map(self) -> dict[int, SimpleNamespace]:
        return {number: SimpleNamespace(data=worker) for number, worker in enumerate(self.workers)}


@pytest.mark.parametrize(("jobs", "count"), [(8, 2), (3, 2), (7, 3), (2, 2), (5, 1)])
def test_every_kernel_started_ahead_is_used_when_runs_take_as_long_as_each_other(jobs: int, count: int) -> None:
    """Workers free up in turn (runs of equal length); count kernels started ahead and those a next job took."""
    workers = [SimpleNamespace(ahead=False, job=None) for _ in range(count)]
    selector = FakeSelector(workers)
    pending = list(range(jobs))
    started_ahead = used = cold = 0
    turn = 0
    while pending:
        worker = workers[turn % count]
        turn += 1
        index = pending.pop(0)
        if worker.ahead:
            used += 1  # this job runs in the kernel the worker started ahead
        else:
            cold += 1
        worker.ahead = _wants_ahead(worker, selector, len(pending))  # type: ignore[arg-type]
        worker.job = index
        started_ahead += worker.ahead
    assert started_ahead == used  # none wasted (before: one per worker but the last, booted for nothing)
    assert cold == min(count, jobs)  # only each worker's first job waits for a kernel to boot
