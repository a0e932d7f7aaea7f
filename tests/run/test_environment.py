"""Inputs against artifacts (reliability.md scenario 60): what a run read is an input, what it wrote an artifact."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from nb2prod.records import RunRecord
from nb2prod.run.environment import inputs_and_artifacts, snapshot_files
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
