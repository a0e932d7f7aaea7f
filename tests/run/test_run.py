"""``nb2prod run`` with a real ipykernel kernel through papermill: records, typed parameters, every fault.

Each test copies the fixtures of ``tests/data/run/`` (one behaviour per notebook) into a fresh
folder, runs there, and checks afterwards that the input notebooks kept their bytes and that no
kernel process is left behind. The runs are small: about a second each, kernel start included.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import papermill
import pytest
from run_helpers import RUN_DATA as DATA
from run_helpers import copy_fixtures

import nb2prod
from nb2prod.cli import main
from nb2prod.records import read_record
from nb2prod.run import run_notebook

pytestmark = pytest.mark.slow

NASTY = 'it\'s "quoted" \'\'\' """; import os\nos.system("echo pwned")  # \\ back\\slash \\n not a newline\r\n\ttab é日本 {x} %s'


def children(pid: int) -> list[int]:
    """Live (not zombie) child processes of ``pid``, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The fixtures copied into the current folder; afterwards the copies still have their bytes and no kernel is left."""
    folder = copy_fixtures(tmp_path, monkeypatch)
    yield folder
    for original in DATA.iterdir():
        assert (folder / original.name).read_bytes() == original.read_bytes(), f"{original.name} was modified"
    assert children(os.getpid()) == [], "a kernel process outlived its run"


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, dict[str, Any], str]]:
    """``nb2prod run ARGS --format json`` in this process: (exit code, the printed record, stderr)."""

    def invoke(*args: str) -> tuple[int, dict[str, Any], str]:
        code = main(["run", *args, "--format", "json"])
        captured = capsys.readouterr()
        return code, json.loads(captured.out), captured.err

    return invoke


def output_of(record: dict[str, Any]) -> dict[str, Any]:
    return json.loads((Path(record["directory"]) / "output.ipynb").read_text(encoding="utf-8"))


def cells_tagged(notebook: dict[str, Any], tag: str) -> list[dict[str, Any]]:
    return [cell for cell in notebook["cells"] if tag in cell.get("metadata", {}).get("tags", [])]


def source(cell: dict[str, Any]) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


# --- a successful run and its record ------------------------------------------------------------------


