"""``nb2prod runs list|show|compare|check`` on run records written by hand (no kernel needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nb2prod.cli import main
from nb2prod.errors import RecordError, UsageError
from nb2prod.records import RunRecord, find_record, write_record
from nb2prod.runs import (
    MISSING,
    check_run,
    compare_runs,
    format_duration,
    format_value,
    key_parameters,
    list_runs,
    notebook_matches,
    parse_metric_expression,
)

TRAIN = "notebooks/train.ipynb"
EVAL = "notebooks/eval.ipynb"
# Oldest first; ids start with their UTC timestamp, so this is also the order of the ids.
RUNS: list[dict[str, Any]] = [
    {"run_id": "20261128T090000Z-aaaaaa", "notebook": TRAIN, "parameters": {"seed": 0, "n_estimators": 100}, "metrics": {"accuracy": 0.9}},
    {"run_id": "20261128T100000Z-bbbbbb", "notebook": TRAIN, "parameters": {"seed": 1, "n_estimators": 100}, "metrics": {"accuracy": 0.95}},
    {
        "run_id": "20261128T110000Z-cccccc",
        "notebook": EVAL,
        "parameters": {"split": "test"},
        "metrics": {"auc": 0.8, "label": "rf", "converged": True},
    },
    {
        "run_id": "20261129T080000Z-dddddd",
        "notebook": TRAIN,
        "parameters": {"seed": 2, "n_estimators": 300},
        "metrics": {"accuracy": 0.5},
        "status": "failed",
        "error": {"cell_index": 4, "cell_id": "abc", "ename": "ValueError", "evalue": "bad input"},
    },
    {"run_id": "20261129T090000Z-dddeee", "notebook": EVAL, "parameters": {"split": "val"}, "metrics": {}, "status": "timeout"},
]
NEWEST_FIRST = [run["run_id"] for run in reversed(RUNS)]


def write_run(runs_dir: Path, run_id: str, notebook: str = TRAIN, **fields: Any) -> RunRecord:
    """Write a plausible run record ``runs_dir/<stem>/<run_id>/run.json`` and return it."""
    directory = runs_dir / Path(notebook).stem / run_id
    directory.mkdir(parents=True)
    values: dict[str, Any] = {
        "notebook_sha256": "0" * 64,
        "parameters": {},
        "status": "ok",
        "started": "2026-11-28T09:00:00Z",
        "finished": "2026-11-28T09:00:12Z",
        "duration_s": 12.3,
        "git": {"commit": "1" * 40, "dirty": False},
        "environment": {"python": "3.11.7", "platform": "Linux", "packages": {"numpy": "1.26.4"}},
        "kernel": "python3",
        "nb2prod_version": "0.1.0",
    }
    values.update(fields)
    record = RunRecord(id=run_id, notebook=notebook, directory=directory, **values)
    write_record(record)
    return record


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    for run in RUNS:
        write_run(root, **run)
    return root


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- list -----------------------------------------------------------------------------------------


def test_list_runs_newest_first(runs_dir: Path) -> None:
    assert [record.id for record in list_runs(runs_dir)] == NEWEST_FIRST


@pytest.mark.parametrize("name", ["train", "train.ipynb", TRAIN, "./notebooks/../notebooks/train.ipynb"])
def test_list_filters_by_notebook_stem_name_or_path(runs_dir: Path, name: str) -> None:
    assert [record.id for record in list_runs(runs_dir, notebook=name)] == [
        "20261129T080000Z-dddddd",
        "20261128T100000Z-bbbbbb",
        "20261128T090000Z-aaaaaa",
    ]


def test_list_filters_by_status_and_limit(runs_dir: Path) -> None:
    assert [r.id for r in list_runs(runs_dir, status="ok")] == [
        "20261128T110000Z-cccccc",
        "20261128T100000Z-bbbbbb",
        "20261128T090000Z-aaaaaa",
    ]
    assert [r.id for r in list_runs(runs_dir, status="ok", notebook="train", limit=1)] == ["20261128T100000Z-bbbbbb"]
    assert list_runs(runs_dir, status="interrupted") == []
    assert list_runs(runs_dir, notebook="nosuch") == []


def test_list_refuses_an_unknown_status_and_a_zero_limit(runs_dir: Path) -> None:
    with pytest.raises(UsageError, match="unknown status"):
        list_runs(runs_dir, status="done")
    with pytest.raises(UsageError, match="at least 1"):
        list_runs(runs_dir, limit=0)


def test_notebook_matches_the_run_folder_name(runs_dir: Path) -> None:
    record = list_runs(runs_dir)[0]
    assert notebook_matches(record, "eval") and not notebook_matches(record, "train")


def test_key_parameters_put_the_differing_ones_first(tmp_path: Path) -> None:
    records = [
        write_run(tmp_path, "20261128T090000Z-000001", parameters={"a": 1, "b": 2, "c": "x"}),
        write_run(tmp_path, "20261128T090000Z-000002", parameters={"a": 1, "b": 3, "c": "x", "d": True}),
    ]
    assert key_parameters(records) == ["b", "d", "a", "c"]


def test_cli_list_table(runs_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "runs", "list", "--runs-dir", str(runs_dir))
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["id", "notebook", "status", "duration", "parameters", "metrics"]
    assert [line.split()[0] for line in lines[1:]] == NEWEST_FIRST
    assert all(line == line.rstrip() for line in lines)
    row = next(line for line in lines if line.startswith("20261128T100000Z-bbbbbb"))
    assert "notebooks/train.ipynb" in row and " ok " in row and "12.3 s" in row
    assert "seed=1" in row and "n_estimators=100" in row and "accuracy=0.95" in row
    # the parameter that differs between the listed runs comes first
    assert row.index("seed=1") < row.index("n_estimators=100")


def test_cli_list_abbreviates_many_parameters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_run(tmp_path, "20261128T090000Z-000001", parameters={f"p{i}": i for i in range(7)}, metrics={"m": "x" * 100})
    code, out, _ = cli(capsys, "runs", "list", "--runs-dir", str(tmp_path))
    assert code == 0
    assert "p0=0 p1=1 p2=2 p3=3 +3" in out and "p4=" not in out
    assert "m=" + "x" * 15 + "…" in out


def test_cli_list_filters_and_json(runs_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "runs", "list", "--runs-dir", str(runs_dir), "--notebook", "eval", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert [run["id"] for run in data] == ["20261129T090000Z-dddeee", "20261128T110000Z-cccccc"]
    assert data[0]["status"] == "timeout" and data[0]["schema"] == "nb2prod.run/1"
    assert Path(data[0]["directory"]) == runs_dir / "eval" / "20261129T090000Z-dddeee"
    code, out, _ = cli(capsys, "runs", "list", "--runs-dir", str(runs_dir), "--status", "failed", "--limit", "5")
    assert code == 0 and [line.split()[0] for line in out.splitlines()[1:]] == ["20261129T080000Z-dddddd"]


def test_cli_list_no_match_says_so(runs_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "runs", "list", "--runs-dir", str(runs_dir), "--notebook", "train", "--status", "timeout")
    assert code == 0 and out == ""
    assert "no runs with notebook train and status timeout" in err
    code, out, _ = cli(capsys, "runs", "list", "--runs-dir", str(runs_dir), "--notebook", "nosuch", "--format", "json")
    assert code == 0 and json.loads(out) == []


@pytest.mark.parametrize("setup", ["missing", "empty"])
def test_cli_list_without_runs_is_not_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str) -> None:
    """An empty list is an answer, not a failure (like `git branch --list`): exit 0, a note on stderr, nothing on stdout."""
    runs = tmp_path / "runs"
    if setup != "missing":
        runs.mkdir()
    code, out, err = cli(capsys, "runs", "list", "--runs-dir", str(runs))
    assert code == 0 and out == ""
    assert err == f"{runs}: no runs yet (run a notebook with `nb2prod run NOTEBOOK`)\n"
    code, out, err = cli(capsys, "runs", "list", "--runs-dir", str(runs), "--format", "json")
    assert code == 0 and json.loads(out) == [] and "no runs yet" in err
    assert list_runs(runs) == []


def test_cli_list_runs_dir_that_is_a_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "runs").write_text("", encoding="utf-8")
    code, out, err = cli(capsys, "runs", "list", "--runs-dir", str(tmp_path / "runs"))
    assert code == 2 and out == "" and err.startswith(f"{tmp_path / 'runs'}: error: the runs folder is not a folder")


@pytest.mark.parametrize("argv", [["--status", "done"], ["--limit", "0"], ["--format", "xml"]])
def test_cli_list_bad_options_are_exit_2(runs_dir: Path, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["runs", "list", "--runs-dir", str(runs_dir), *argv])
    assert exited.value.code == 2


def test_default_runs_dir_is_runs(runs_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(runs_dir.parent)
    code, out, _ = cli(capsys, "runs", "list", "--limit", "1")
    assert code == 0 and NEWEST_FIRST[0] in out


# --- show -----------------------------------------------------------------------------------------


def test_cli_show_text_has_everything(runs_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "runs", "show", "20261129T08", "--runs-dir", str(runs_dir))
    assert code == 0
    for expected in (
        "20261129T080000Z-dddddd",
        TRAIN,
        "0" * 64,
        "failed",
        "ValueError: bad input (cell 5), cell id abc",
        "2026-11-28T09:00:12Z",
        "12.3 s",
        "python3",
        "1" * 40,
        "3.11.7",
        "Linux",
        "0.1.0",
        "nb2prod.run/1",
        "output.ipynb",
        "parameters (2)",
        "n_estimators  300",
        "metrics (1)",
        "accuracy  0.5",
        "inputs: none",
        "packages (1)",
        "numpy  1.26.4",
    ):
        assert expected in out, expected


def test_cli_show_json_is_the_record(runs_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "runs", "show", "latest", "--runs-dir", str(runs_dir), "--format", "json")
    assert code == 0
    data = json.loads(out)
    stored = json.loads((runs_dir / "eval" / "20261129T090000Z-dddeee" / "run.json").read_text(encoding="utf-8"))
    assert data.pop("directory") == str(runs_dir / "eval" / "20261129T090000Z-dddeee")
    assert data == stored


@pytest.mark.parametrize(
    "reference",
    ["20261128T110000Z-cccccc", "20261128T11", "latest-but-1", "folder", "run.json"],
)
def test_show_finds_runs_by_id_prefix_path_and_latest(runs_dir: Path, capsys: pytest.CaptureFixture[str], reference: str) -> None:
    folder = runs_dir / "eval" / "20261128T110000Z-cccccc"
    expected = "20261128T110000Z-cccccc"
    if reference == "latest-but-1":  # `latest` is the newest run
        reference, expected = "latest", NEWEST_FIRST[0]
    elif reference == "folder":
        reference = str(folder)
    elif reference == "run.json":
        reference = str(folder / "run.json")
    code, out, _ = cli(capsys, "runs", "show", reference, "--runs-dir", str(runs_dir), "--format", "json")
    assert code == 0 and json.loads(out)["id"] == expected


def test_ambiguous_prefix_is_exit_2_with_the_candidates(runs_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "runs", "show", "20261129T", "--runs-dir", str(runs_dir))
    assert code == 2 and out == ""
    assert "matches 2 runs" in err and "20261129T080000Z-dddddd" in err and "20261129T090000Z-dddeee" in err


def test_unknown_run_is_exit_2(runs_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "runs", "show", "1999", "--runs-dir", str(runs_dir))
    assert code == 2 and err.startswith(f"{runs_dir}: error: no run '1999' here") and "nb2prod runs list" in err
    code, _, err = cli(capsys, "runs", "show", "latest", "--runs-dir", str(runs_dir.parent / "empty"))
    assert code == 2 and err.startswith(f"{runs_dir.parent / 'empty'}: error: no runs here")


# --- compare --------------------------------------------------------------------------------------


def test_compare_runs_rows(runs_dir: Path) -> None:
    records = list_runs(runs_dir, notebook="train")[::-1]  # oldest first
    comparison = compare_runs(records)
    parameters = {row.name: row for row in comparison.parameters}
    assert parameters["seed"].values == (0, 1, 2) and parameters["seed"].differs
    assert parameters["n_estimators"].differs and parameters["n_estimators"].deltas == (None, None, None)
    accuracy = comparison.metrics[0]
    assert accuracy.name == "accuracy" and accuracy.values == (0.9, 0.95, 0.5)
    assert accuracy.deltas[0] is None
    assert accuracy.deltas[1] == pytest.approx(0.05) and accuracy.deltas[2] == pytest.approx(-0.4)
    same = compare_runs(records[:1] * 2)
    assert not any(row.differs for row in (*same.parameters, *same.metrics))


def test_compare_missing_values_and_non_numbers(runs_dir: Path) -> None:
    records = [list_runs(runs_dir, notebook="eval", status="ok")[0], list_runs(runs_dir, notebook="train")[0]]
    comparison = compare_runs(records)
    rows = {row.name: row for row in comparison.metrics}
    assert rows["label"].values == ("rf", MISSING) and rows["label"].differs
    assert rows["accuracy"].values == (MISSING, 0.5) and rows["accuracy"].deltas == (None, None)
    assert rows["label"].to_json(comparison.ids) == {
        "name": "label",
        "differs": True,
        "values": ["rf", None],
        "missing": ["20261129T080000Z-dddddd"],
        "deltas": [None, None],
    }


def test_compare_tells_true_from_one(tmp_path: Path) -> None:
    records = [
        write_run(tmp_path, "20261128T090000Z-000001", metrics={"flag": True, "n": 1}),
        write_run(tmp_path, "20261128T090000Z-000002", metrics={"flag": 1, "n": 1.0}),
    ]
    rows = {row.name: row for row in compare_runs(records).metrics}
    assert rows["flag"].differs and not rows["n"].differs and rows["n"].deltas == (None, 0.0)


def test_cli_compare_text_marks_differences(runs_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "runs", "compare", "20261128T09", "20261128T10", "--runs-dir", str(runs_dir))
    assert code == 0
    lines = out.splitlines()
    assert "20261128T090000Z-aaaaaa" in lines[0] and "20261128T100000Z-bbbbbb" in lines[0]
    seed = next(line for line in lines if " seed " in line)
    assert seed.startswith("*") and seed.split()[-2:] == ["0", "1"]
    n_estimators = next(line for line in lines if "n_estimators" in line)
    assert not n_estimators.startswith("*")
    accuracy = next(line for line in lines if "accuracy" in line)
    assert accuracy.startswith("*") and "0.95 (+0.05)" in accuracy
    assert lines[-1] == "2 of 3 parameters and metrics differ (*)"


def test_cli_compare_json(runs_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "runs", "compare", "20261128T09", "latest", "--runs-dir", str(runs_dir), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert [run["id"] for run in data["runs"]] == ["20261128T090000Z-aaaaaa", NEWEST_FIRST[0]]
    assert [run["status"] for run in data["runs"]] == ["ok", "timeout"]
    assert {row["name"] for row in data["parameters"]} == {"seed", "n_estimators", "split"}
    assert all(row["differs"] for row in data["parameters"])


def test_cli_compare_needs_two_runs(runs_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "runs", "compare", "latest", "--runs-dir", str(runs_dir))
    assert code == 2 and "at least two runs" in err


def test_cli_compare_without_a_runs_folder_says_so_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "runs", "compare", "a", "b", "--runs-dir", str(tmp_path / "runs"))
    assert code == 2 and err.count("error: no runs here") == 1 and len(err.splitlines()) == 1


# --- check ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "passes"),
    [
        ("accuracy>=0.95", True),
        ("accuracy>=0.96", False),
        ("accuracy<=0.95", True),
        ("accuracy<=0.9", False),
        ("accuracy>0.9", True),
        ("accuracy>0.95", False),
        ("accuracy<1", True),
        ("accuracy<0.95", False),
        ("accuracy==0.95", True),
        ("accuracy==0.9", False),
        ("accuracy!=0.9", True),
        ("accuracy!=0.95", False),
        (" accuracy  >=  9.5e-1 ", True),
        ("epochs==10", True),
        ("epochs==10.0", True),
        ("model==rf", True),
        ("model=='rf'", True),
        ('model!="gbm"', True),
        ("model==gbm", False),
        ("converged==true", True),
        ("converged!=false", True),
        ("converged==1", False),
        ("model>=1", False),  # not a number
        ("nothing==null", True),
        ("val/loss<0.3", True),
        ("f1-score>=0.5", True),
    ],
)
def test_check_every_operator(tmp_path: Path, expression: str, passes: bool) -> None:
    metrics = {"accuracy": 0.95, "epochs": 10, "model": "rf", "converged": True, "nothing": None, "val/loss": 0.25, "f1-score": 0.5}
    record = write_run(tmp_path, "20261128T090000Z-000001", metrics=metrics)
    [result] = check_run(record, [expression])
    assert result.passed is passes
    assert result.kind == "metric" and (result.reason == "") is passes


def test_check_missing_metric_fails_and_is_named(tmp_path: Path) -> None:
    record = write_run(tmp_path, "20261128T090000Z-000001", metrics={"accuracy": 0.95})
    [result] = check_run(record, ["loss<0.3"])
    assert not result.passed and result.missing and "'loss'" in result.reason and "accuracy" in result.reason


def test_check_run_that_did_not_succeed_fails(runs_dir: Path) -> None:
    record = list_runs(runs_dir, status="failed")[0]
    results = check_run(record, ["accuracy>=0.1"])
    assert [(r.kind, r.passed) for r in results] == [("status", False), ("metric", True)]
    assert "status is failed" in results[0].reason and "ValueError: bad input (cell 5)" in results[0].reason


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("accuracy", "malformed"),
        ("accuracy>=", "malformed"),
        (">=0.9", "malformed"),
        ("accuracy=0.9", "use =="),
        ("accuracy=>0.9", "malformed"),
        ("accuracy>==0.9", "unknown operator"),
        ("accuracy>=high", "needs a number"),
        ("accuracy>=true", "needs a number"),
        ("accuracy<nan", "finite"),
        ("loss<inf", "finite"),
        ("a b>=1", "malformed"),
        ("", "malformed"),
    ],
)
def test_malformed_expressions(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_metric_expression(text)


def test_parse_metric_expression() -> None:
    parsed = parse_metric_expression("accuracy>=0.9")
    assert (parsed.name, parsed.op, parsed.threshold) == ("accuracy", ">=", 0.9)
    assert str(parsed) == "accuracy >= 0.9"
    assert parse_metric_expression("n==3").threshold == 3 and isinstance(parse_metric_expression("n==3").threshold, int)
    assert str(parse_metric_expression("ok==TRUE")) == "ok == true"
    assert str(parse_metric_expression("label=='a b'")) == 'label == "a b"'
    assert str(parse_metric_expression("x!=null")) == "x != null" and str(parse_metric_expression("x=='true'")) == 'x == "true"'


def test_cli_check_passes(runs_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "runs", "check", "20261128T10", "--metric", "accuracy>=0.9", "-m", "accuracy<1", "--runs-dir", str(runs_dir))
    assert code == 0
    assert out.splitlines() == [
        f"run 20261128T100000Z-bbbbbb ({TRAIN}, status ok)",
        "PASS  accuracy >= 0.9  accuracy = 0.95",
        "PASS  accuracy < 1     accuracy = 0.95",
        "all 2 checks passed",
    ]


def test_cli_check_fails_naming_the_failures(runs_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["runs", "check", "20261128T10", "--metric", "accuracy>=0.99", "--metric", "accuracy>0.5", "--metric", "loss<0.3"]
    code, out, _ = cli(capsys, *argv, "--runs-dir", str(runs_dir))
    assert code == 1
    assert "FAIL  accuracy >= 0.99  accuracy = 0.95" in out
    assert "PASS  accuracy > 0.5" in out
    assert "FAIL  loss < 0.3" in out and "did not record the metric 'loss'" in out
    assert out.splitlines()[-1] == "2 of 3 checks failed: accuracy >= 0.99, loss < 0.3"


def test_cli_check_failed_run_says_so(runs_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "runs", "check", "20261129T08", "--metric", "accuracy>=0.1", "--runs-dir", str(runs_dir))
    assert code == 1
    assert "FAIL  status == ok" in out and "the run's status is failed, not ok" in out
    assert out.splitlines()[-1] == "1 of 2 checks failed: status == ok"


def test_cli_check_json(runs_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "runs", "check", "latest", "-m", "auc>0.5", "--runs-dir", str(runs_dir), "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["run"] == NEWEST_FIRST[0] and data["passed"] is False
    assert [(r["kind"], r["check"], r["passed"], r["missing"]) for r in data["results"]] == [
        ("status", "status == ok", False, False),
        ("metric", "auc > 0.5", False, True),
    ]
    code, out, _ = cli(
        capsys, "runs", "check", "20261128T11", "-m", "auc>0.5", "-m", "label==rf", "--runs-dir", str(runs_dir), "--format", "json"
    )
    assert code == 0 and json.loads(out)["passed"] is True
    assert json.loads(out)["results"][1] == {
        "kind": "metric",
        "check": "label == rf",
        "name": "label",
        "value": "rf",
        "missing": False,
        "passed": True,
        "reason": "",
    }


def test_cli_check_malformed_is_exit_2_before_reading_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "runs", "check", "latest", "--metric", "accuracy=0.9", "--runs-dir", str(tmp_path / "none"))
    assert code == 2 and out == ""
    assert err.strip() == "error: malformed metric expression 'accuracy=0.9' (use == to test equality: 'accuracy==0.9')"


def test_cli_check_needs_a_metric(runs_dir: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["runs", "check", "latest", "--runs-dir", str(runs_dir)])
    assert exited.value.code == 2


# --- display helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "text"), [(None, "—"), (0.84, "0.8 s"), (59.94, "59.9 s"), (125, "2 m 05 s"), (3725, "1 h 02 m")])
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_value() -> None:
    assert format_value(0.123456789) == "0.123457"
    assert format_value(0.123456789, width=None) == "0.123456789"
    assert format_value("plain") == "plain" and format_value("two words") == '"two words"' and format_value("") == '""'
    assert format_value([1, 2]) == "[1,2]" and format_value({"a": 1}, width=None) == '{"a": 1}'
    assert format_value(MISSING) == "—" and format_value(None) == "null" and format_value(True) == "true"
    assert format_value("x" * 50, width=10) == "x" * 9 + "…"


def test_record_errors_are_exit_2_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "run.json").write_text('{"schema": "other"}', encoding="utf-8")
    code, _, err = cli(capsys, "runs", "show", str(bad))
    assert code == 2 and "not an nb2prod run record" in err and "Traceback" not in err
    assert err.startswith(f"{bad / 'run.json'}: error: not an nb2prod run record")
    with pytest.raises(RecordError, match="no runs here"):
        find_record("latest", tmp_path / "nothing")


def test_runs_started_in_the_same_second_are_ordered_by_start_time(tmp_path: Path) -> None:
    """Ids share the UTC second; the millisecond start time decides which is newer, not the random suffix."""
    from nb2prod.records import iter_records

    for suffix, started in (("ffffff", "2026-11-28T10:15:00.100Z"), ("000000", "2026-11-28T10:15:00.900Z")):
        folder = tmp_path / "nb" / f"20261128T101500Z-{suffix}"
        folder.mkdir(parents=True)
        write_record(RunRecord(f"20261128T101500Z-{suffix}", "nb.ipynb", "", {}, "ok", started, directory=folder))
    assert [r.id for r in iter_records(tmp_path)] == ["20261128T101500Z-000000", "20261128T101500Z-ffffff"]
    assert find_record("latest", tmp_path).id == "20261128T101500Z-000000"
