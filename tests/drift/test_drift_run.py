"""A real run stores the notebook's profile, and ``nb2prod drift latest DATA`` checks against it (real kernel: slow)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from nb2prod.cli import main
from nb2prod.records import find_record

pytestmark = pytest.mark.slow
NOTEBOOK = Path(__file__).resolve().parents[1] / "data" / "drift" / "profile_frame.ipynb"


def test_a_run_stores_the_profile_and_drift_checks_new_data_against_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(NOTEBOOK, tmp_path / "train.ipynb")
    assert main(["run", "train.ipynb"]) == 0
    record = find_record("latest", "runs")
    assert set(record.profiles) == {"train"}
    entry = record.profiles["train"]
    assert entry["path"] == "profile-train.json" and entry["rows"] == 2000 and entry["columns"] == 3
    stored = record.directory / entry["path"]
    assert entry["sha256"].startswith("sha256:")
    assert json.loads(stored.read_text())["columns"]["plan"]["kind"] == "categorical"

    train = pd.read_csv("train.csv")
    train.sample(800, random_state=1).to_csv("same.csv", index=False)
    shifted = train.copy()
    shifted["age"] = shifted["age"] + 7.5  # 0.75 sigma
    shifted.to_csv("shifted.csv", index=False)
    assert main(["drift", "latest", "same.csv"]) == 0
    assert main(["drift", "latest", "shifted.csv"]) == 1

    stored.write_text(stored.read_text().replace('"train"', '"trian"', 1))  # tampered after the run
    assert main(["drift", "latest", "same.csv"]) == 2
