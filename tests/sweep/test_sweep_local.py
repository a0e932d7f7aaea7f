"""The local executor with real kernels: no mixing of working folders, a failing run among good ones, resume after SIGINT.

Reliability scenarios 31 (Ctrl-C during a sweep keeps the completed runs), 38 (relative paths in
parallel: a process per worker, never a shared chdir) and 39 (a sweep re-run after a partial
failure runs only what is missing).
"""

from __future__ import annotations

import json
import os
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


def test_git_is_asked_once_per_sweep_and_every_run_records_that_state_and_one_environment(
    work: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The sweep captures the git state when it starts (one `git status`, not one per run); each run.json records it."""
    real_git = shutil.which("git")
    assert real_git is not None
    bin_dir = tmp_path_factory.mktemp("bin")
    log = bin_dir / "calls.log"
    (bin_dir / "git").write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real_git} "$@"\n', encoding="utf-8")
    (bin_dir / "git").chmod(0o755)
    environment = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "GIT_CONFIG_GLOBAL": os.devnull}
    for command in (["init", "-q"], ["add", "sleeps.ipynb"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "nb"]):
        subprocess.run([real_git, *command], cwd=work, check=True, env=environment)
    head = subprocess.run([real_git, "rev-parse", "HEAD"], cwd=work, check=True, capture_output=True, text=True).stdout.strip()
    (work / ".gitignore").write_text("runs/\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "nb2prod", "sweep", "sleeps.ipynb", "-g", "x=1,2,3", "--workers", "2", "--runs-dir", "runs"],
        cwd=work,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    statuses = [line for line in log.read_text(encoding="utf-8").splitlines() if line.startswith("status")]
    assert len(statuses) == 1, statuses  # before: one for the sweep's check and one per run
    records = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(work.glob("runs/sleeps/*/run.json"))]
    assert len(records) == 3
    assert [record["git"] for record in records] == [{"commit": head, "dirty": False}] * 3
    assert records[0]["environment"]["packages"] and all(record["environment"] == records[0]["environment"] for record in records)


def test_workers_started_during_the_checks_end_when_the_checks_refuse_the_sweep(work: Path) -> None:
    """The pool's workers start while the sweep checks its sets; a refused sweep (no such kernel) leaves none running."""
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    with pytest.raises(nb2prod.RunError, match="no kernel named 'no-such-kernel'"):
        nb2prod.sweep("sleeps.ipynb", grid={"x": [1, 2, 3]}, workers=2, runs_dir="runs", kernel="no-such-kernel")
    left = [child for child in psutil.Process().children(recursive=True) if child.pid not in before]
    assert not [child for child in left if child.is_running() and child.status() != psutil.STATUS_ZOMBIE]
    assert not (work / "runs").exists()
