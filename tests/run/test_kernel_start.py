"""A kernel that dies while it starts (before any cell ran) is replaced, so the run does not fail for it."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from nb2prod.cli import main
from nb2prod.errors import RunError
from nb2prod.records import RunRecord
from nb2prod.run import WarmKernels, run_notebook
from nb2prod.runs import list_runs

pytestmark = pytest.mark.slow

#: A kernel command that exits at once the first N times (as a kernel whose port was taken does), then starts ipykernel.
FLAKY = """
import pathlib, runpy, sys
count = pathlib.Path(sys.argv[1])
done = int(count.read_text()) if count.exists() else 0
count.write_text(str(done + 1))
if done < int(sys.argv[2]):
    sys.exit("zmq.error.ZMQError: Address already in use (a stand-in)")
sys.argv = ["ipykernel_launcher", "-f", sys.argv[3]]
runpy.run_module("ipykernel_launcher", run_name="__main__")
"""


def _flaky_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failures: int) -> Path:
    spec = tmp_path / "jupyter" / "kernels" / "flaky"
    spec.mkdir(parents=True)
    starts = tmp_path / "starts"
    argv = [sys.executable, "-c", FLAKY, str(starts), str(failures), "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "flaky", "language": "python"}), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return starts


def test_a_kernel_that_dies_while_it_starts_is_replaced_and_the_run_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_code_notebook: Callable[..., Path]
) -> None:
    starts = _flaky_kernel(tmp_path, monkeypatch, failures=1)
    notebook = write_code_notebook(tmp_path / "nb.ipynb", ("x = 6 * 7\nprint(x)", []))
    record = run_notebook(notebook, kernel="flaky", runs_dir=tmp_path / "runs")
    assert record.status == "ok", record.error
    assert starts.read_text() == "2"
    output = json.loads((Path(record.directory) / "output.ipynb").read_text(encoding="utf-8"))
    assert output["cells"][-1]["outputs"][0]["text"] in ("42\n", ["42\n"])


def test_a_dead_kernel_started_ahead_is_replaced_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_code_notebook: Callable[..., Path]
) -> None:
    starts = _flaky_kernel(tmp_path, monkeypatch, failures=1)
    notebook = write_code_notebook(tmp_path / "nb.ipynb", ("x = 1", []))
    with WarmKernels("flaky", tmp_path) as warm:
        warm.keep_one = False
        warm.start()  # the kernel started ahead is the one that dies
        record = run_notebook(notebook, kernel="flaky", runs_dir=tmp_path / "runs", cwd=tmp_path, kernels=warm)
    assert record.status == "ok", record.error
    assert starts.read_text() == "2"


def test_a_kernel_that_never_starts_fails_the_run_after_three_attempts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_code_notebook: Callable[..., Path]
) -> None:
    starts = _flaky_kernel(tmp_path, monkeypatch, failures=10)
    notebook = write_code_notebook(tmp_path / "nb.ipynb", ("x = 1", []))
    with pytest.raises(RunError, match="kernel 'flaky' died 3 times before it answered") as raised:
        run_notebook(notebook, kernel="flaky", runs_dir=tmp_path / "runs")
    assert raised.value.path == str(notebook) and "jupyter kernelspec list" in (raised.value.hint or "")
    assert starts.read_text() == "3"
    (record,) = [entry for entry in list_runs(tmp_path / "runs") if isinstance(entry, RunRecord)]
    assert record.status == "failed" and "died 3 times" in record.error["evalue"]


def test_the_cli_says_a_kernel_that_never_starts_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], write_code_notebook: Callable[..., Path]
) -> None:
    _flaky_kernel(tmp_path, monkeypatch, failures=10)
    notebook = write_code_notebook(tmp_path / "nb.ipynb", ("x = 1", []))
    assert main(["run", str(notebook), "--kernel", "flaky", "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert f"{notebook}: error: kernel 'flaky' died 3 times before it answered (" in err and "internal error" not in err
