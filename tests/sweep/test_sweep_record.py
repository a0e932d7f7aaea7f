"""sweep.json: where it lives (never taken for a run), how it reads back, and how sweeps are found; executors by entry point."""

from __future__ import annotations

import builtins
import json
from pathlib import Path
from typing import Any

import pytest

from nb2prod.cli import main
from nb2prod.errors import RecordError, UsageError
from nb2prod.records import RunRecord, scan_records, write_record
from nb2prod.runs import list_runs
from nb2prod.sweep import load_executor
from nb2prod.sweep.local import LocalExecutor
from nb2prod.sweep.record import find_sweep, new_sweep, read_sweep, write_sweep


def make_sweep(runs_dir: Path, sweep_id: str = "sweep-20261206T100000Z-abcdef") -> Path:
    record = new_sweep(
        sweep_id,
        "train.ipynb",
        [{"lr": 0.1, "api_key": "hunter2"}, {"lr": 0.2, "api_key": "hunter2"}],
        runs_dir=runs_dir,
        executor={"name": "local", "workers": 2},
        options={},
        swept=["lr"],
    )
    record.sets[0].runs.append("20261206T100001Z-aaaaaa")
    record.sets[0].status = "ok"
    return write_sweep(record)


def test_sweep_json_lives_where_runs_list_does_not_look(tmp_path: Path) -> None:
    path = make_sweep(tmp_path)
    assert path == tmp_path / ".sweeps" / "sweep-20261206T100000Z-abcdef" / "sweep.json"
    directory = tmp_path / "train" / "20261206T100001Z-aaaaaa"
    directory.mkdir(parents=True)
    write_record(RunRecord("20261206T100001Z-aaaaaa", "train.ipynb", "", {}, "ok", "2026-12-06T10:00:01Z", directory=directory))
    assert [entry.id for entry in scan_records(tmp_path)] == ["20261206T100001Z-aaaaaa"]  # no damaged entry for the sweep
    assert [entry.id for entry in list_runs(tmp_path)] == ["20261206T100001Z-aaaaaa"]


def test_sweep_json_reads_back_with_secrets_redacted(tmp_path: Path) -> None:
    path = make_sweep(tmp_path)
    stored = json.loads(path.read_text())
    assert stored["schema"] == "nb2prod.sweep/1" and stored["sets"][0]["parameters"] == {"lr": 0.1, "api_key": "***"}
    record = read_sweep(path.parent)
    assert record.status == "running" and [entry.status for entry in record.sets] == ["ok", "pending"]
    assert record.run_ids == ["20261206T100001Z-aaaaaa"] and record.executor == {"name": "local", "workers": 2}


def test_a_running_sweep_whose_process_is_gone_reads_interrupted(tmp_path: Path) -> None:
    path = make_sweep(tmp_path)
    data = json.loads(path.read_text())
    data["runner"]["pid"] = 2**22 + 12345  # no such process
    data["runner"]["process"] = None
    path.write_text(json.dumps(data))
    assert read_sweep(path).status == "interrupted"


def test_find_sweep_by_id_prefix_latest_and_path(tmp_path: Path) -> None:
    make_sweep(tmp_path)
    newer = make_sweep(tmp_path, "sweep-20261207T100000Z-123456")
    assert find_sweep("latest", tmp_path).id == "sweep-20261207T100000Z-123456"
    assert find_sweep("20261206", tmp_path).id == "sweep-20261206T100000Z-abcdef"
    assert find_sweep(str(newer), tmp_path).id == "sweep-20261207T100000Z-123456"
    with pytest.raises(RecordError, match="matches 2 sweeps"):
        find_sweep("sweep-2026", tmp_path)
    with pytest.raises(RecordError, match="no sweep 'nosuch'"):
        find_sweep("nosuch", tmp_path)


def test_executors_are_found_by_entry_point_and_unknown_ones_refused() -> None:
    assert isinstance(load_executor("local", workers=3), LocalExecutor)
    assert load_executor("local", workers=3).describe() == {"name": "local", "workers": 3}
    with pytest.raises(UsageError, match="unknown executor 'slurm'") as raised:
        load_executor("slurm")
    assert "dask, local" in str(raised.value)


def test_the_dask_executor_without_dask_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_import = builtins.__import__

    def no_distributed(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError("No module named 'distributed'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    notebook = Path(__file__).resolve().parents[1] / "data" / "sweep" / "sleeps.ipynb"
    code = main(["sweep", str(notebook), "-g", "x=1,2", "--executor", "dask", "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().endswith("error: the dask executor needs dask.distributed, which is not installed (pip install 'nb2prod[dask]')")
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "runs").exists()
