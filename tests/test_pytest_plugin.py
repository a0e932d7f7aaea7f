"""``pytest --nb2prod``: a real pytest in a subprocess on a folder of notebooks (kernels start: marked slow)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

PYPROJECT = """
[tool.nb2prod.tests]
parameters = { n = 3 }
metrics = ["accuracy >= 0.9"]
reference-runs = "runs"
rtol = 0.01
"""


@pytest.fixture
def folder(tmp_path: Path, write_code_notebook: Callable[..., Path]) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    # passes only when the config's n = 3 replaced the notebook's n = 1000
    write_code_notebook(
        notebooks / "good.ipynb",
        ("n = 1000\n", ["parameters"]),
        ("import nb2prod\nassert n == 3, n\nnb2prod.record('accuracy', 0.95)\n", []),
    )
    write_code_notebook(notebooks / "broken.ipynb", ("x = 1\n", []), ("y = x + 1\nraise ValueError('boom in the second cell')\n", []))
    write_code_notebook(notebooks / "weak.ipynb", ("import nb2prod\nnb2prod.record('accuracy', 0.5)\n", []))
    return tmp_path


def _pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nb2prod", "-p", "no:cacheprovider", "-p", "no:randomly", *args, "notebooks"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


@pytest.mark.slow
def test_notebooks_pass_fail_on_a_cell_error_with_the_cell_and_on_a_metric_gate_with_two_workers(folder: Path) -> None:
    done = _pytest(folder, "-n", "2")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "1 passed" in out and "2 failed" in out
    assert "cell 2:" in out and "raise ValueError('boom in the second cell')" in out and "ValueError: boom in the second cell" in out
    assert "metric gate failed: accuracy >= 0.9" in out and "0.5" in out


def _reference(folder: Path, accuracy: float) -> None:
    """A recorded ok run of good.ipynb under runs/ (what `nb2prod run` writes, reduced to what is read)."""
    run = folder / "runs" / "good" / "20261206T000000Z-abc123"
    run.mkdir(parents=True)
    record = {
        "schema": "nb2prod.run/1",
        "id": run.name,
        "notebook": "notebooks/good.ipynb",
        "notebook_sha256": "0" * 64,
        "parameters": {"n": 3},
        "status": "ok",
        "error": None,
        "started": "2026-12-06T00:00:00Z",
        "metrics": {"accuracy": accuracy},
    }
    (run / "run.json").write_text(json.dumps(record))


@pytest.mark.slow
def test_k_selects_a_notebook_by_name_and_its_metrics_are_compared_with_the_reference_run(folder: Path) -> None:
    _reference(folder, 0.97)  # the notebook records 0.95: 2% off, beyond rtol = 0.01
    done = _pytest(folder, "-k", "good")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 2 deselected" in done.stdout
    assert "metric accuracy = 0.95, but the reference run 20261206T000000Z-abc123 recorded 0.97 (rtol=0.01" in done.stdout


def test_without_the_option_no_notebook_is_collected_and_no_run_machinery_is_imported(folder: Path) -> None:
    probe = (
        "import sys, pytest\n"
        "code = pytest.main(['-q', '-p', 'no:cacheprovider', '-p', 'no:randomly', 'notebooks'])\n"
        "heavy = sorted(name for name in ('papermill', 'nbclient', 'jupyter_client', 'nbformat', 'nb2prod.run') if name in sys.modules)\n"
        "print('HEAVY', heavy, 'CODE', int(code))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=folder, capture_output=True, text=True, timeout=120)
    assert "HEAVY [] CODE 5" in done.stdout, done.stdout + done.stderr  # 5: no tests collected


# --- kernels started ahead -------------------------------------------------------------------------

#: A conftest for the notebooks' folder: when the session ends, the processes still running under pytest go to children.txt.
LEFT_RUNNING = """
import psutil

def pytest_unconfigure(config):
    alive = [p for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]
    with open("children.txt", "w") as out:
        out.write(repr([" ".join(p.cmdline()) for p in alive]))
"""


def _notes(folder: Path) -> dict[str, object]:
    import ast

    return {path.name: ast.literal_eval(path.read_text()) for path in (folder / "notes").iterdir()}


@pytest.fixture
def ahead(tmp_path: Path, write_code_notebook: Callable[..., Path]) -> Path:
    """Three notebooks: a and b in notebooks/, c in notebooks/z/ (another working folder); each notes its kernel and times."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.nb2prod.tests]\n")
    (tmp_path / "conftest.py").write_text(LEFT_RUNNING)
    (tmp_path / "notes").mkdir()
    notebooks = tmp_path / "notebooks"
    (notebooks / "z").mkdir(parents=True)
    notes = os.fspath(tmp_path / "notes")

    def code(name: str, *, sleep: float) -> str:
        """The notebook's one cell: it notes (in notes/NAME.WHAT) its kernel's pid, start time and folder, and what leaked into it."""

        def note(what: str, value: str) -> str:
            return f"pathlib.Path({notes!r}, '{name}.{what}').write_text(repr({value}))"

        return "\n".join(
            [
                "import os, pathlib, time, psutil",
                note("pid", "os.getpid()"),
                note("kernel_started", "psutil.Process().create_time()"),
                note("cwd", "os.getcwd()"),
                note("leaked", "sorted(n for n in ('secret_a', 'secret_b') if n in globals())"),
                f"secret_{name} = 1",
                f"time.sleep({sleep})",
                note("ended", "time.time()"),
            ]
        )

    write_code_notebook(notebooks / "a.ipynb", (code("a", sleep=1.5), []))
    write_code_notebook(notebooks / "b.ipynb", (code("b", sleep=1.5), []))
    write_code_notebook(notebooks / "z" / "c.ipynb", (code("c", sleep=0), []))
    return tmp_path


