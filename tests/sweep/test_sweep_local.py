"""The local executor with real kernels: no mixing of working folders, a failing run among good ones, resume after SIGINT.

Reliability scenarios 31 (Ctrl-C during a sweep keeps the completed runs), 38 (relative paths in
parallel: a process per worker, never a shared chdir) and 39 (a sweep re-run after a partial
failure runs only what is missing).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

import nb2prod
from nb2prod.cli import main
from nb2prod.runs import sweep_runs
from nb2prod.sweep import read_sweep
from nb2prod.sweep.record import list_sweeps

DATA = Path(__file__).resolve().parents[1] / "data" / "sweep"
pytestmark = pytest.mark.slow


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for notebook in DATA.glob("*.ipynb"):
        shutil.copy(notebook, tmp_path / notebook.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_scenario_38_parallel_sweeps_with_different_cwd_read_their_own_inputs(work: Path) -> None:
    """Two sweeps at once in threads of one process, each with its own --cwd: every run reads its own data.txt."""
    for name in ("a", "b"):
        (work / name).mkdir()
        (work / name / "data.txt").write_text(f"from {name}\n", encoding="utf-8")
    results: dict[str, nb2prod.SweepResult] = {}

    def run(name: str) -> None:
        results[name] = nb2prod.sweep("reads_relative_input.ipynb", grid={"x": [1, 2]}, cwd=name, workers=2, runs_dir="runs")

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    for name in ("a", "b"):
        result = results[name]
        assert result.record.status == "ok"
        assert [run.metrics["content"] for run in result.runs] == [f"from {name}"] * 2
        assert {Path(run.metrics["cwd"]).resolve() for run in result.runs} == {(work / name).resolve()}
        assert sorted(run.id for run in sweep_runs(result.record.id, "runs")) == sorted(run.id for run in result.runs)


def test_a_failing_run_does_not_stop_the_others_and_the_sweep_exits_1(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sweep", "fails_on_two.ipynb", "-g", "x=1,2,3", "--workers", "2", "--runs-dir", "runs", "--sort-by", "score"])
    out, err = capsys.readouterr()
    assert code == 1, err
    [sweep] = list_sweeps("runs")
    assert sweep.status == "failed" and [entry.status for entry in sweep.sets] == ["ok", "failed", "ok"]
    lines = out.splitlines()
    assert lines[0] == f"sweep {sweep.id}: failed, 2 of 3 sets ok, 1 not ok"
    assert [line.split()[:3] for line in lines[2:5]] == [["3", "3", "ok"], ["1", "1", "ok"], ["2", "2", "failed"]]
    assert lines[-1].startswith("best by score (highest): run ") and lines[-1].endswith("score=30")
    assert "set 2 (x=2): failed" in err
    listed = subprocess.run(
        [sys.executable, "-m", "nb2prod", "runs", "list", "--sweep", sweep.id, "--runs-dir", "runs", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert sorted(run["id"] for run in json.loads(listed.stdout)) == sorted(sweep.run_ids)


def test_scenario_31_39_sigint_mid_sweep_then_resume_runs_only_what_is_missing(work: Path) -> None:
    (work / "sets.json").write_text(json.dumps([{"x": 1, "seconds": 0}, {"x": 2, "seconds": 120}, {"x": 3, "seconds": 0}]))
    process = subprocess.Popen(
        [sys.executable, "-m", "nb2prod", "sweep", "sleeps.ipynb", "--params-file", "sets.json", "--workers", "1", "--runs-dir", "runs"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    descendants: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(0.2)
            sweeps = list(work.glob("runs/.sweeps/*/sweep.json"))
            running = [
                path for path in work.glob("runs/sleeps/*/output.ipynb") if '"status": "running"' in path.read_text(encoding="utf-8")
            ]
            if sweeps and json.loads(sweeps[0].read_text())["sets"][0]["status"] == "ok" and running:
                break  # set 1 is done and set 2 sleeps in its cell
        else:
            pytest.fail("the sweep never reached its second run")
        descendants = psutil.Process(process.pid).children(recursive=True)
        assert any("ipykernel" in " ".join(child.cmdline()) for child in descendants)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    sweep = read_sweep(next(work.glob("runs/.sweeps/*")))
    assert sweep.status == "interrupted"
    assert [entry.status for entry in sweep.sets] == ["ok", "interrupted", "pending"]
    assert f"resume with `nb2prod sweep --resume {sweep.id}`" in err
    psutil.wait_procs(descendants, timeout=10)
    assert not [child for child in descendants if child.is_running() and child.status() != psutil.STATUS_ZOMBIE]
    first = sweep.sets[0].runs

    code = main(["sweep", "--resume", sweep.id[:20], "-p", "seconds=0", "--runs-dir", "runs"])
    assert code == 0
    resumed = read_sweep(sweep.directory)
    assert resumed.status == "ok" and [entry.status for entry in resumed.sets] == ["ok", "ok", "ok"]
    assert resumed.sets[0].runs == first  # set 1 was not run again
    assert len(resumed.sets[1].runs) == 2 and len(resumed.sets[2].runs) == 1
    assert len(sweep_runs(sweep.id, "runs")) == 4
