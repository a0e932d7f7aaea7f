"""The life of a run with a real kernel: what is on disk when ``nb2prod run`` is killed, and what stderr says.

reliability.md scenario 53: after ``kill -9`` of ``nb2prod run`` the record exists and shows as
interrupted, and no process started by the notebook outlives the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from run_helpers import copy_fixtures

from nb2prod.records import RECORD_FILE

pytestmark = pytest.mark.slow


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pids: list[int], seconds: float) -> list[int]:
    """The pids still alive after waiting up to ``seconds`` for all to end."""
    deadline = time.monotonic() + seconds
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def nb2prod(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nb2prod", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
def test_scenario_53_kill_9_leaves_a_record_and_no_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = copy_fixtures(tmp_path, monkeypatch)
    process = subprocess.Popen(
        [sys.executable, "-m", "nb2prod", "run", "starts_child_process.ipynb", "--runs-dir", "runs"],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pids: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not pids:
            time.sleep(0.1)
            text = (work / "pids.txt").read_text() if (work / "pids.txt").exists() else ""
            if text.endswith("\n"):
                pids = [int(word) for word in text.split()]
        assert pids, "the notebook never started its child process"
        assert all(alive(pid) for pid in pids)
        records = list(work.glob(f"runs/starts_child_process/*/{RECORD_FILE}"))
        assert len(records) == 1, "run.json is written before the kernel starts"
        listed = json.loads(nb2prod("runs", "list", "--format", "json", cwd=work).stdout)
        assert [run["status"] for run in listed] == ["running"]  # the run goes on: its process is alive

        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        assert wait_gone(pids, 10) == [], "a process started by the run outlived nb2prod"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in pids:  # the test's own clean-up when the guard failed
            if alive(pid):
                os.kill(pid, signal.SIGKILL)

    stored = json.loads(records[0].read_text(encoding="utf-8"))
    assert stored["status"] == "running" and stored["runner"]["pid"] == process.pid
    result = nb2prod("runs", "list", "--format", "json", cwd=work)
    assert result.returncode == 0, result.stderr
    (shown,) = json.loads(result.stdout)
    assert shown["status"] == "interrupted"
    assert shown["error"]["ename"] == "RunnerLost" and f"pid {process.pid}" in shown["error"]["evalue"]
    assert "interrupted" in nb2prod("runs", "list", "--status", "interrupted", cwd=work).stdout


def test_run_stderr_has_no_tcp_encryption_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ipykernel's "running over TCP without encryption" start-up warning is not shown."""
    work = copy_fixtures(tmp_path, monkeypatch)
    result = nb2prod("run", "records_metrics.ipynb", "--runs-dir", "runs", cwd=work)
    assert result.returncode == 0, result.stderr
    assert "without encryption" not in result.stderr and "WARNING" not in result.stderr, result.stderr
    assert result.stderr == ""


def test_scenario_60_a_file_the_run_writes_is_an_artifact_and_verify_does_not_warn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nb2prod.run import run_notebook
    from nb2prod.verify import verify

    work = copy_fixtures(tmp_path, monkeypatch)
    (work / "data.csv").write_text("x\n1\n2\n", encoding="utf-8")
    data = "sha256:" + hashlib.sha256(b"x\n1\n2\n").hexdigest()
    model = "sha256:" + hashlib.sha256(b"a model of 3 rows\n").hexdigest()

    first = run_notebook("saves_model.ipynb", runs_dir="runs")
    assert first.status == "ok"
    assert first.inputs == {"data.csv": data} and first.artifacts == {"model.bin": model}
    stored = json.loads((first.directory / RECORD_FILE).read_text(encoding="utf-8"))
    assert stored["inputs"] == {"data.csv": data} and stored["artifacts"] == {"model.bin": model}

    result = verify(first.id, runs_dir="runs")  # model.bin exists now, and the re-run writes it again
    assert result.reproduced
    assert result.rerun.inputs == {"data.csv": data} and result.rerun.artifacts == {"model.bin": model}
    assert not [warning for warning in result.warnings if "input" in warning], result.warnings
