"""``pytest --nb2prod``: a real pytest in a subprocess on a folder of notebooks (kernels start: marked slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
