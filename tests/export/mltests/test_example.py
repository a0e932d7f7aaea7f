"""The example notebook's package: its generated ML tests all apply (none skipped) and pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nb2prod.export import export

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_the_example_notebook_exports_ml_tests_that_all_apply_and_pass(tmp_path: Path) -> None:
    result = export([ROOT / "notebooks" / "train.ipynb"], out=tmp_path / "train")
    assert result.plan is not None and result.plan.ml_tests is not None
    generated = [code for code, _ in result.plan.ml_tests.generated]
    assert generated == ["T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T12", "T14"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:randomly", "tests/test_ml_train.py"],
        cwd=tmp_path / "train",
        env={**os.environ, "PYTHONPATH": os.fspath(tmp_path / "train" / "src")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "11 passed" in done.stdout and "skipped" not in done.stdout
