"""End to end, with the real tools: the example notebook becomes a package that installs, passes its tests and
reproduces the notebook's metrics.

``notebooks/train.ipynb`` is exported into a temporary folder; a fresh virtual environment gets the
generated project through ``pip install`` (its dependencies come from the package index pip is
configured with here; building and installing takes a while); the generated tests run with that
environment's pytest; the console script runs with ``--n-estimators 50``; and its metrics must equal
those papermill records when it executes the notebook with the same parameter in a real kernel.
The notebook runs while pip installs, to keep the test short.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

import nb2prod
from nb2prod.record import recorded_metrics

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "train.ipynb"
OVERRIDE = {"n_estimators": 50}


def _bin(env_dir: Path, name: str) -> Path:
    return env_dir / ("Scripts" if os.name == "nt" else "bin") / name


@pytest.mark.slow
def test_exported_example_installs_passes_its_tests_and_reproduces_the_notebook(tmp_path: Path) -> None:
    import papermill

    shutil.copyfile(NOTEBOOK, tmp_path / "train.ipynb")
    project = tmp_path / "train-package"
    result = nb2prod.export([tmp_path / "train.ipynb"], out=project)
    assert result.plan is not None and result.plan.recorded == ("accuracy", "f1")
    assert {"--n-estimators", "--scale-features"} <= set((project / "src" / "train" / "cli.py").read_text().replace('"', " ").split())

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = _bin(env_dir, "python")
    install = subprocess.Popen(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", f"{project}[test]"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        executed = tmp_path / "executed.ipynb"
        papermill.execute_notebook(
            str(tmp_path / "train.ipynb"),
            str(executed),
            parameters=OVERRIDE,
            kernel_name="python3",
            cwd=str(tmp_path),
            progress_bar=False,
            execution_timeout=120,
        )
        expected = recorded_metrics(json.loads(executed.read_text(encoding="utf-8")))
        output, _ = install.communicate(timeout=600)
    finally:
        if install.poll() is None:
            install.kill()
            install.wait()
    assert install.returncode == 0, output
    assert set(expected) == {"accuracy", "f1"}

    tests = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=project, capture_output=True, text=True, check=False
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "15 passed" in tests.stdout  # 4 from the test cells and the CLI, 11 generated ML sanity tests

    metrics_file = tmp_path / "metrics.json"
    ran = subprocess.run(
        [_bin(env_dir, "train"), "--n-estimators", "50", "--metrics-json", metrics_file],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(metrics_file.read_text()) == expected
    assert ran.stdout.splitlines() == [f"{name}: {value}" for name, value in expected.items()]
    defaults = subprocess.run([_bin(env_dir, "train")], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert defaults.returncode == 0 and defaults.stdout != ran.stdout, "the overridden parameter reached the pipeline"
