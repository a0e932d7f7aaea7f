"""Promoting a run to a stage (``nb2prod.stages``): the pointer, the audit line, the stage as a run name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nb2prod import audit
from nb2prod.cli import main
from nb2prod.records import RunRecord, write_record
from nb2prod.stages import read_stages

SECRET = "sk-live-0123456789abcdef0123"


def fake_run(runs: Path, run_id: str, status: str = "ok", seed: int = 1) -> RunRecord:
    directory = runs / "train" / run_id
    directory.mkdir(parents=True)
    record = RunRecord(
        id=run_id,
        notebook="train.ipynb",
        notebook_sha256="ab" * 32,
        parameters={"seed": seed, "api_key": SECRET},
        status=status,
        started=f"2026-12-06T10:0{seed}:00.000Z",
        finished=f"2026-12-06T10:0{seed}:30.000Z",
        duration_s=30.0,
        metrics={"accuracy": 0.9},
        directory=directory,
    )
    write_record(record)
    return record


def test_promote_writes_the_pointer_and_a_line_and_names_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    first, second = fake_run(runs, "20261206T100100Z-aaaaaa", seed=1), fake_run(runs, "20261206T100200Z-bbbbbb", seed=2)
    assert main(["runs", "promote", first.id, "--runs-dir", str(runs)]) == 0
    assert main(["runs", "promote", "20261206T1002", "--runs-dir", str(runs)]) == 0  # a unique prefix
    out = capsys.readouterr().out
    assert f"promoted run {second.id} of train.ipynb to production (was {first.id}); audit line 2" in out
    pointer = read_stages(runs)["production"]
    assert pointer["run"] == second.id and pointer["record_sha256"] == audit.sha256_file(second.directory / "run.json")  # type: ignore[operator]
    lines = audit.entries(runs)
    assert [(line["event"], line["stage"], line["run"]["id"], line["previous"]) for line in lines] == [
        ("promote", "production", first.id, None),
        ("promote", "production", second.id, first.id),
    ]
    assert lines[1]["run"]["parameters"] == {"seed": 2, "api_key": "***"}
    assert SECRET not in (runs / "audit.jsonl").read_text() + (runs / "stages.json").read_text()
    # "which parameters produced the model in production": the stage names the run
    assert main(["runs", "show", "production", "--runs-dir", str(runs), "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["id"] == second.id and shown["parameters"]["seed"] == 2
    assert audit.verify(runs).ok


def test_only_a_run_that_finished_ok_is_promoted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    failed = fake_run(runs, "20261206T100100Z-cccccc", status="failed")
    assert main(["runs", "promote", failed.id, "--runs-dir", str(runs)]) == 2
    assert "has status failed; only a run that finished ok can be promoted" in capsys.readouterr().err
    assert not (runs / "stages.json").exists() and not (runs / "audit.jsonl").exists()
    assert main(["runs", "promote", failed.id, "--runs-dir", str(runs), "--stage", "Prod uction"]) == 2
    assert "cannot name a stage" in capsys.readouterr().err


def test_a_promoted_run_that_is_gone_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    record = fake_run(runs, "20261206T100100Z-dddddd")
    fake_run(runs, "20261206T100200Z-eeeeee", seed=2)
    assert main(["runs", "promote", record.id, "--runs-dir", str(runs), "--stage", "staging"]) == 0
    for path in sorted(record.directory.iterdir()):  # type: ignore[union-attr]
        path.unlink()
    record.directory.rmdir()  # type: ignore[union-attr]
    capsys.readouterr()
    assert main(["runs", "show", "staging", "--runs-dir", str(runs)]) == 2
    assert f"the run promoted to staging ({record.id}) is gone" in capsys.readouterr().err
