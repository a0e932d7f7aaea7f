"""The dask executor against a real ``dask.distributed.LocalCluster`` (scheduler and worker processes on loopback).

The workers are started in a temporary folder of their own, not the one the sweep runs from: the
notebook and its declared inputs travel with each task, and the records come back to the local
runs folder. A worker killed mid-sweep: its run is retried (or recorded as failed), never lost.
A sweep that starts its own cluster leaves no process behind, finished or interrupted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

import nb2prod
from nb2prod.records import read_record
from nb2prod.runs import sweep_runs
from nb2prod.sweep.dask import local_cluster
from nb2prod.sweep.record import list_sweeps

distributed = pytest.importorskip("distributed")
DATA = Path(__file__).resolve().parents[1] / "data" / "sweep"
pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Two single-threaded worker processes whose working folder is a temporary folder of their own."""
    home = tmp_path / "cluster"
    home.mkdir()
    monkeypatch.chdir(home)  # worker processes start here
    with local_cluster(n_workers=2, host="127.0.0.1", local_directory=str(home)) as started:
        yield started


def notebooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sweep notebooks copied into a fresh folder, made the current one."""
    folder = tmp_path / "work"
    folder.mkdir()
    for notebook in DATA.glob("*.ipynb"):
        shutil.copy(notebook, folder / notebook.name)
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def work(tmp_path: Path, cluster: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    return notebooks(tmp_path, monkeypatch)


@pytest.fixture
def alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The notebooks, no cluster, and this process without child processes (a resource tracker an earlier test left is stopped)."""
    from multiprocessing import resource_tracker

    resource_tracker._resource_tracker._stop()
    assert children() == [], "a process an earlier test started is still running"
    yield notebooks(tmp_path, monkeypatch)


def children() -> list[str]:
    """This process's live descendants, as 'PID COMMAND LINE' (a process that has just ended gets 5 s to be gone)."""
    deadline = time.monotonic() + 5
    while True:
        found = []
        for child in psutil.Process().children(recursive=True):
            try:
                if child.status() != psutil.STATUS_ZOMBIE:
                    found.append(f"{child.pid} {' '.join(child.cmdline())}")
            except psutil.NoSuchProcess:
                pass
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_a_sweep_on_a_cluster_of_its_own_leaves_no_process_behind(alone: Path) -> None:
    result = nb2prod.sweep("sleeps.ipynb", grid={"x": [1, 2]}, executor="dask", workers=2)
    assert result.record.status == "ok" and result.record.executor["scheduler"] == "LocalCluster"
    assert [run.metrics["score"] for run in result.runs if run is not None] == [1, 2]
    assert children() == []  # no worker, nanny, kernel, run worker, nor multiprocessing's resource tracker


def test_an_interrupted_sweep_on_a_cluster_of_its_own_leaves_no_process_behind(alone: Path) -> None:
    def interrupt_once_a_notebook_runs() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any("ipykernel" in line for line in children_now()):
            time.sleep(0.3)
        time.sleep(2)  # the kernel is executing its cells
        os.kill(os.getpid(), signal.SIGINT)

    def children_now() -> list[str]:
        lines = []
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                lines.append(" ".join(child.cmdline()))
        return lines

    sets = [{"x": number, "seconds": 120} for number in range(1, 4)]
    interrupter = threading.Thread(target=interrupt_once_a_notebook_runs, daemon=True)
    interrupter.start()
    result = nb2prod.sweep("sleeps.ipynb", parameter_sets=sets, executor="dask", workers=2)
    interrupter.join(timeout=5)
    assert result.record.status == "interrupted"
    assert "interrupted" in [entry.status for entry in result.record.sets]
    assert children() == []


def test_a_sweep_on_a_local_cluster_brings_the_records_home(work: Path, cluster: Any) -> None:
    (work / "data.txt").write_text("local data\n", encoding="utf-8")
    result = nb2prod.sweep(
        "reads_relative_input.ipynb", grid={"x": [1, 2, 3]}, executor="dask", scheduler=cluster.scheduler_address, inputs=["data.txt"]
    )
    assert result.record.status == "ok" and result.record.executor["scheduler"] == cluster.scheduler_address
    for number, run in enumerate(result.runs, start=1):
        assert run is not None and run.status == "ok" and run.metrics["x"] == number
        assert run.metrics["content"] == "local data"  # the declared input travelled with the task
        assert not Path(run.metrics["cwd"]).is_relative_to(work)  # and the run happened elsewhere
        assert run.directory.parent == Path("runs/reads_relative_input")
        assert (run.directory / "output.ipynb").is_file() and read_record(run.directory).sweep == result.record.id
        assert run.notebook == "reads_relative_input.ipynb"
    assert sorted(r.id for r in sweep_runs(result.record.id, "runs")) == sorted(r.id for r in result.runs)


