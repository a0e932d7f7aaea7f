"""Kernels started ahead (``WarmKernels``) and their shut-down."""

from __future__ import annotations

import asyncio
import time

import psutil
import pytest

from nb2prod.run.kernels import REAP_POLL_S, WarmKernels, shut_down

pytestmark = pytest.mark.slow


def test_a_killed_kernel_is_reaped_without_jupyter_clients_tenth_of_a_second_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """jupyter_client polls a killed kernel every 0.1 s; every run of a sweep paid one such wait for a kernel already dead."""
    with WarmKernels("python3") as warm:
        warm.start()
        manager = warm.take("python3", None)
    assert manager is not None
    pid = manager.provisioner.process.pid
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(delay: float, *args: object) -> object:
        waits.append(delay)
        return await real_sleep(delay, *args)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    started = time.monotonic()
    shut_down(manager)
    took = time.monotonic() - started
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    # It polled every REAP_POLL_S, never waiting jupyter_client's 0.1 s (a kernel found dead at once needs no poll).
    assert all(wait < 0.05 for wait in waits) and (REAP_POLL_S in waits or 0.1 not in waits), waits
    assert took < 5.0
