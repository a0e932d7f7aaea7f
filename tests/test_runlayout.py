"""``runlayout``: recognising a run's folder and its executed notebook (reliability.md scenario 47)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nb2prod import records, runlayout
from nb2prod.runlayout import is_run_folder, is_run_output

RUN_ID = "20261206T101500Z-3fa2c1"


def test_names_agree_with_the_writer_of_run_records() -> None:
    """records.py writes the layout runlayout recognises: a rename in one must reach the other."""
    assert (runlayout.DEFAULT_RUNS_DIR, runlayout.RECORD_FILE, runlayout.OUTPUT_FILE) == (
        records.DEFAULT_RUNS_DIR,
        records.RECORD_FILE,
        records.OUTPUT_FILE,
    )


def record(folder: Path, schema: str = records.SCHEMA) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(json.dumps({"schema": schema, "id": folder.name}), encoding="utf-8")
    return folder


def test_a_folder_with_an_nb2prod_record_is_a_run_folder(tmp_path: Path) -> None:
    folder = record(tmp_path / "anywhere")
    assert is_run_folder(folder) and is_run_folder(folder, ["run.json", "output.ipynb"])
    assert not is_run_folder(folder, ["output.ipynb"]), "the listing given is trusted: no run.json, no record"


def test_a_folder_named_like_a_run_id_is_a_run_folder_before_its_record_exists(tmp_path: Path) -> None:
    """A run still going, or killed, has its output.ipynb and no run.json yet."""
    folder = tmp_path / RUN_ID
    folder.mkdir()
    assert is_run_folder(folder)


@pytest.mark.parametrize("content", ['{"schema": "my-tool/2"}', '{"epochs": 3}', "not json", "[]"])
def test_a_run_json_of_the_users_own_does_not_make_a_run_folder(tmp_path: Path, content: str) -> None:
    (tmp_path / "run.json").write_text(content, encoding="utf-8")
    assert not is_run_folder(tmp_path)


def test_run_output_by_place(tmp_path: Path) -> None:
    run = record(tmp_path / "custom-runs" / "p" / "r1")
    assert is_run_output(run / "output.ipynb")
    assert not is_run_output(run / "other.ipynb"), "only the executed notebook is the run's"
    assert not is_run_output(tmp_path / "output.ipynb"), "a user's notebook called output.ipynb"


def test_a_link_to_a_run_output_is_one(tmp_path: Path) -> None:
    run = record(tmp_path / "runs" / "p" / "r1")
    (run / "output.ipynb").write_text("{}", encoding="utf-8")
    link = tmp_path / "latest.ipynb"
    link.symlink_to(run / "output.ipynb")
    assert is_run_output(link)


def test_run_output_by_papermill_metadata(tmp_path: Path) -> None:
    """Moved out of its run folder: papermill's metadata still names the run folder it was written to."""
    written = {"papermill": {"input_path": "p.ipynb", "output_path": f"runs/p/{RUN_ID}/output.ipynb", "parameters": {}}}
    assert is_run_output(tmp_path / "output.ipynb", written)
    by_hand = {"papermill": {"input_path": "p.ipynb", "output_path": "work/output.ipynb"}}
    assert not is_run_output(tmp_path / "output.ipynb", by_hand), "papermill run by hand: the user's notebook"
    assert not is_run_output(tmp_path / "output.ipynb", {"papermill": "odd"})
    assert not is_run_output(tmp_path / "output.ipynb", None)


def test_windows_separators_in_papermill_metadata(tmp_path: Path) -> None:
    written = {"papermill": {"output_path": f"runs\\p\\{RUN_ID}\\output.ipynb"}}
    assert is_run_output(tmp_path / "output.ipynb", written)


def test_a_run_json_that_is_not_a_file_is_not_read(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs")
    os.mkfifo(tmp_path / "run.json")
    assert not is_run_folder(tmp_path)  # would wait forever if the FIFO were opened
