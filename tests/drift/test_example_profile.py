"""The example notebook stores a profile; the README's drift check of a shifted copy of its data (real kernel: slow)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from nb2prod.cli import main
from nb2prod.records import find_record

pytestmark = pytest.mark.slow
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "train.ipynb"


def test_the_example_stores_a_profile_and_a_shifted_copy_of_its_data_fails_the_drift_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sklearn.datasets import load_breast_cancer

    monkeypatch.chdir(tmp_path)
    shutil.copy(NOTEBOOK, "train.ipynb")
    assert main(["run", "train.ipynb", "-p", "n_estimators=10"]) == 0  # few trees: the profile is what is tested
    record = find_record("latest", "runs")
    assert record.profiles["train"]["columns"] == 30 and record.profiles["train"]["rows"] == 426

    data = load_breast_cancer(as_frame=True).frame.drop(columns="target")
    data.to_csv("new.csv", index=False)
    shifted = data.copy()
    shifted["mean radius"] *= 1.15  # the README's example: measurements 15% larger
    shifted.to_csv("shifted.csv", index=False)
    assert main(["drift", "latest", "new.csv"]) == 0
    assert main(["drift", "latest", "shifted.csv", "--report", "drift.html"]) == 1
    assert np.isfinite(find_record("latest", "runs").duration_s)
