"""How a reader shows a record that still says ``running`` (reliability.md scenario 53): alive, gone or unknown."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nb2prod.records import STATUSES, RunRecord, current_runner, read_record, write_record
from nb2prod.runs import list_runs


def stored(tmp_path: Path, runner: dict[str, Any] | None, status: str = "running") -> Path:
    """A run folder under ``tmp_path/runs`` whose run.json has ``status`` and ``runner``."""
    folder = tmp_path / "runs" / "nb" / "20261206T120000Z-abcdef"
    folder.mkdir(parents=True)
    record = RunRecord(
        id=folder.name, notebook="nb.ipynb", notebook_sha256="0" * 64, parameters={}, status=status, started="2026-12-06T12:00:00.000Z"
    )
    record.runner, record.directory = runner, folder
    write_record(record)
    return folder


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_running_record_of_a_live_process_shows_running(tmp_path: Path) -> None:
    record = read_record(stored(tmp_path, current_runner()))
    assert record.status == "running" and record.error is None


def test_a_running_record_whose_process_is_gone_shows_interrupted(tmp_path: Path) -> None:
    pid = dead_pid()
    record = read_record(stored(tmp_path, {"pid": pid, "host": socket.gethostname(), "process": None}))
    assert record.status == "interrupted"
    assert record.error is not None and record.error["ename"] == "RunnerLost" and f"pid {pid}" in record.error["evalue"]
    assert [run.status for run in list_runs(tmp_path / "runs", status="interrupted")] == ["interrupted"]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process identity comes from /proc")
def test_a_reused_pid_is_not_the_runner(tmp_path: Path) -> None:
    runner = {**current_runner(), "process": "another-boot/12345"}
    assert read_record(stored(tmp_path, runner)).status == "interrupted"


@pytest.mark.parametrize(
    "runner",
    [None, {"pid": 1, "host": "another-machine.example", "process": None}, {"host": socket.gethostname()}, {"pid": "x"}],
)
def test_a_running_record_nobody_here_can_check_shows_unknown(tmp_path: Path, runner: dict[str, Any] | None) -> None:
    record = read_record(stored(tmp_path, runner))
    assert record.status == "unknown" and record.error is not None and "cannot be told" in record.error["evalue"]
    assert "unknown" in STATUSES


def test_a_finished_record_stores_no_runner(tmp_path: Path) -> None:
    folder = stored(tmp_path, None, status="ok")
    data = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert "runner" not in data and data["status"] == "ok"
    assert read_record(folder).status == "ok"


def test_a_run_that_breaks_before_papermill_starts_ends_its_record_as_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record is written before the kernel starts; a bug after that must not leave it saying ``running``."""
    from run_helpers import copy_fixtures

    from nb2prod.run import execute, run_notebook

    copy_fixtures(tmp_path, monkeypatch)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(execute, "parameterise", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        run_notebook("sysexit0.ipynb", runs_dir="runs")
    (path,) = Path("runs").glob("sysexit0/*/run.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["status"] == "failed" and data["error"]["ename"] == "RuntimeError" and "runner" not in data
