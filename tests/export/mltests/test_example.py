"""The example notebook's package: its generated ML tests all apply (none skipped) and pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nb2prod.export import export

ROOT = Path(__file__).resolve().parents[3]


def _run_ml_tests(package: Path) -> subprocess.CompletedProcess[str]:
    """Run the exported package's generated ML tests with pytest, its ``src`` importable; they must pass."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:randomly", "tests/test_ml_train.py"],
        cwd=package,
        env={**os.environ, "PYTHONPATH": os.fspath(package / "src")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    return done


@pytest.mark.slow
def test_the_example_notebook_exports_ml_tests_that_all_apply_and_pass(tmp_path: Path) -> None:
    result = export([ROOT / "notebooks" / "train.ipynb"], out=tmp_path / "train")
    assert result.plan is not None and result.plan.ml_tests is not None
    generated = [code for code, _ in result.plan.ml_tests.generated]
    assert generated == ["T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T12", "T14"]
    done = _run_ml_tests(tmp_path / "train")
    assert "11 passed" in done.stdout and "skipped" not in done.stdout


@pytest.mark.slow
def test_the_example_with_its_profile_and_a_captured_sample_gets_t16_and_all_its_ml_tests_pass(tmp_path: Path) -> None:
    """The profile the notebook stores (X_train, its feature names) and 60 captured rows: T14 on real rows, T16 on load_data()."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    import nb2prod

    data = load_breast_cancer()
    X_train, _, _, _ = train_test_split(data.data, data.target, test_size=0.25, random_state=42, stratify=data.target)
    profile = nb2prod.profile(X_train, columns=list(data.feature_names), name="train")
    result = export(
        [ROOT / "notebooks" / "train.ipynb"], out=tmp_path / "train", data_profile=profile, profile_origin="of run r1", capture_sample=60
    )
    assert result.plan is not None and result.plan.ml_tests is not None
    assert [code for code, _ in result.plan.ml_tests.generated] == [
        "T1",
        "T2",
        "T3",
        "T4",
        "T5",
        "T6",
        "T7",
        "T8",
        "T9",
        "T12",
        "T14",
        "T16",
    ]
    header = (tmp_path / "train" / "tests" / "fixtures" / "sample.csv").read_text(encoding="utf-8").split("\n")[2]
    assert header.startswith("mean radius,mean texture,") and header.endswith(",target")  # the array's columns named by the profile
    done = _run_ml_tests(tmp_path / "train")
    assert "12 passed" in done.stdout and "skipped" not in done.stdout


@pytest.mark.slow
def test_the_example_run_then_exported_with_reference_run_tests_its_loader_against_the_stored_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`nb2prod run` stores the notebook's profile; `export --reference-run latest` gets T13 and T16 from that run, and all pass."""
    import shutil

    from nb2prod.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    shutil.copyfile(ROOT / "notebooks" / "train.ipynb", tmp_path / "train.ipynb")
    assert main(["run", "train.ipynb", "-p", "n_estimators=20"]) == 0
    assert main(["export", "train.ipynb", "--reference-run", "latest", "-o", "pkg", "-q"]) == 0
    spec = (tmp_path / "pkg" / "tests" / "fixtures" / "profile.txt").read_text(encoding="utf-8")
    assert '"name": "mean radius"' in spec and '"x": "array"' in spec
    done = _run_ml_tests(tmp_path / "pkg")
    assert "13 passed" in done.stdout and "skipped" not in done.stdout  # T1-T9, T12, T13, T14, T16
