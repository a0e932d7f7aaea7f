"""``nb2prod.profile`` outside a kernel, the run's side (``store_profiles``), and the import cost of it all."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

import nb2prod
from nb2prod.drift.capture import PROFILE_MIME, recorded_profiles, store_profiles
from nb2prod.drift.profile import load_profile


def test_profile_outside_a_notebook_returns_the_profile() -> None:
    profile = nb2prod.profile(np.arange(200.0).reshape(100, 2), columns=["a", "b"], name="train")
    assert profile["schema"] == "nb2prod.profile/1" and set(profile["columns"]) == {"a", "b"} and profile["rows"] == 100
    json.dumps(profile, allow_nan=False)  # what the notebook output carries is plain JSON


def notebook_with(*outputs: dict) -> dict:
    return {"cells": [{"cell_type": "code", "source": "", "outputs": [{"output_type": "display_data", "data": data} for data in outputs]}]}


def test_store_profiles_writes_each_profile_and_leaves_out_forged_ones(tmp_path: Path) -> None:
    good = nb2prod.profile({"x": np.arange(50.0)}, name="train")
    forged_name = {**good, "name": "../../etc/passwd"}
    broken = {**good, "name": "broken", "columns": {"x": {"kind": "numeric", "n": "many"}}}
    notebook = notebook_with({PROFILE_MIME: good}, {PROFILE_MIME: forged_name}, {PROFILE_MIME: broken}, {"text/plain": "x"})
    assert set(recorded_profiles(notebook)) == {"train", "../../etc/passwd", "broken"}
    stored = store_profiles(notebook, tmp_path)
    assert list(stored) == ["train"] and sorted(p.name for p in tmp_path.iterdir()) == ["profile-train.json"]
    assert load_profile(tmp_path / "profile-train.json", sha256=stored["train"]["sha256"])["rows"] == 50


def test_importing_nb2prod_and_its_cli_loads_no_numpy_pandas_or_pyarrow() -> None:
    probe = "import sys, nb2prod, nb2prod.cli, nb2prod.run, nb2prod.drift.capture; print(' '.join(sorted(sys.modules)))"
    loaded = {
        name.split(".")[0]
        for name in subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    }
    assert loaded.isdisjoint({"numpy", "pandas", "pyarrow", "scipy"}), loaded & {"numpy", "pandas", "pyarrow", "scipy"}


def test_scenario_46_a_secret_among_the_categories_is_masked_in_the_stored_profile(tmp_path: Path) -> None:
    secret = "sk-live-51HfT9q2eZvKYlo2CkPz"
    profile = nb2prod.profile({"note": np.array([secret, "other"] * 40, dtype=object)}, name="train")
    stored = store_profiles(notebook_with({PROFILE_MIME: profile}), tmp_path, secrets={secret})
    text = (tmp_path / "profile-train.json").read_text()
    assert secret not in text and "***" in text and stored["train"]["rows"] == 80
