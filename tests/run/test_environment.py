"""Inputs against artifacts (reliability.md scenario 60): what a run read is an input, what it wrote an artifact."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from pathlib import Path

import pytest

from nb2prod.records import RunRecord
from nb2prod.run.environment import inputs_and_artifacts, installed_packages, snapshot_files
from nb2prod.verify import environment_warnings


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_files_the_run_creates_or_writes_are_artifacts(tmp_path: Path) -> None:
    existing = ("read.csv", "rewritten_same.bin", "rewritten.bin", "deleted.csv", "replaced.bin")
    for name in existing:
        (tmp_path / name).write_bytes(name.encode())
    parameters = {
        "data": "read.csv",
        "same": "rewritten_same.bin",
        "changed": "rewritten.bin",
        "temporary": "deleted.csv",
        "replaced": "replaced.bin",
        "outputs": ["created.bin", "never_written.bin"],
        "folder": ".",
        "api_key": "created.bin",
    }
    before = snapshot_files(parameters, tmp_path)
    assert before.hashes == {name: sha(name.encode()) for name in existing}

    # what the run does:
    os.utime(tmp_path / "rewritten_same.bin", ns=(1, 1))  # the same bytes written again (a deterministic model): a new mtime
    (tmp_path / "rewritten.bin").write_bytes(b"new model")
    (tmp_path / "deleted.csv").unlink()
    (tmp_path / "tmp").write_bytes(b"replaced.bin")
    os.replace(tmp_path / "tmp", tmp_path / "replaced.bin")  # an atomic save with the same bytes: a new inode
    (tmp_path / "created.bin").write_bytes(b"created")

    inputs, artifacts = inputs_and_artifacts(before)
    assert inputs == {"read.csv": sha(b"read.csv"), "deleted.csv": sha(b"deleted.csv")}
    assert artifacts == {
        "rewritten_same.bin": sha(b"rewritten_same.bin"),
        "rewritten.bin": sha(b"new model"),
        "replaced.bin": sha(b"replaced.bin"),
        "created.bin": sha(b"created"),
    }


def test_nothing_written_means_no_artifacts(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_bytes(b"1\n")
    before = snapshot_files({"data": "data.csv", "out": "out.csv"}, tmp_path)
    assert inputs_and_artifacts(before) == ({"data.csv": sha(b"1\n")}, {})


def test_verify_does_not_compare_artifacts_even_against_an_old_record() -> None:
    """A record written before artifacts existed listed a file the run wrote as an input; the re-run knows better."""
    old = RunRecord(
        id="1", notebook="nb.ipynb", notebook_sha256="", parameters={}, status="ok", started="", inputs={"model.bin": sha(b"1")}
    )
    rerun = RunRecord(
        id="2",
        notebook="nb.ipynb",
        notebook_sha256="",
        parameters={},
        status="ok",
        started="",
        inputs={"data.csv": sha(b"d")},
        artifacts={"model.bin": sha(b"2")},
    )
    assert environment_warnings(old, rerun) == ["the input data.csv differs from the record (none then, " + sha(b"d")[7:19] + " now)"]


def test_installed_packages_are_read_once_while_the_sys_path_folders_stay_as_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweep's runs in one worker share the scan (~0.07 s of CPU each); a distribution installed between runs is seen."""
    monkeypatch.syspath_prepend(os.fspath(tmp_path))
    scans: list[int] = []
    real = importlib.metadata.distributions

    def counting(*args: object, **kwargs: object) -> object:
        scans.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(importlib.metadata, "distributions", counting)
    first = installed_packages()
    assert installed_packages() == first and len(scans) == 1  # nothing changed: not read again

    stamp = (tmp_path.stat().st_mtime_ns // 1_000_000_000 + 10) * 1_000_000_000
    info = tmp_path / "demo_pkg-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.2\n", encoding="utf-8")
    os.utime(tmp_path, ns=(stamp, stamp))  # as a pip install seconds later would leave it (a test is faster than the clock's tick)
    after = installed_packages()
    assert len(scans) == 2 and after == {**first, "demo-pkg": "1.2"} and list(after) == sorted(after, key=str.lower)
