"""What the run tests share: the fixture notebooks of ``tests/data/run``, their digests, and copies of them to work in."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

RUN_DATA = Path(__file__).resolve().parents[1] / "data" / "run"


def fixture_digests() -> dict[str, str]:
    """The SHA-256 of every fixture file, by name."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in RUN_DATA.iterdir()}


def copy_fixtures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixtures copied into a fresh working folder, which is made the current folder."""
    folder = tmp_path / "work"
    shutil.copytree(RUN_DATA, folder)
    monkeypatch.chdir(folder)
    return folder
