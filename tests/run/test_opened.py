"""The files a notebook opens by literal paths, seen by the audit hook in its kernel, in the run record (``nb2prod.run.opened``).

The slow tests run a real ipykernel kernel through ``run_notebook``: a CSV read and a pickle written
by literal paths are recorded as ``inputs`` and ``artifacts``, files in hidden folders, virtual
environments and the runs folder are not, and ``verify`` reports the CSV changed since the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from run_helpers import RUN_DATA

from nb2prod.records import read_record
from nb2prod.run import WarmKernels, run_notebook
from nb2prod.run import opened as opened_module
from nb2prod.run.opened import HOOK, is_ipykernel, opened_files, read_opened, with_open_hook
from nb2prod.verify import verify

NOTEBOOK = "opens_files_by_literal_paths.ipynb"
TOKEN_NAME = "gh" + "p_" + "A1" * 18 + ".txt"  # the shape of a GitHub token, as the notebook builds it


def _sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with the fixture notebook, its CSV and the files it opens that are not data."""
    folder = tmp_path / "work"
    folder.mkdir()
    shutil.copy(RUN_DATA / NOTEBOOK, folder / NOTEBOOK)
    files = {
        "data/train.csv": "x,y\n1,2\n3,4\n",
        ".hidden/notes.txt": "hidden",
        ".venv/pyvenv.cfg": "home = /usr/bin\n",
        ".venv/lib/site.txt": "dotted venv",
        "venv/pyvenv.cfg": "home = /usr/bin\n",
        "venv/lib/site.txt": "venv",
        "runs/other.txt": "runs folder",
        "__pycache__/x.txt": "cache",
        f"keys/{TOKEN_NAME}": "key",
        "helper.py": "VALUE = 1\n",
    }
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    monkeypatch.chdir(folder)
    return folder