def test_a_worker_killed_mid_sweep_loses_no_run(work: Path, cluster: Any) -> None:
    client = distributed.Client(cluster)
    outcome: dict[str, Any] = {}

    def run() -> None:
        sets = [{"x": number, "seconds": 3.0} for number in range(1, 5)]
        outcome["result"] = nb2prod.sweep("sleeps.ipynb", parameter_sets=sets, executor="dask", scheduler=cluster.scheduler_address)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        busy: list[str] = []
        while time.monotonic() < deadline and not busy:
            time.sleep(0.5)
            busy = [address for address, tasks in client.processing().items() if tasks]
        assert busy, "no task ever started"
        time.sleep(2.5)  # the task's worker process and kernel are up: its notebook is running
        pids = client.run(os.getpid, workers=busy[:1])
        os.kill(pids[busy[0]], signal.SIGKILL)
        thread.join(timeout=240)
    finally:
        client.close()
    assert not thread.is_alive(), "the sweep did not finish"
    result = outcome["result"]
    assert result.record.status in ("ok", "failed")
    assert all(run is not None and run.status in ("ok", "failed") for run in result.runs)
    assert all(entry.runs for entry in result.record.sets)  # every set has a record: retried or failed, never lost


def test_scenario_31_sigint_on_dask_interrupts_the_running_task_and_cancels_the_rest(work: Path, cluster: Any) -> None:
    (work / "sets.json").write_text('[{"x": 1, "seconds": 120}, {"x": 2, "seconds": 120}, {"x": 3, "seconds": 120}]')
    command = ["sweep", "sleeps.ipynb", "--params-file", "sets.json", "--executor", "dask", "--scheduler", cluster.scheduler_address]
    process = subprocess.Popen([sys.executable, "-m", "nb2prod", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    client = distributed.Client(cluster)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and sum(len(tasks) for tasks in client.processing().values()) < 2:
            time.sleep(0.5)
        time.sleep(6)  # the notebooks sleep in their cells
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=90)
        assert process.returncode == 130, err
        [sweep] = list_sweeps("runs")
        assert sweep.status == "interrupted"
        statuses = [entry.status for entry in sweep.sets]
        # the running runs came back interrupted (a task stopped before its notebook began stays pending): none failed, none lost
        assert "interrupted" in statuses and set(statuses) <= {"interrupted", "pending"}, statuses
        assert sum(status == "pending" for status in statuses) >= 1  # the third set never started
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(client.processing().values()):
            time.sleep(0.5)
        assert not any(client.processing().values()), "tasks still run on the cluster"
    finally:
        client.close()
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_a_worker_keeps_one_run_process_per_sweep_a_fresh_kernel_per_run_and_nothing_after(work: Path, cluster: Any) -> None:
    result = nb2prod.sweep("records_its_processes.ipynb", grid={"x": list(range(6))}, executor="dask", scheduler=cluster.scheduler_address)
    assert result.record.status == "ok"
    runs = [run for run in result.runs if run is not None]
    assert sorted(run.metrics["x"] for run in runs) == list(range(6))
    assert len({run.metrics["kernel"] for run in runs}) == 6  # every run had a kernel of its own
    assert len({run.metrics["parent"] for run in runs}) <= 2  # started by the run process each worker kept for the sweep

    def descendants() -> list[str]:
        deadline = time.monotonic() + 10
        while (found := [" ".join(p.cmdline()) for p in psutil.Process().children(recursive=True)]) and time.monotonic() < deadline:
            time.sleep(0.2)
        return found

    with distributed.Client(cluster) as client:
        assert list(client.run(descendants).values()) == [[], []]  # the sweep ended its run processes and their kernels


def test_the_last_tasks_of_a_sweep_start_no_kernel_ahead(work: Path, cluster: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from nb2prod.sweep import dask as executor

    kept: list[str] = []
    monkeypatch.setattr(executor, "_close_runners", lambda client, runners: kept.append(runners))  # look at what the sweep kept
    result = nb2prod.sweep("records_its_processes.ipynb", grid={"x": [1, 2, 3]}, executor="dask", scheduler=cluster.scheduler_address)
    assert result.record.status == "ok"

    def kernels() -> int:
        time.sleep(1)  # a kernel started ahead would be launched by now
        return sum("ipykernel" in " ".join(p.cmdline()) for p in psutil.Process().children(recursive=True))

    with distributed.Client(cluster) as client:
        try:
            assert sum(client.run(kernels).values()) == 0  # 3 runs on 2 workers: the first started one ahead for the third
        finally:
            client.run(executor.close_runners, *kept)


def test_a_runner_that_ends_closes_its_pipe_and_removes_its_folder() -> None:
    """A Dask worker runs task after task: each runner it ends leaves no open pipe (it used to be left to the GC) and no folder."""
    from nb2prod.sweep.dask import _Runner

    runner = _Runner("python3")
    runner.close()
    assert runner.process.process.poll() is not None
    assert runner.process.stdout.closed and not runner.folder.exists()
