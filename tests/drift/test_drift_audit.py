"""Drift decisions on the audit trail: the result document first, then the line; crashes in between; the production run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nb2prod import audit
from nb2prod.cli import main
from nb2prod.records import RunRecord, write_record


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(11)
    pd.DataFrame({"age": rng.normal(40, 10, 3000), "plan": rng.choice(["a", "b"], 3000)}).to_csv("train.csv", index=False)
    pd.DataFrame({"age": rng.normal(40, 10, 2000), "plan": rng.choice(["a", "b"], 2000)}).to_csv("same.csv", index=False)
    pd.DataFrame({"age": rng.normal(48, 10, 2000), "plan": rng.choice(["a", "b"], 2000)}).to_csv("shifted.csv", index=False)
    assert main(["profile", "train.csv", "-o", "profile.json"]) == 0
    return tmp_path


def test_a_decision_stores_its_result_then_a_line_pointing_to_it(project: Path) -> None:
    assert main(["drift", "profile.json", "shifted.csv", "--report", "drift.html"]) == 1
    (line,) = audit.entries("runs")
    assert line["event"] == "drift" and line["decision"] == "fail" and line["exit_code"] == 1 and line["failed"] == ["age"]
    assert line["current"] == [{"path": "shifted.csv", "sha256": audit.sha256_file("shifted.csv")}]
    assert line["reference"]["sha256"] == audit.sha256_file("profile.json") and line["reference"]["run"] is None
    assert line["summary"]["fail"] == 1 and line["fail_on"] == ["fail"] and line["rows"] == 2000
    report = Path("runs") / line["report"]
    assert audit.sha256_file(report) == line["report_sha256"]
    assert json.loads(report.read_text())["schema"] == "nb2prod.drift/1"
    assert line["html_report"] == {"path": "drift.html", "sha256": audit.sha256_file("drift.html")}
    # no data values, only hashes, counts, names and the decision (the time stamp, whose seconds may read "40.", left out)
    text = json.dumps({key: value for key, value in line.items() if key != "at"})
    assert "40." not in text and "48." not in text
    assert main(["drift", "profile.json", "same.csv", "--no-audit"]) == 0
    assert len(audit.entries("runs")) == 1


CRASH = textwrap.dedent(
    """
    import os, sys
    from nb2prod import audit, atomic
    from nb2prod.cli import main
    if sys.argv[1] == "before-line":
        audit.Log.append = lambda *a, **k: os._exit(9)
    else:
        real = atomic.os.replace
        def die(src, dst):
            if str(dst).endswith(".json") and "drift-checks" in str(dst):
                os._exit(9)
            return real(src, dst)
        atomic.os.replace = die
    main(["drift", "profile.json", "shifted.csv"])
    """
)


def reports(root: Path) -> list[Path]:
    return sorted((root / "runs" / audit.DRIFT_FOLDER).glob("*.json")) if (root / "runs" / audit.DRIFT_FOLDER).exists() else []


def test_a_crash_between_report_and_line_leaves_no_line_pointing_at_a_missing_report(project: Path) -> None:
    """The order is report (atomic) first, then the line: a crash in between leaves an unreferenced report, nothing worse."""
    assert main(["drift", "profile.json", "same.csv"]) == 0
    assert subprocess.run([sys.executable, "-c", CRASH, "before-line"], timeout=120).returncode == 9
    assert len(reports(project)) == 2 and len(audit.entries("runs")) == 1  # the second report exists, no line names it
    assert subprocess.run([sys.executable, "-c", CRASH, "during-report"], timeout=120).returncode == 9
    assert len(reports(project)) == 2  # a crash while the report is written leaves no report (and no line)
    assert all(json.loads(path.read_text())["schema"] == "nb2prod.drift/1" for path in reports(project))  # none half-written
    for line in audit.entries("runs"):
        assert (project / "runs" / line["report"]).is_file()
    assert audit.verify("runs").ok


def fake_run(runs: Path, run_id: str, status: str = "ok", **extra: object) -> RunRecord:
    directory = runs / "train" / run_id
    directory.mkdir(parents=True)
    record = RunRecord(
        id=run_id,
        notebook="train.ipynb",
        notebook_sha256="ab" * 32,
        parameters={"seed": 1, "api_key": "sk-live-0123456789abcdef0123"},
        status=status,
        started="2026-12-06T10:00:00.000Z",
        finished="2026-12-06T10:01:00.000Z",
        duration_s=60.0,
        metrics={"accuracy": 0.9},
        directory=directory,
        **extra,  # type: ignore[arg-type]
    )
    write_record(record)
    return record


def test_drift_checks_the_production_run_when_no_run_is_given(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = fake_run(project / "runs", "20261206T100000Z-aaaaaa")
    shutil_profile = record.directory / "profile-train.json"  # type: ignore[operator]
    shutil_profile.write_bytes(Path("profile.json").read_bytes())
    stored = json.loads((record.directory / "run.json").read_text())  # type: ignore[operator]
    stored["profiles"] = {"train": {"path": "profile-train.json", "sha256": "sha256:" + audit.sha256_file(shutil_profile)}}
    (record.directory / "run.json").write_text(json.dumps(stored))  # type: ignore[operator]
    assert main(["drift", "shifted.csv"]) == 2
    assert "error: no run is promoted to production" in capsys.readouterr().err
    assert main(["runs", "promote", record.id]) == 0
    assert main(["drift", "shifted.csv"]) == 1
    assert main(["drift", "production", "same.csv"]) == 0
    lines = audit.entries("runs")
    assert [line["event"] for line in lines] == ["promote", "drift", "drift"]
    assert all(line["reference"]["run"] == record.id for line in lines[1:])
