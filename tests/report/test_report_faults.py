"""Faults the runs report survives (reliability.md section 9: scenarios 51, 53, 55, 59)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from report_helpers import make_run, make_sweep

from nb2prod.report import write_report


def test_scenario_59_control_characters_and_lone_surrogates_in_names_are_shown_escaped(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    name = "acc\x1b[31m\u202e\ud800"
    for index in range(2):
        record = make_run(runs, index, parameters={"p\x07": f"v{index}\x1b]0;title\x07"}, metrics={"NAME": float(index)})
        path = record.directory / "run.json"  # a lone surrogate cannot be written as UTF-8: as JSON's \\ud800 escape it can
        path.write_text(path.read_text(encoding="utf-8").replace('"NAME"', json.dumps(name)), encoding="utf-8")
    result = write_report(tmp_path / "report.html", runs_dir=runs)
    raw = result.path.read_bytes()
    text = raw.decode("utf-8")  # it encodes: no lone surrogate reached the file
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "acc\\x1b[31m\\u202e\\ud800" in text
    assert 'data-metric="acc\\x1b[31m\\u202e\\ud800"' in text


def test_scenario_55_a_damaged_record_is_listed_and_the_others_reported(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_sweep(runs, count=2)
    bad = runs / "train" / "20261128T120000Z-bad000"
    bad.mkdir()
    (bad / "run.json").write_text(json.dumps({"schema": "nb2prod.run/1", "id": "x", "notebook": 3, "status": "ok", "started": "s"}))
    result = write_report(tmp_path / "report.html", runs_dir=runs, notebooks=False)
    text = result.path.read_text(encoding="utf-8")
    assert len(result.data.records) == 2 and [d.id for d in result.data.damaged] == [bad.name]
    assert f"{bad / 'run.json'}: damaged" not in text and "Damaged records (1)" in text and bad.name in text


def test_scenario_53_a_run_whose_process_died_shows_as_interrupted(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    record = make_run(runs, 1, status="running", metrics={"m": 1.0})
    path = record.directory / "run.json"
    stored = json.loads(path.read_text(encoding="utf-8"))
    stored["runner"] = {"pid": 2**22 + 1, "host": os.uname().nodename, "process": None}  # no such pid
    path.write_text(json.dumps(stored), encoding="utf-8")
    result = write_report(tmp_path / "report.html", runs_dir=runs, notebooks=False)
    assert result.data.records[0].status == "interrupted"
    assert 'class="status status-interrupted"' in result.path.read_text(encoding="utf-8")


def test_scenario_51_a_fifo_named_output_ipynb_is_not_read(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _, other = make_sweep(runs, count=2)
    other.output_path.unlink()
    os.mkfifo(other.output_path)  # reading it would block forever
    result = write_report(tmp_path / "report.html", runs_dir=runs)
    assert result.rendered == 1 and other.id in result.missing


def test_scenario_46_secrets_in_an_older_executed_notebook_are_masked_in_its_page(tmp_path: Path) -> None:
    """A run saved before nb2prod masked secrets: its run.json and output.ipynb hold the value; the report shows neither."""
    runs = tmp_path / "runs"
    secret, token = "correct-horse-battery-staple-42", "ghp_" + "A1b2C3d4E5" * 3 + "F6g7H8"  # a GitHub token: secret by its shape
    record = make_run(runs, 1, parameters={"db_password": "PLACEHOLDER"}, metrics={"m": 1.0})
    path = record.directory / "run.json"
    path.write_text(path.read_text(encoding="utf-8").replace('"***"', json.dumps(secret)), encoding="utf-8")
    notebook = json.loads(record.output_path.read_text(encoding="utf-8"))
    notebook["cells"][1]["source"] = [f"db_password = {secret!r}\n", "print(db_password, token)"]
    notebook["cells"][1]["outputs"][0]["text"] = [f"connecting with {secret} and {token}\n"]
    record.output_path.write_text(json.dumps(notebook), encoding="utf-8")
    result = write_report(tmp_path / "report.html", runs_dir=runs)
    page = (tmp_path / "report_files" / f"{record.id}.html").read_text(encoding="utf-8")
    assert secret not in page and token not in page and "connecting with *** and ***" in page
    report = result.path.read_text(encoding="utf-8")
    assert secret not in report and token not in report
