"""``nb2prod runs report``: the command-line adapter (``nb2prod.cli.runs``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_helpers import make_run, make_sweep

from nb2prod.cli import main


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_report_of_a_sweep_says_where_and_how_big(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_sweep(tmp_path / "runs", count=3)
    out = tmp_path / "r.html"
    code, stdout, stderr = cli(capsys, "runs", "report", "--sweep", "sweep-1", "--runs-dir", str(tmp_path / "runs"), "-o", str(out))
    assert code == 0 and stderr == ""
    assert re.fullmatch(
        rf"wrote {re.escape(str(out))} \(\d+ KB, 3 runs\) and 3 executed notebooks in {re.escape(str(tmp_path / 'r_files'))} \(\d+ KB\)\n",
        stdout,
    )
    assert out.is_file()


def test_report_of_named_runs_and_of_a_notebook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    records = make_sweep(runs, count=3)
    make_run(runs, 9, notebook="other.ipynb", metrics={"m": 1})
    out = tmp_path / "r.html"
    code, stdout, _ = cli(capsys, "runs", "report", records[0].id, "latest", "--runs-dir", str(runs), "-o", str(out), "--no-notebooks")
    assert code == 0 and ", 2 runs)\n" in stdout
    code, stdout, _ = cli(capsys, "runs", "report", "--notebook", "train", "--runs-dir", str(runs), "-o", str(out), "--no-notebooks")
    assert code == 0 and ", 3 runs)\n" in stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sweep", "nope"], r"runs: error: no runs of sweep 'nope' here \(`nb2prod runs list` shows the runs and their sweeps\)"),
        (["no-such-run"], r"runs: error: no run 'no-such-run' here \(`nb2prod runs list` shows the ids\)"),
        (["--sweep", "sweep-1", "latest"], r"error: give either --sweep or runs, not both"),
        (["--best", ""], r"error: --best needs a metric name \(for example --best accuracy or --best min:loss\)"),
    ],
)
def test_bad_selection_is_one_line_exit_2_and_nothing_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    make_sweep(tmp_path / "runs", count=2)
    code, stdout, stderr = cli(capsys, "runs", "report", *argv)
    assert code == 2 and stdout == ""
    assert re.fullmatch(message + "\n", stderr), stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]


def test_damaged_records_are_in_the_page_named_on_stderr_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    make_sweep(runs, count=2)
    bad = runs / "train" / "20261128T120000Z-bad000"
    bad.mkdir()
    (bad / "run.json").write_text("[]", encoding="utf-8")
    out = tmp_path / "r.html"
    code, stdout, stderr = cli(capsys, "runs", "report", "--runs-dir", str(runs), "-o", str(out), "--no-notebooks")
    assert code == 2 and ", 2 runs)" in stdout
    hint = "(pass a run id or the folder `nb2prod run` wrote; `nb2prod runs list` shows them)"
    assert stderr == f"{bad / 'run.json'}: error: not an nb2prod run record (schema None) {hint}\n"
    assert "Damaged records (1)" in out.read_text(encoding="utf-8")


def test_output_that_is_a_folder_is_refused_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_sweep(tmp_path / "runs", count=1)
    (tmp_path / "out").mkdir()
    code, stdout, stderr = cli(capsys, "runs", "report", "--runs-dir", str(tmp_path / "runs"), "-o", str(tmp_path / "out"))
    assert code == 2 and stdout == ""
    assert stderr == f"{tmp_path / 'out'}: error: not a file: the report is one HTML file (give a file name, for example -o report.html)\n"
    assert not (tmp_path / "out_files").exists() and list((tmp_path / "out").iterdir()) == []


def test_output_in_a_new_folder_makes_the_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_sweep(tmp_path / "runs", count=1)
    out = tmp_path / "reports" / "r.html"
    code, _, _ = cli(capsys, "runs", "report", "--runs-dir", str(tmp_path / "runs"), "-o", str(out), "--no-notebooks")
    assert code == 0 and out.is_file()