@pytest.mark.slow
def test_the_next_notebooks_kernel_starts_while_the_current_one_runs_yet_each_notebook_gets_a_fresh_kernel(ahead: Path) -> None:
    done = _pytest(ahead, "-p", "no:xdist")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
    notes = _notes(ahead)
    # b's kernel (same folder) and c's (another folder) were started before the notebook before them ended
    assert notes["b.kernel_started"] < notes["a.ended"] - 0.5, notes  # a sleeps 1.5 s
    assert notes["c.kernel_started"] < notes["b.ended"] - 0.5, notes
    # and yet every notebook had a kernel of its own, in its own folder, that had run nothing before
    assert len({notes["a.pid"], notes["b.pid"], notes["c.pid"]}) == 3, notes
    assert notes["a.leaked"] == notes["b.leaked"] == notes["c.leaked"] == [], notes
    assert notes["b.cwd"] == os.fspath((ahead / "notebooks").resolve()), notes
    assert notes["c.cwd"] == os.fspath((ahead / "notebooks" / "z").resolve()), notes
    # the last notebook started no kernel for a notebook that does not come
    assert (ahead / "children.txt").read_text() == "[]"


@pytest.mark.slow
def test_a_kernel_started_ahead_is_shut_down_when_x_stops_the_session_after_a_failure(ahead: Path) -> None:
    notebook = ahead / "notebooks" / "a.ipynb"
    data = json.loads(notebook.read_text())
    data["cells"][0]["source"] += "\nraise ValueError('a fails')\n"
    notebook.write_text(json.dumps(data))
    done = _pytest(ahead, "-p", "no:xdist", "-x")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed" in done.stdout and "ValueError: a fails" in done.stdout
    assert "b.pid" not in _notes(ahead)  # b did not run: -x stopped the session
    assert (ahead / "children.txt").read_text() == "[]"  # and the kernel started for it is gone


@pytest.mark.slow
def test_ctrl_c_stops_the_session_and_leaves_no_kernel_running(ahead: Path) -> None:
    notebook = ahead / "notebooks" / "a.ipynb"
    data = json.loads(notebook.read_text())
    data["cells"][0]["source"] = data["cells"][0]["source"].replace("time.sleep(1.5)", "time.sleep(60)")
    notebook.write_text(json.dumps(data))
    command = [sys.executable, "-m", "pytest", "--nb2prod", "-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:xdist", "notebooks"]
    process = subprocess.Popen(command, cwd=ahead, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (ahead / "notes" / "a.leaked").exists():  # a runs (and b's kernel has been started)
            assert time.monotonic() < deadline and process.poll() is None, "notebook a never ran"
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 2, out  # pytest's "interrupted"
    assert "KeyboardInterrupt" in out
    notes = _notes(ahead)
    assert "a.ended" not in notes and "b.pid" not in notes  # a was stopped, b never ran
    assert (ahead / "children.txt").read_text() == "[]"


@pytest.mark.slow
def test_a_started_kernel_is_found_ready_without_a_fixed_wait(tmp_path: Path) -> None:
    from jupyter_core.utils import ensure_event_loop

    from nb2prod.pytest_plugin import _warm_kernels
    from nb2prod.run.kernels import shut_down

    warm = _warm_kernels(("python3", tmp_path))
    warm.keep_one = False
    manager = warm.take("python3", tmp_path)
    assert manager is not None
    try:
        client = manager.client()
        client.start_channels()
        loop = ensure_event_loop()
        loop.run_until_complete(client.wait_for_ready(timeout=60))  # while the kernel boots
        times = []
        for _ in range(3):
            start = time.perf_counter()
            loop.run_until_complete(client.wait_for_ready(timeout=60))
            times.append(time.perf_counter() - start)
        assert min(times) < 0.2, times  # jupyter_client's handshake ends with 0.2 s of IOPub silence, every time
        reply = loop.run_until_complete(client.execute_interactive("x = 1", timeout=30))
        assert reply["content"]["status"] == "ok"  # nothing of the handshake is left to confuse a cell
    finally:
        shut_down(manager)
        warm.close()
