"""Never destroy a user's work: the rewriting commands against the files users really have (issue #9).

reliability.md scenarios 47 (run outputs in the folder given), 49 (symlinked notebook), 50
(read-only notebook; owner, group and mode), 51 (FIFO named ``*.ipynb``) and 52 (symlink loop),
through ``strip``, ``fmt``, ``lint --fix``, ``lint``, ``export`` and ``run`` as a user types them.
Commands that could hang on a FIFO run in a subprocess with a timeout, so a regression fails
instead of stalling the suite.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nb2prod.cli import main
from nb2prod.export import read_notebooks
from nb2prod.lint.engine import lint

DATA = Path(__file__).resolve().parent / "data"
UNTIDY = DATA / "files" / "executed_untidy.ipynb"  # strip, fmt and lint --fix all change it
RUN_ID = "20261206T101500Z-3fa2c1"
REWRITERS = (["strip"], ["fmt"], ["lint", "--fix", "--no-ruff"])
fifos = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def untidy(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(UNTIDY, path)
    return path


def make_run(folder: Path, *, record: bool = True) -> Path:
    """A run folder as ``nb2prod run`` leaves it, built without a kernel: executed output.ipynb with papermill metadata, run.json."""
    folder.mkdir(parents=True)
    data: dict[str, Any] = json.loads(UNTIDY.read_text(encoding="utf-8"))
    data["metadata"]["papermill"] = {"input_path": "p.ipynb", "output_path": f"{folder.as_posix()}/output.ipynb", "parameters": {}}
    output = folder / "output.ipynb"
    output.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if record:
        run = {"schema": "nb2prod.run/1", "id": folder.name, "notebook": "p.ipynb", "status": "ok", "started": "2026-12-06T10:15:00Z"}
        (folder / "run.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    return output


def nb2prod(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real command line in a child process: a hang becomes a test failure after ``timeout`` seconds."""
    try:
        return subprocess.run(
            [sys.executable, "-m", "nb2prod", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`nb2prod {' '.join(args)}` did not finish in {timeout} s")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current folder, holding one user notebook that every rewriting command changes."""
    untidy(tmp_path / "p.ipynb")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- 47: run outputs ----------------------------------------------------------------------------


@pytest.fixture
def runs(project: Path) -> list[Path]:
    """Run outputs in the default runs folder, in a --runs-dir folder, and of a run still going (no run.json yet)."""
    return [
        make_run(project / "runs" / "p" / RUN_ID),
        make_run(project / "experiments" / "p" / "20261206T111500Z-0a1b2c"),
        make_run(project / "nested" / "runs" / "p" / "20261206T121500Z-d4e5f6", record=False),
    ]


@pytest.mark.parametrize("command", REWRITERS, ids=lambda c: " ".join(c))
def test_scenario_47_folder_rewrite_leaves_run_outputs_alone(command: list[str], project: Path, runs: list[Path]) -> None:
    before = {path: digest(path) for path in runs}
    user = digest(project / "p.ipynb")
    assert main([*command, "."]) == 0
    assert digest(project / "p.ipynb") != user, "the user's notebook is processed"
    assert {path: digest(path) for path in runs} == before, "every run's executed notebook keeps its bytes"


def test_scenario_47_lint_and_export_do_not_see_run_outputs(project: Path, runs: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert [result.path for result in lint(["."], ruff=False)] == ["p.ipynb"]
    assert [notebook.display_path for notebook in read_notebooks(["."])] == ["p.ipynb"]
    main(["strip", "--check", "."])
    assert "output.ipynb" not in capsys.readouterr().out


@pytest.mark.parametrize("command", REWRITERS, ids=lambda c: " ".join(c))
def test_scenario_47_run_output_named_is_refused_and_the_others_processed(
    command: list[str], project: Path, runs: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "latest.ipynb").symlink_to(runs[1])  # a link to a run's output is refused too
    named = [os.path.relpath(path, project) for path in (runs[0], runs[2])]
    before = {path: digest(path) for path in runs}
    user = digest(project / "p.ipynb")
    assert main([*command, *named, "latest.ipynb", "p.ipynb"]) == 2
    err = capsys.readouterr().err
    for shown in [*named, "latest.ipynb"]:
        assert f"{shown}: error: is a run's executed notebook" in err
    assert {path: digest(path) for path in runs} == before
    assert digest(project / "p.ipynb") != user, "the other notebook is still processed"


def test_scenario_47_reading_a_run_output_is_allowed(project: Path, runs: list[Path]) -> None:
    named = os.path.relpath(runs[0], project)
    assert main(["strip", "--check", named]) == 1, "strip --check reports; it does not write"
    assert main(["lint", "--no-ruff", "--fail-on", "error", named]) == 0


# --- 49: symlinked notebook ---------------------------------------------------------------------


@pytest.mark.parametrize("command", REWRITERS, ids=lambda c: " ".join(c))
@pytest.mark.parametrize("given", ["link", "folder"])
def test_scenario_49_symlink_written_through(command: list[str], given: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = untidy(tmp_path / "shared" / "model.ipynb")
    work = tmp_path / "work"
    work.mkdir()
    (work / "model.ipynb").symlink_to(Path("..") / "shared" / "model.ipynb")
    monkeypatch.chdir(work)
    before = digest(shared)
    assert main([*command, "model.ipynb" if given == "link" else "."]) == 0
    assert (work / "model.ipynb").is_symlink(), "the link stays a link"
    assert os.readlink(work / "model.ipynb") == os.path.join("..", "shared", "model.ipynb")
    assert digest(shared) != before, "the real notebook is the one processed"
    assert sorted(os.listdir(work)) == ["model.ipynb"] and sorted(os.listdir(shared.parent)) == ["model.ipynb"]


# --- 50: read-only notebook, owner, group and mode --------------------------------------------------


@pytest.mark.parametrize("command", REWRITERS, ids=lambda c: " ".join(c))
def test_scenario_50_read_only_notebook_refused_others_processed(
    command: list[str], project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = untidy(project / "locked.ipynb")
    locked.chmod(0o444)
    before = digest(locked)
    user = digest(project / "p.ipynb")
    assert main([*command, "."]) == 2
    assert "locked.ipynb: error: the file is read-only; not rewritten (make it writable" in capsys.readouterr().err
    assert digest(locked) == before and stat.S_IMODE(locked.stat().st_mode) == 0o444
    assert digest(project / "p.ipynb") != user


def test_scenario_50_strip_check_on_a_read_only_notebook_still_reports(project: Path) -> None:
    (project / "p.ipynb").chmod(0o444)
    assert main(["strip", "--check", "p.ipynb"]) == 1


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root can hand a file to another owner")
@pytest.mark.parametrize("command", REWRITERS, ids=lambda c: " ".join(c))
def test_scenario_50_owner_group_and_mode_kept(command: list[str], project: Path) -> None:
    path = project / "p.ipynb"
    os.chown(path, 4321, 8765)
    path.chmod(0o664)
    before = digest(path)
    assert main([*command, "p.ipynb"]) == 0
    after = path.stat()
    assert digest(path) != before
    assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == (4321, 8765, 0o664)


# --- 51: FIFO named *.ipynb --------------------------------------------------------------------------


@fifos
@pytest.mark.parametrize("command", [["strip"], ["fmt"], ["lint", "--no-ruff", "--fail-on", "error"], ["lint", "--fix", "--no-ruff"]])
def test_scenario_51_fifo_in_a_folder_is_skipped(command: list[str], project: Path) -> None:
    os.mkfifo(project / "pipe.ipynb")
    result = nb2prod(*command, ".", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "pipe.ipynb" not in result.stdout + result.stderr
    assert stat.S_ISFIFO((project / "pipe.ipynb").lstat().st_mode)


@fifos
@pytest.mark.parametrize("command", [["strip"], ["fmt"], ["lint", "--no-ruff"], ["export", "-o", "out"]])
def test_scenario_51_fifo_named_is_not_a_regular_file(command: list[str], project: Path) -> None:
    os.mkfifo(project / "pipe.ipynb")
    result = nb2prod(*command, "pipe.ipynb", "p.ipynb", cwd=project)
    assert result.returncode == 2, result.stderr
    assert "pipe.ipynb: error: not a regular file: a named pipe (FIFO)" in result.stdout + result.stderr  # lint reports on stdout
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


@fifos
def test_scenario_51_run_refuses_a_fifo_before_any_kernel(project: Path) -> None:
    os.mkfifo(project / "pipe.ipynb")
    result = nb2prod("run", "pipe.ipynb", cwd=project)
    assert result.returncode == 2, result.stderr
    assert "pipe.ipynb: error: not a regular file: a named pipe (FIFO)" in result.stderr
    assert not (project / "runs").exists()


# --- 52: symlink loop -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [*REWRITERS, ["lint", "--no-ruff", "--fail-on", "error"]], ids=lambda c: " ".join(c))
def test_scenario_52_symlink_loop_reported_the_rest_processed(
    command: list[str], project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "loop.ipynb").symlink_to("loop.ipynb")
    user = digest(project / "p.ipynb")
    assert main([*command, "."]) == 2, "an input error, not an internal one (3)"
    err = "".join(capsys.readouterr())  # lint reports on stdout
    assert "loop.ipynb: error: symbolic link loop" in err and "internal error" not in err
    if command[0] != "lint" or "--fix" in command:
        assert digest(project / "p.ipynb") != user, "the folder's other notebook is processed"


def test_scenario_52_export_names_the_loop(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """export builds one package from all its inputs: it reports the loop and writes nothing."""
    (project / "loop.ipynb").symlink_to("loop.ipynb")
    assert main(["export", ".", "-o", "out"]) == 2
    assert "loop.ipynb: error: symbolic link loop" in capsys.readouterr().err
    assert not (project / "out").exists()


# --- 47, for real: a run, then strip of the whole folder ----------------------------------------------


@pytest.mark.slow
def test_scenario_47_run_then_strip_dot_keeps_the_run_log(project: Path) -> None:
    notebook = project / "p.ipynb"
    notebook.write_text(
        json.dumps(
            {
                "cells": [
                    {"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [], "source": "print(6 * 7)"}
                ],
                "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
                "nbformat": 4,
                "nbformat_minor": 5,
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    ran = nb2prod("run", "p.ipynb", cwd=project, timeout=300)
    assert ran.returncode == 0, ran.stderr
    (output,) = (project / "runs" / "p").glob("*/output.ipynb")
    executed = output.read_bytes()
    assert b"42" in executed, "the run's log holds the printed output"
    stripped = nb2prod("strip", ".", cwd=project)
    assert stripped.returncode == 0, stripped.stderr
    assert output.read_bytes() == executed, "strip . left the run's executed notebook as the run wrote it"
