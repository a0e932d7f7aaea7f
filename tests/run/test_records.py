"""Reading run records strictly: every field of ``run.json`` checked on read, damaged records kept in view.

Reliability scenario 55: one damaged run record must neither break the views of the whole runs
folder (``"parameters": null`` used to end ``runs list`` with an internal error) nor vanish from
them (a truncated ``run.json`` used to be skipped without a word).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from nb2prod.errors import RecordError
from nb2prod.records import DamagedRecord, RunRecord, find_record, iter_records, read_record, scan_records, write_record

RUN_ID = "20261128T090000Z-aaaaaa"


def stored(**changes: Any) -> dict[str, Any]:
    """A complete, valid stored record with ``changes`` applied (None as a value of ``changes`` removes nothing)."""
    record = RunRecord(
        id=RUN_ID,
        notebook="notebooks/train.ipynb",
        notebook_sha256="0" * 64,
        parameters={"seed": 0},
        status="ok",
        started="2026-11-28T09:00:00Z",
        finished="2026-11-28T09:00:12Z",
        duration_s=12.3,
        error={"cell_index": 2, "cell_id": "abc", "ename": "ValueError", "evalue": "bad"},
        metrics={"accuracy": 0.9},
        git={"commit": "1" * 40, "dirty": False},
        environment={"python": "3.11.7", "platform": "Linux", "packages": {"numpy": "1.26.4"}},
        inputs={"data.csv": "sha256:" + "2" * 64},
        kernel="python3",
        nb2prod_version="0.1.0",
    )
    data = record.to_json()
    for dotted, value in changes.items():
        *outer, key = dotted.split("__")
        target = data
        for part in outer:
            target = target[part]
        target[key] = value
    return data


def write_json(folder: Path, data: Any, run_id: str = RUN_ID) -> Path:
    directory = folder / "train" / run_id
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "run.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


# (field, a wrong value, what the error says). Nested fields are written outer__inner.
WRONG = [
    ("id", 3, "'id' is the number 3, expected a string"),
    ("id", "", "'id' is empty"),
    ("notebook", None, "'notebook' is null, expected a string"),
    ("notebook_sha256", 1, "'notebook_sha256' is the number 1, expected a string"),
    ("parameters", None, "'parameters' is null, expected an object"),
    ("parameters", [1], "'parameters' is a list, expected an object"),
    ("status", 7, "'status' is the number 7, expected a string"),
    ("started", None, "'started' is null, expected a string"),
    ("finished", 5, "'finished' is the number 5, expected a string or null"),
    ("duration_s", "12", "'duration_s' is the string \"12\", expected a number or null"),
    ("duration_s", True, "'duration_s' is true, expected a number or null"),
    ("error", "boom", "'error' is the string \"boom\", expected an object or null"),
    ("error__cell_index", "3", "'error.cell_index' is the string \"3\", expected an integer or null"),
    ("error__evalue", ["x"], "'error.evalue' is a list, expected a string or null"),
    ("metrics", None, "'metrics' is null, expected an object"),
    ("git", "main", "'git' is the string \"main\", expected an object or null"),
    ("git__commit", 5, "'git.commit' is the number 5, expected a string or null"),
    ("git__dirty", "no", "'git.dirty' is the string \"no\", expected true or false or null"),
    ("environment", None, "'environment' is null, expected an object"),
    ("environment__python", 3.11, "'environment.python' is the number 3.11, expected a string"),
    ("environment__packages", [], "'environment.packages' is a list, expected an object of strings"),
    ("environment__packages__numpy", 1, "'environment.packages.numpy' is the number 1, expected a string"),
    ("inputs", {"data.csv": None}, "'inputs.data.csv' is null, expected a string"),
    ("artifacts", {"model.bin": 1}, "'artifacts.model.bin' is the number 1, expected a string"),
    ("profiles", {"train": "profile-train.json"}, "'profiles.train' is the string \"profile-train.json\", expected an object"),
    ("runner", "me", "'runner' is the string \"me\", expected an object or null"),
    ("given", ["seed", 1], "'given' is a list, expected a list of strings or null"),
    ("duration_s", "sk-proj-" + "Ab3dEf6hIj" * 4, "'duration_s' is the string \"***\", expected a number or null"),
    ("kernel", 3, "'kernel' is the number 3, expected a string or null"),
    ("nb2prod_version", None, "'nb2prod_version' is null, expected a string"),
    ("sweep", 5, "'sweep' is the number 5, expected a string or null"),
]


@pytest.mark.parametrize(("field", "value", "message"), WRONG, ids=[f"{f}={v!r}" for f, v, _ in WRONG])
def test_scenario_55_every_field_is_type_checked_on_read(tmp_path: Path, field: str, value: Any, message: str) -> None:
    path = write_json(tmp_path, stored(**{field: value}))
    with pytest.raises(RecordError) as raised:
        read_record(path)
    assert str(raised.value) == f"{path}: error: damaged run record: {message} (repair the file or delete its run folder)"


def test_the_table_of_wrong_values_covers_every_stored_field() -> None:
    """A field added to run.json needs a row in WRONG (its type is then checked by record_problem).

    Taken from the dataclass, not from a stored record: fields stored only when set (runner, sweep) count too.
    """
    fields = set(RunRecord.__dataclass_fields__) - {"schema", "directory", "secrets"}  # schema: its own check; the others: not stored
    assert fields <= {field.split("__")[0] for field, _, _ in WRONG}


def test_a_valid_record_with_every_optional_field_empty_reads(tmp_path: Path) -> None:
    data = stored(finished=None, duration_s=7, error=None, git=None, kernel=None, metrics={}, inputs={})
    data["environment"] = {}
    data["future_field"] = {"from": "a newer nb2prod"}
    record = read_record(write_json(tmp_path, data))
    assert record.duration_s == 7 and record.git is None and record.error is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"schema": "nb2prod.run/1", "id": "x", "par', "not valid JSON: Unterminated string"),
        ("", "not valid JSON: Expecting value at line 1 column 1"),
        ("[]", "not an nb2prod run record (schema None)"),
        ('{"schema": "mlflow"}', "not an nb2prod run record (schema 'mlflow')"),
        ('{"schema": "nb2prod.run/1", "id": "x"}', "no notebook, started, status"),
        (b"\xff\xfe{}", "cannot read it"),
        ("[" * 100_000, "cannot read it"),  # nested too deep for the JSON parser: not an internal error
    ],
)
def test_scenario_55_unreadable_records_are_damaged_not_skipped(tmp_path: Path, content: str | bytes, reason: str) -> None:
    good = write_json(tmp_path, stored(id="20261128T080000Z-bbbbbb"), run_id="20261128T080000Z-bbbbbb")
    bad = tmp_path / "train" / RUN_ID / "run.json"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    entries = scan_records(tmp_path)
    assert [type(entry) for entry in entries] == [DamagedRecord, RunRecord]  # newest first, by the folder's time
    damaged = entries[0]
    assert isinstance(damaged, DamagedRecord)
    assert damaged.path == bad and damaged.id == RUN_ID and reason in damaged.reason
    assert str(damaged.error).startswith(f"{bad}: error: ") and reason in str(damaged.error)
    assert [record.id for record in iter_records(tmp_path)] == [read_record(good).id]


def test_a_fifo_named_run_json_is_damaged_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "train" / RUN_ID / "run.json"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    [damaged] = scan_records(tmp_path)
    assert isinstance(damaged, DamagedRecord) and damaged.reason == "not a regular file"


def test_scenario_55_find_record_names_the_damaged_file(tmp_path: Path) -> None:
    write_json(tmp_path, stored(id="20261128T080000Z-bbbbbb"), run_id="20261128T080000Z-bbbbbb")
    bad = write_json(tmp_path, stored(parameters=None))
    for reference in (RUN_ID, "20261128T09", "latest", str(bad), str(bad.parent)):
        with pytest.raises(RecordError, match="'parameters' is null") as raised:
            find_record(reference, tmp_path)
        assert raised.value.path == str(bad)
    assert find_record("20261128T08", tmp_path).id == "20261128T080000Z-bbbbbb"
    with pytest.raises(RecordError, match="matches 2 runs") as raised:
        find_record("20261128T", tmp_path)
    assert raised.value.path == str(tmp_path)


def test_written_records_read_back(tmp_path: Path) -> None:
    directory = tmp_path / "train" / RUN_ID
    directory.mkdir(parents=True)
    record = RunRecord.from_json(stored(), directory=directory)
    write_record(record)
    assert read_record(directory) == record


def test_the_sweep_of_a_run_is_stored_only_when_set_and_read_back(tmp_path: Path) -> None:
    """A run of a sweep names the sweep in run.json; a plain run's run.json has no ``sweep`` key (as before)."""
    plain = tmp_path / "train" / RUN_ID
    plain.mkdir(parents=True)
    write_record(RunRecord.from_json(stored(), directory=plain))
    assert "sweep" not in json.loads((plain / "run.json").read_text()) and read_record(plain).sweep is None
    swept = tmp_path / "train" / "20261128T080000Z-bbbbbb"
    swept.mkdir(parents=True)
    write_record(RunRecord.from_json(stored(id=swept.name, sweep="sweep-20261128T075959Z-cccccc"), directory=swept))
    assert json.loads((swept / "run.json").read_text())["sweep"] == "sweep-20261128T075959Z-cccccc"
    assert read_record(swept).sweep == "sweep-20261128T075959Z-cccccc"