def test_successful_run_and_its_record(work: Path) -> None:
    (work / "data.csv").write_bytes(b"x\n1\n")
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    subprocess.run(["git", "add", "records_metrics.ipynb"], cwd=work, check=True)
    git_identity = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", *git_identity, "commit", "-q", "-m", "notebook"], cwd=work, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=work, capture_output=True, text=True, check=True).stdout.strip()

    record = run_notebook("records_metrics.ipynb", strings={"n": "4"}, runs_dir="runs")

    assert record.status == "ok" and record.error is None
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", record.id)
    assert record.directory == Path("runs") / "records_metrics" / record.id
    stored = read_record(record.directory)
    assert stored.to_json() == record.to_json()
    data = json.loads((record.directory / "run.json").read_text(encoding="utf-8"))
    assert list(data)[:9] == ["schema", "id", "notebook", "notebook_sha256", "parameters", "status", "error", "started", "finished"]
    assert data["schema"] == "nb2prod.run/1"
    assert data["notebook"] == "records_metrics.ipynb"
    assert data["notebook_sha256"] == hashlib.sha256((work / "records_metrics.ipynb").read_bytes()).hexdigest()
    assert data["parameters"] == {"seed": 0, "n": 4, "data_path": "data.csv"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", data["started"]) and data["started"] <= data["finished"]
    assert record.id.startswith(data["started"].replace("-", "").replace(":", "").split(".")[0])
    assert 0 < data["duration_s"] < 60
    rng = random.Random(0)
    draws = [rng.random() for _ in range(4)]
    assert data["metrics"] == {"mean": sum(draws) / len(draws), "n": 4}
    assert data["git"] == {"commit": head, "dirty": False}  # the untracked runs/ folder does not make it dirty
    environment = data["environment"]
    assert environment["python"] == platform.python_version() and environment["platform"] == platform.platform()
    packages = environment["packages"]
    assert packages["papermill"] == papermill.__version__ and packages["nb2prod"] == nb2prod.__version__
    assert list(packages) == sorted(packages, key=str.lower)
    assert data["inputs"] == {"data.csv": "sha256:" + hashlib.sha256(b"x\n1\n").hexdigest()}
    assert data["kernel"] == "python3" and data["nb2prod_version"] == nb2prod.__version__

    output = output_of({"directory": record.directory})
    (injected,) = cells_tagged(output, "injected-parameters")
    assert output["cells"].index(injected) == 2  # right after the parameters cell, as papermill puts it
    assert source(injected) == "# Parameters\nn = 4\n"
    meta = output["metadata"]["papermill"]
    assert meta["input_path"] == "records_metrics.ipynb" and meta["parameters"] == {"n": 4}
    assert meta["output_path"] == f"runs/records_metrics/{record.id}/output.ipynb"
    assert [o["text"] for o in output["cells"][-1]["outputs"] if o["output_type"] == "stream"] == [["done\n"]]


def test_text_output_and_cwd(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "sub").mkdir()
    (work / "sub" / "data.csv").write_text("a\nb\nc\n", encoding="utf-8")
    assert main(["run", "reads_input.ipynb", "--cwd", "sub", "--runs-dir", "elsewhere/runs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"run \d{8}T\d{6}Z-[0-9a-f]{6}: ok in \d+\.\d\d s", lines[0])
    run_id = lines[0].split()[1].rstrip(":")
    assert lines[1:] == [f"  directory: elsewhere/runs/reads_input/{run_id}", "  metrics:   lines=3"]
    record = read_record(Path("elsewhere/runs/reads_input") / run_id)
    assert record.inputs == {"data.csv": "sha256:" + hashlib.sha256(b"a\nb\nc\n").hexdigest()}
    assert Path.cwd() == work  # papermill's chdir for --cwd was undone


# --- parameters reach the kernel typed, and unchanged --------------------------------------------------


def test_typed_parameters_of_every_kind(work: Path, run: Callable[..., tuple[int, dict[str, Any], str]]) -> None:
    code, record, _ = run(
        "typed_parameters.ipynb",
        *("-f", "params.yaml"),  # version "2.0", layers [128, 64], debug true, text 2024-01-31 (a string)
        *("-p", "version=1.10", "-p", "learning_rate=1e-3", "-p", "epochs=3", "-p", 'options={"optimizer": "adam", "betas": [0.9, 0.999]}'),
        *("-p", "limit=None", "-p", "debug=no"),
    )
    assert code == 0, record
    metrics = record["metrics"]
    assert metrics["version"] == "1.10"  # papermill's -p would have made it 1.1
    assert metrics["layers"] == [128, 64] and metrics["debug"] is False and metrics["learning_rate"] == 0.001
    assert metrics["epochs"] == 3 and metrics["options"] == {"optimizer": "adam", "betas": [0.9, 0.999]}
    assert metrics["limit"] is None and metrics["echo"] == "2024-01-31"
    assert metrics["types"] == {
        "version": "str",
        "layers": "list",
        "debug": "bool",
        "learning_rate": "float",
        "epochs": "int",
        "options": "dict",
        "limit": "NoneType",
    }
    assert record["parameters"]["layers"] == [128, 64] and record["parameters"]["text"] == "2024-01-31"


def test_a_nasty_string_arrives_unchanged(work: Path, run: Callable[..., tuple[int, dict[str, Any], str]]) -> None:
    code, record, _ = run("typed_parameters.ipynb", "-p", f"text={NASTY}", "-p", "layers=[64,32]", "-p", "limit=7")
    assert code == 0, record
    assert record["metrics"]["echo"] == NASTY and record["parameters"]["text"] == NASTY
    assert record["metrics"]["layers"] == [64, 32] and record["metrics"]["limit"] == 7
    assert record["metrics"]["version"] == "1.0" and record["metrics"]["types"]["version"] == "str"  # defaults as they are


def test_secrets_are_redacted_in_the_record_and_the_output(work: Path, run: Callable[..., tuple[int, dict[str, Any], str]]) -> None:
    code, record, _ = run("typed_parameters.ipynb", "-p", "api_key=abc123")
    assert code == 0, record
    assert record["metrics"]["api_key_length"] == 6  # the kernel got the real value
    assert record["parameters"]["api_key"] == "***"
    output = output_of(record)
    assert source(cells_tagged(output, "injected-parameters")[0]) == "# Parameters\napi_key = '***'\n"
    assert output["metadata"]["papermill"]["parameters"] == {"api_key": "***"}
    for path in Path(record["directory"]).iterdir():
        assert b"abc123" not in path.read_bytes(), path.name


def test_a_py_percent_text_notebook_runs(work: Path, run: Callable[..., tuple[int, dict[str, Any], str]]) -> None:
    code, record, _ = run("percent_notebook.py", "-p", "factor=3")
    assert code == 0, record
    assert record["metrics"] == {"product": 63} and record["notebook"] == "percent_notebook.py"
    assert record["notebook_sha256"] == hashlib.sha256((work / "percent_notebook.py").read_bytes()).hexdigest()
    output = output_of(record)
    assert output["nbformat"] == 4 and source(cells_tagged(output, "injected-parameters")[0]) == "# Parameters\nfactor = 3\n"


def test_metrics_from_scrapbook_glue(work: Path, run: Callable[..., tuple[int, dict[str, Any], str]]) -> None:
    code, record, _ = run("scrapbook_glue.ipynb")
    assert code == 0 and record["metrics"] == {"accuracy": 0.93}


# --- faults: each with its status and exit code -------------------------------------------------------


def test_cell_error_is_failed_exit_1_with_the_error_visible(work: Path, run: Callable[..., tuple[int, dict[str, Any], str]]) -> None:
    code, record, err = run("broken_cell.ipynb", "-p", "divisor=2")
    assert code == 1 and record["status"] == "failed"
    # cell 3 of the notebook on disk, although papermill's output has an injected cell and a banner before it
    assert record["error"] == {"cell_index": 3, "cell_id": "cell-3", "ename": "ValueError", "evalue": "boom 2"}
    assert record["metrics"] == {"before": 1}
    assert f"broken_cell.ipynb:cell 4: error: the notebook raised (ValueError: boom 2) (the executed notebook: {record['directory']}" in err
    output = output_of(record)
    assert len(cells_tagged(output, "papermill-error-cell-tag")) == 2  # papermill's banner and anchor
    failing = next(cell for cell in output["cells"] if cell.get("id") == "cell-3")
    (shown,) = [o for o in failing["outputs"] if o["output_type"] == "error"]
    assert shown["ename"] == "ValueError" and shown["evalue"] == "boom 2"


def test_timeout_is_exit_124(work: Path, run: Callable[..., tuple[int, dict[str, Any], str]]) -> None:
    started = time.monotonic()
    code, record, err = run("sleeps.ipynb", "--timeout", "1")
    assert code == 124 and record["status"] == "timeout"
    assert time.monotonic() - started < 20
    assert record["error"] == {"cell_index": 1, "cell_id": "cell-1", "ename": "CellTimeoutError", "evalue": "a cell ran longer than 1 s"}
    assert "sleeps.ipynb:cell 2: error: timed out" in err
    # reliability.md scenario 27: the executed notebook shows where (papermill marks raised errors only)
    output = output_of(record)
    top, here = cells_tagged(output, "papermill-error-cell-tag")
    assert output["cells"][0] is top and "timed out" in source(top) and "cell 2 of the notebook" in source(top)
    position = next(index for index, cell in enumerate(output["cells"]) if cell.get("id") == "cell-1")
    assert output["cells"][position - 1] is here and f'id="{here["id"]}"' in source(here) and f"(#{here['id']})" in source(top)
    import nbformat

    nbformat.validate(nbformat.from_dict(output))


def test_kernel_death_is_exit_138(work: Path, run: Callable[..., tuple[int, dict[str, Any], str]]) -> None:
    code, record, err = run("os_exit.ipynb")
    assert code == 138 and record["status"] == "kernel_died"
    assert record["error"]["cell_index"] == 1 and record["error"]["ename"] == "DeadKernelError"
    assert record["metrics"] == {"before": 1}  # what the notebook recorded before it died is kept
    assert "os_exit.ipynb:cell 2: error: the kernel died" in err


def test_sys_exit_0_is_success(work: Path, run: Callable[..., tuple[int, dict[str, Any], str]]) -> None:
    code, record, err = run("sysexit0.ipynb")
    assert code == 0 and record["status"] == "ok" and record["error"] is None and err.count("error:") == 0
    assert record["metrics"] == {"before": 1}  # like a script: the cells after sys.exit(0) do not run


def test_sys_exit_1_is_failed(work: Path, run: Callable[..., tuple[int, dict[str, Any], str]]) -> None:
    code, record, _ = run("sysexit1.ipynb")
    assert code == 1 and record["status"] == "failed"
    assert record["error"] == {"cell_index": 1, "cell_id": "cell-1", "ename": "SystemExit", "evalue": "1"}


def test_a_magic_failing_without_an_error_output_is_failed(work: Path, run: Callable[..., tuple[int, dict[str, Any], str]]) -> None:
    code, record, _ = run("undefined_magic.ipynb")
    assert code == 1 and record["status"] == "failed" and record["error"]["cell_index"] == 0


def test_sigterm_is_exit_130_and_leaves_no_kernel(work: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "nb2prod", "run", "sleeps.ipynb", "--runs-dir", "runs", "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        kernels: list[int] = []
        while time.monotonic() < deadline and not kernels:
            time.sleep(0.1)
            for output in work.glob("runs/sleeps/*/output.ipynb"):
                cells = json.loads(output.read_text(encoding="utf-8"))["cells"]
                if cells[1]["metadata"].get("papermill", {}).get("status") == "running":  # the sleep has begun
                    kernels = children(process.pid)
        assert kernels, "the run never reached its sleeping cell"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    record = json.loads(out)
    assert record["status"] == "interrupted"
    assert record["error"] == {"cell_index": 1, "cell_id": "cell-1", "ename": "KeyboardInterrupt", "evalue": "SIGTERM"}
    assert read_record(record["directory"]).status == "interrupted"
    assert "sleeps.ipynb:cell 2: error: interrupted" in err and "Traceback" not in err
    for pid in kernels:
        deadline = time.monotonic() + 5
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(pid), f"kernel process {pid} outlived the interrupted run"


def test_an_interrupt_while_the_kernel_starts_leaves_no_kernel(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C after the kernel process exists but before nbclient owns its clean-up (its start-up has no finally)."""
    from jupyter_client.manager import AsyncKernelManager

    launched: list[int] = []

    def interrupt(self: AsyncKernelManager, **kwargs: Any) -> None:
        launched.extend(children(os.getpid()))
        raise KeyboardInterrupt

    monkeypatch.setattr(AsyncKernelManager, "client", interrupt)
    record = run_notebook("sleeps.ipynb", runs_dir="runs")
    assert launched, "no kernel process had started"
    assert record.status == "interrupted" and record.error == {
        "cell_index": None,
        "cell_id": None,
        "ename": "KeyboardInterrupt",
        "evalue": "SIGINT",
    }
    assert not any(alive(pid) for pid in launched)
    assert read_record(record.directory).status == "interrupted"


def test_timeout_banners_take_free_ids_and_leave_the_notebook_alone() -> None:
    from nb2prod.run.execute import _timeout_banners

    cells = [
        {"cell_type": "code", "id": name, "metadata": {}, "source": "x", "outputs": [], "execution_count": None}
        for name in ("a", "nb2prod-timeout")
    ]
    data = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    marked = _timeout_banners(data, 1, 4, "a cell ran longer than 2 s")
    assert [cell["id"] for cell in marked["cells"]] == ["nb2prod-timeout-1", "a", "nb2prod-timed-out-here", "nb2prod-timeout"]
    assert "cell 5 of the notebook" in marked["cells"][0]["source"] and "(#nb2prod-timed-out-here)" in marked["cells"][0]["source"]
    assert [cell["id"] for cell in data["cells"]] == ["a", "nb2prod-timeout"]