@pytest.mark.slow
def test_a_run_records_the_files_its_notebook_opened_by_literal_paths(work: Path) -> None:
    record = run_notebook(NOTEBOOK, runs_dir="runs", environ={})
    assert record.status == "ok", record.error
    # The module imported, the hidden file, both virtual environments, the runs folder and __pycache__ are left out;
    # a path shaped like a token is masked.
    assert record.inputs == {"data/train.csv": _sha(work / "data/train.csv"), "keys/***.txt": _sha(work / "keys" / TOKEN_NAME)}
    assert record.artifacts == {"model.pkl": _sha(work / "model.pkl")}
    stored = read_record(record.directory)
    assert (stored.inputs, stored.artifacts) == (record.inputs, record.artifacts)
    assert TOKEN_NAME not in (record.directory / "run.json").read_text()
    output = json.loads((record.directory / "output.ipynb").read_text())
    counts = [cell["execution_count"] for cell in output["cells"] if cell["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1))  # the hook's code took no execution count


@pytest.mark.slow
def test_verify_reports_a_data_file_read_by_a_literal_path_that_changed_since_the_run(work: Path) -> None:
    record = run_notebook(NOTEBOOK, runs_dir="runs", environ={})
    before = record.inputs["data/train.csv"]
    (work / "data/train.csv").write_text("x,y\n1,2\n3,5\n")
    result = verify(record.id, runs_dir="runs", environ={})
    after = _sha(work / "data/train.csv")
    assert result.rerun.inputs["data/train.csv"] == after
    expected = f"the input data/train.csv differs from the record ({before[7:19]} then, {after[7:19]} now)"
    assert expected in result.warnings
    assert not any("model.pkl" in warning for warning in result.warnings)  # an artifact, rewritten by every run


def test_only_ipykernel_commands_get_the_hook() -> None:
    other = ["R", "--slave", "-e", "IRkernel::main()", "--args", "/tmp/kernel-1.json"]
    logs: list[str] = []
    assert with_open_hook(other, logs) == other and logs == [] and not is_ipykernel(other)
    command = [sys.executable, "-m", "ipykernel_launcher", "-f", "/tmp/kernel-1.json"]
    hooked = with_open_hook(command, logs)
    try:
        assert hooked[:-1] == command and hooked[-1].startswith("--IPKernelApp.code_to_run=")
        assert len(logs) == 1 and Path(logs[0]).is_file() and logs[0] in hooked[-1]
    finally:
        assert read_opened(logs) == {}
    assert not Path(logs[0]).exists()  # read logs are removed


def test_the_hook_logs_paths_and_modes_and_never_raises(tmp_path: Path) -> None:
    log = tmp_path / "opened.log"
    log.write_text("")
    script = f"""
import os, pathlib, runpy, sys
runpy.run_path({os.fspath(HOOK)!r}, {{'NB2PROD_OPENED_LOG': {os.fspath(log)!r}}})
os.chdir({os.fspath(tmp_path)!r})
open('read.txt').read(); open('read.txt').read()
open(pathlib.Path('written.txt'), 'w').write('x'); open('appended.txt', 'a').close()
os.close(os.open(b'flags.txt', os.O_WRONLY | os.O_CREAT))
os.fdopen(os.open('read.txt', os.O_RDONLY)).close()
try:
    open('missing.txt')
except FileNotFoundError:
    pass
import json  # an import: the interpreter's own files are not logged
print('ok')
"""
    (tmp_path / "read.txt").write_text("r")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.stdout == "ok\n", done.stderr
    folder = os.path.realpath(tmp_path)
    lines = log.read_text().splitlines()
    assert lines == [
        f"r {folder}/read.txt",
        f"w {folder}/written.txt",
        f"w {folder}/appended.txt",
        f"w {folder}/flags.txt",
        f"r {folder}/missing.txt",
    ]


def test_opened_files_keeps_data_files_under_the_working_folder_and_the_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    for name in [".git/HEAD", "data/big.bin", "data/read.csv", "notebooks/nb.ipynb", "notebooks/out.pkl", "env/pyvenv.cfg", "env/x.py"]:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("twelve bytes" if name == "data/big.bin" else "small")
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("o")
    monkeypatch.setattr(opened_module, "MAX_HASHED_BYTES", 11)
    opened = {
        os.fspath(repo / "data/read.csv"): False,
        os.fspath(repo / "data/big.bin"): False,
        os.fspath(repo / "notebooks/out.pkl"): True,
        os.fspath(repo / "notebooks/nb.ipynb"): False,  # the notebook itself
        os.fspath(repo / "env/x.py"): False,  # a virtual environment without a dot
        os.fspath(repo / "notebooks/gone.tmp"): True,  # deleted by the run
        os.fspath(repo / "notebooks"): False,  # a folder
        os.fspath(outside): False,  # outside the working folder and the repository
    }
    inputs, artifacts = opened_files(opened, cwd=repo / "notebooks", notebook=repo / "notebooks/nb.ipynb", runs_dir=repo / "runs")
    assert list(inputs) == ["../data/big.bin", "../data/read.csv"]
    assert inputs["../data/read.csv"] == _sha(repo / "data/read.csv")
    assert inputs["../data/big.bin"].startswith("not hashed: 12 bytes, modified ")
    assert artifacts == {"out.pkl": _sha(repo / "notebooks/out.pkl")}


@pytest.mark.slow
def test_a_kernel_started_ahead_records_the_files_too_and_an_unused_one_leaves_no_log(work: Path) -> None:
    with WarmKernels("python3", work) as kernels:
        record = run_notebook(NOTEBOOK, runs_dir="runs", environ={}, kernels=kernels, cwd=work)
        assert kernels.taken == 1
        waiting = kernels._next
        assert waiting is not None and len(waiting.opened_logs) == 1  # the next run's kernel, started ahead
        log = Path(waiting.opened_logs[0])
        assert log.is_file()
    assert record.status == "ok", record.error
    assert record.inputs["data/train.csv"] == _sha(work / "data/train.csv")
    assert record.artifacts == {"model.pkl": _sha(work / "model.pkl")}
    assert not log.exists()  # shut down unused: its log is removed
