"""The runs of a sweep: each run's ``run.json`` names its sweep; ``sweep_runs`` and ``list_runs(sweep=…)`` find them."""

from __future__ import annotations

from pathlib import Path

from nb2prod.records import RunRecord, write_record
from nb2prod.runs import list_runs, sweep_runs

SWEEP = "sweep-20261128T085959Z-abcdef"
OTHER = "sweep-20261128T115959Z-fedcba"


def write_run(runs_dir: Path, run_id: str, sweep: str | None, status: str = "ok") -> None:
    directory = runs_dir / "train" / run_id
    directory.mkdir(parents=True)
    started = f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T{run_id[9:11]}:{run_id[11:13]}:{run_id[13:15]}Z"
    write_record(
        RunRecord(
            id=run_id,
            notebook="train.ipynb",
            notebook_sha256="",
            parameters={},
            status=status,
            started=started,
            sweep=sweep,
            directory=directory,
        )
    )


def make_runs(root: Path) -> None:
    write_run(root, "20261128T090000Z-aaaaaa", SWEEP)
    write_run(root, "20261128T090001Z-bbbbbb", None)
    write_run(root, "20261128T090002Z-cccccc", SWEEP, status="failed")
    write_run(root, "20261128T120000Z-dddddd", OTHER)
    damaged = root / "train" / "20261128T090003Z-eeeeee"
    damaged.mkdir()
    (damaged / "run.json").write_text("{", encoding="utf-8")


def test_sweep_runs_are_the_runs_naming_the_sweep_oldest_first(tmp_path: Path) -> None:
    make_runs(tmp_path)
    assert [record.id for record in sweep_runs(SWEEP, tmp_path)] == ["20261128T090000Z-aaaaaa", "20261128T090002Z-cccccc"]
    assert [record.id for record in sweep_runs(OTHER, tmp_path)] == ["20261128T120000Z-dddddd"]
    assert sweep_runs("sweep-nosuch", tmp_path) == [] and sweep_runs(SWEEP, tmp_path / "missing") == []


def test_list_runs_filters_by_sweep_and_leaves_damaged_records_out(tmp_path: Path) -> None:
    make_runs(tmp_path)
    assert [r.id for r in list_runs(tmp_path, sweep=SWEEP)] == ["20261128T090002Z-cccccc", "20261128T090000Z-aaaaaa"]
    assert [r.id for r in list_runs(tmp_path, sweep=SWEEP, status="ok")] == ["20261128T090000Z-aaaaaa"]
    assert len(list_runs(tmp_path)) == 5  # without the filter, the damaged record is listed


def test_compare_takes_a_sweep_oldest_first(tmp_path: Path, capsys) -> None:
    from nb2prod.cli import main

    make_runs(tmp_path)
    assert main(["runs", "compare", "--sweep", SWEEP, "--runs-dir", str(tmp_path), "--format", "json"]) == 0
    import json

    compared = json.loads(capsys.readouterr().out)
    assert [run["id"] for run in compared["runs"]] == ["20261128T090000Z-aaaaaa", "20261128T090002Z-cccccc"]


def test_compare_wants_runs_or_a_sweep_and_names_an_empty_sweep(tmp_path: Path, capsys) -> None:
    from nb2prod.cli import main

    make_runs(tmp_path)
    assert main(["runs", "compare", "--runs-dir", str(tmp_path)]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["runs", "compare", "20261128T090000Z", "--sweep", SWEEP, "--runs-dir", str(tmp_path)]) == 2
    capsys.readouterr()
    assert main(["runs", "compare", "--sweep", "sweep-nosuch", "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no runs of sweep sweep-nosuch" in err and err.startswith(str(tmp_path))
