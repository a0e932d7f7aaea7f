"""What ``nb2prod run``, ``runs``, ``params`` and ``verify`` print when the data is hostile or damaged.

- scenario 55: one damaged ``run.json`` is shown as damaged; the other runs still list, show and compare;
- scenario 59: terminal escapes and newlines in metric names and values, parameter values, paths
  and error messages are escaped in text output (JSON stays JSON);
- issue #9 item 23: floats stay floats, rows stay whole in a pipe, operator suggestions, error
  lines carry their path.

No kernel starts here: records are written by hand, and ``nb2prod run`` is only asked for what it
refuses before a kernel would start.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from run_helpers import copy_fixtures

from nb2prod.cli import main
from nb2prod.cli.run import problem, summary
from nb2prod.records import RunRecord, write_record

TRAIN = "notebooks/train.ipynb"
OLD, NEW, DAMAGED, TRUNCATED = (
    "20261128T090000Z-aaaaaa",
    "20261128T100000Z-bbbbbb",
    "20261128T110000Z-cccccc",
    "20261128T120000Z-dddddd",
)
# A window-title sequence, a colour, a C1 control (CSI), a bidi override, a newline, a bell.
HOSTILE = "\x1b]0;pwned\x07\x1b[31mred\x9b2J\u202eevil\nnext"
RAW = ("\x1b", "\x07", "\x9b", "\u202e")
# A metric name an expression can hold (no whitespace, no operator characters).
HOSTILE_NAME = "\x1b]0;pwned\x07\u202eacc"


def write_run(runs_dir: Path, run_id: str, notebook: str = TRAIN, **fields: Any) -> RunRecord:
    directory = runs_dir / Path(notebook).stem / run_id
    directory.mkdir(parents=True)
    values: dict[str, Any] = {"notebook_sha256": "0" * 64, "parameters": {}, "status": "ok", "started": "2026-11-28T09:00:00Z"}
    values.update(fields)
    record = RunRecord(id=run_id, notebook=notebook, directory=directory, duration_s=1.5, **values)
    write_record(record)
    return record


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_no_raw_controls(*texts: str) -> None:
    for text in texts:
        for char in RAW:
            assert char not in text, f"{char!r} reached the terminal raw"


def strings_in(data: Any) -> list[str]:
    """Every string of a JSON document, keys included."""
    if isinstance(data, dict):
        return [text for key, value in data.items() for text in (key, *strings_in(value))]
    if isinstance(data, list):
        return [text for item in data for text in strings_in(item)]
    return [data] if isinstance(data, str) else []


# --- scenario 55: a damaged record ---------------------------------------------------------------


@pytest.fixture
def damaged_runs(tmp_path: Path) -> Path:
    """Two good runs, one whose run.json says "parameters": null, one truncated mid-write."""
    runs = tmp_path / "runs"
    write_run(runs, OLD, parameters={"seed": 0}, metrics={"accuracy": 0.9})
    write_run(runs, NEW, parameters={"seed": 1}, metrics={"accuracy": 0.95})
    null = write_run(runs, DAMAGED, parameters={"seed": 2})
    data = json.loads((null.directory / "run.json").read_text(encoding="utf-8"))
    data["parameters"] = None
    (null.directory / "run.json").write_text(json.dumps(data), encoding="utf-8")
    truncated = write_run(runs, TRUNCATED, parameters={"seed": 3})
    text = (truncated.directory / "run.json").read_text(encoding="utf-8")
    (truncated.directory / "run.json").write_text(text[: len(text) // 2], encoding="utf-8")
    return runs


def record_file(runs: Path, run_id: str) -> Path:
    return runs / "train" / run_id / "run.json"


def test_scenario_55_list_shows_damaged_records_and_the_others(damaged_runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "runs", "list", "--runs-dir", str(damaged_runs))
    assert code == 2 and "Traceback" not in err and "internal error" not in err
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == [TRUNCATED, DAMAGED, NEW, OLD]
    assert lines[1].split()[:4] == [TRUNCATED, "—", "damaged", "—"] and "not valid JSON" in lines[1]
    assert lines[2].split()[:4] == [DAMAGED, "—", "damaged", "—"] and "'parameters' is null, expected an object" in lines[2]
    assert "seed=1" in lines[3] and "accuracy=0.95" in lines[3]
    assert err.splitlines() == [
        f"{record_file(damaged_runs, TRUNCATED)}: error: damaged run record: not valid JSON: "
        + lines[1].split("not valid JSON: ")[1].strip()
        + " (repair the file or delete its run folder)",
        f"{record_file(damaged_runs, DAMAGED)}: error: damaged run record: 'parameters' is null, expected an object "
        "(repair the file or delete its run folder)",
    ]


def test_scenario_55_list_json_holds_the_readable_records(damaged_runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "runs", "list", "--runs-dir", str(damaged_runs), "--format", "json")
    assert code == 2
    assert [run["id"] for run in json.loads(out)] == [NEW, OLD]
    assert len(err.splitlines()) == 2 and all(": error: damaged run record: " in line for line in err.splitlines())


def test_scenario_55_a_status_filter_leaves_damaged_records_out(damaged_runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "runs", "list", "--runs-dir", str(damaged_runs), "--status", "ok")
    assert code == 0 and err == "" and [line.split()[0] for line in out.splitlines()[1:]] == [NEW, OLD]
    code, out, _ = cli(capsys, "runs", "list", "--runs-dir", str(damaged_runs), "--notebook", "train", "--limit", "1")
    assert code == 2 and out.splitlines()[1].split()[0] == TRUNCATED


@pytest.mark.parametrize("reference", [DAMAGED, "20261128T11", "path"])
def test_scenario_55_show_names_the_damaged_file(damaged_runs: Path, capsys: pytest.CaptureFixture[str], reference: str) -> None:
    path = record_file(damaged_runs, DAMAGED)
    code, out, err = cli(capsys, "runs", "show", str(path.parent) if reference == "path" else reference, "--runs-dir", str(damaged_runs))
    assert code == 2 and out == ""
    reason = "'parameters' is null, expected an object"
    assert err == f"{path}: error: damaged run record: {reason} (repair the file or delete its run folder)\n"
    code, out, _ = cli(capsys, "runs", "show", NEW, "--runs-dir", str(damaged_runs))
    assert code == 0 and NEW in out


def test_scenario_55_compare_and_check_name_every_damaged_run(damaged_runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "runs", "compare", OLD, DAMAGED, NEW, TRUNCATED, "--runs-dir", str(damaged_runs))
    assert code == 2 and out == ""
    assert [line.split(": error: ")[0] for line in err.splitlines()] == [
        str(record_file(damaged_runs, DAMAGED)),
        str(record_file(damaged_runs, TRUNCATED)),
    ]
    code, out, _ = cli(capsys, "runs", "compare", OLD, NEW, "--runs-dir", str(damaged_runs))
    assert code == 0 and "accuracy" in out
    code, _, err = cli(capsys, "runs", "check", "latest", "-m", "accuracy>0", "--runs-dir", str(damaged_runs))
    assert code == 2 and err.startswith(f"{record_file(damaged_runs, TRUNCATED)}: error: damaged run record: not valid JSON")


# --- scenario 59: terminal escapes --------------------------------------------------------------


@pytest.fixture
def hostile_runs(tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    common: dict[str, Any] = {
        "inputs": {f"data/{HOSTILE}.csv": "sha256:" + "0" * 64},
        "environment": {"python": "3.11", "platform": HOSTILE, "packages": {HOSTILE: HOSTILE}},
    }
    write_run(runs, OLD, parameters={"text": HOSTILE, "alpha": 0.5}, metrics={HOSTILE: 1.0, HOSTILE_NAME: 1.0, "label": HOSTILE}, **common)
    write_run(
        runs,
        NEW,
        notebook=f"notebooks/{HOSTILE}.ipynb",
        parameters={"text": "plain", "alpha": 1.5},
        metrics={HOSTILE: 2.0, HOSTILE_NAME: 2.0},
        status="failed",
        error={"cell_index": 0, "cell_id": HOSTILE, "ename": "ValueError", "evalue": HOSTILE},
        **common,
    )
    return runs


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["show", OLD],
        ["show", NEW],
        ["compare", OLD, NEW],
        ["check", OLD, "-m", f"{HOSTILE_NAME}>=0.5", "-m", "label==x"],
        ["check", NEW, "-m", f"{HOSTILE_NAME}>=0.5"],
    ],
    ids=["list", "show", "show-failed", "compare", "check", "check-failed"],
)
def test_scenario_59_runs_text_output_escapes_control_characters(
    hostile_runs: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = cli(capsys, "runs", *argv, "--runs-dir", str(hostile_runs))
    assert code in (0, 1) and err == ""
    assert_no_raw_controls(out)
    assert "\\x1b]0;pwned\\x07" in out and "\\u202e" in out
    if argv[0] == "list":  # a newline in a value does not add a row
        assert len(out.splitlines()) == 3


@pytest.mark.parametrize("argv", [["list"], ["show", OLD], ["compare", OLD, NEW], ["check", OLD, "-m", f"{HOSTILE_NAME}>=0.5"]])
def test_scenario_59_json_output_stays_json(hostile_runs: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, _ = cli(capsys, "runs", *argv, "--runs-dir", str(hostile_runs), "--format", "json")
    assert code == 0 and "\x1b" not in out and "\x07" not in out
    assert HOSTILE in strings_in(json.loads(out)) or HOSTILE_NAME in strings_in(json.loads(out))  # the data, unchanged


def test_scenario_59_error_lines_are_escaped(hostile_runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "runs", "show", HOSTILE, "--runs-dir", str(hostile_runs))
    assert code == 2 and out == ""
    assert_no_raw_controls(err)
    assert err.count("\n") == 1 and "\\x1b]0;pwned\\x07" in err


def test_scenario_59_run_summary_and_problem_are_escaped(tmp_path: Path) -> None:
    record = RunRecord(
        id=NEW,
        notebook=TRAIN,
        notebook_sha256="",
        parameters={},
        status="failed",
        started="2026-11-28T09:00:00Z",
        duration_s=1.0,
        error={"cell_index": 0, "cell_id": "x", "ename": "ValueError", "evalue": HOSTILE},
        metrics={HOSTILE: HOSTILE, "n": 1.0},
        directory=tmp_path / HOSTILE,
    )
    text = summary(record)
    assert_no_raw_controls(text)
    assert len(text.splitlines()) == 3 and "n=1.0" in text
    line = problem(f"notebooks/{HOSTILE}.ipynb", record)
    assert_no_raw_controls(line)
    assert "\n" not in line and line.startswith("notebooks/\\x1b]0;pwned\\x07")


def test_scenario_59_params_table_is_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notebook = tmp_path / "nb.py"
    notebook.write_text(f'# %% tags=["parameters"]\ntext = "\\x1b]0;t\\x07"  # help {HOSTILE[:11]}\n', encoding="utf-8")
    code, out, _ = cli(capsys, "params", str(notebook))
    assert code == 0
    assert_no_raw_controls(out)
    assert "\\x1b]0;pwned\\x07" in out and len(out.splitlines()) == 2


# --- issue #9 item 23 ----------------------------------------------------------------------------


def test_floats_stay_floats_in_list_and_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    write_run(runs, OLD, parameters={"alpha": 1.0, "n": 3}, metrics={"loss": 2.0})
    write_run(runs, NEW, parameters={"alpha": 2.0, "n": 3}, metrics={"loss": 3.0})
    code, out, _ = cli(capsys, "runs", "list", "--runs-dir", str(runs))
    assert code == 0 and "alpha=1.0" in out and "alpha=2.0" in out and "n=3 " in out and "loss=3.0" in out
    code, out, _ = cli(capsys, "runs", "compare", OLD, NEW, "--runs-dir", str(runs))
    alpha = next(line for line in out.splitlines() if "alpha" in line)
    loss = next(line for line in out.splitlines() if "loss" in line)
    assert alpha.split()[-2:] == ["1.0", "2.0"] and loss.split()[-3:] == ["2.0", "3.0", "(+1.0)"]


def test_params_rows_stay_whole_in_a_pipe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notebook = tmp_path / "nb.py"
    long_default = "a" * 150
    notebook.write_text(
        f'# %% tags=["parameters"]\npath = "{long_default}"  # {"where the data is " * 8}\nseed = 0  # random seed\n', encoding="utf-8"
    )
    code, out, _ = cli(capsys, "params", str(notebook))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3 and long_default in lines[1] and lines[1].endswith("where the data is")


@pytest.mark.parametrize(
    ("expression", "suggestion"),
    [("mse=<3000", "did you mean 'mse<=3000'?"), ("accuracy=>0.9", "did you mean 'accuracy>=0.9'?"), ("a=!1", "did you mean 'a!=1'?")],
)
def test_a_reversed_operator_suggests_the_right_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], expression: str, suggestion: str
) -> None:
    code, _, err = cli(capsys, "runs", "check", "latest", "--metric", expression, "--runs-dir", str(tmp_path))
    assert code == 2 and suggestion in err and "==" not in err.replace(suggestion, "").split("(")[0]


@pytest.fixture
def copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_fixtures(tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("argv", "path"),
    [
        (["run", "typed_parameters.ipynb", "-p", "epoch=3"], "typed_parameters.ipynb"),
        (["run", "typed_parameters.ipynb", "-p", "epochs=None"], "typed_parameters.ipynb"),
        (["run", "typed_parameters.ipynb", "-p", "noequals"], "typed_parameters.ipynb"),
        (["run", "typed_parameters.ipynb", "-f", "bad.yaml"], "bad.yaml"),
        (["run", "typed_parameters.ipynb", "-f", "unknown.yaml"], "unknown.yaml"),
        (["runs", "show", "nosuch", "--runs-dir", "runs"], "runs"),
        (["runs", "compare", "latest", "--runs-dir", "runs"], "runs/typed_parameters/" + OLD),
    ],
)
def test_error_lines_carry_the_path_they_are_about(
    copied: Path, capsys: pytest.CaptureFixture[str], argv: list[str], path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import papermill

    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: pytest.fail("a kernel would have started"))
    (copied / "bad.yaml").write_text("epochs: many\n", encoding="utf-8")
    (copied / "unknown.yaml").write_text("epoch: 3\n", encoding="utf-8")
    write_run(Path("runs"), OLD, notebook="typed_parameters.ipynb")
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith(f"{path}: error: ") and err.count("\n") == 1, err


def test_verify_errors_name_the_run_record(copied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = write_run(Path("runs"), OLD, notebook="typed_parameters.ipynb", parameters={"api_token": "x"})
    code, _, err = cli(capsys, "verify", "latest", "--runs-dir", "runs")
    assert code == 2 and err.startswith(f"{record.directory / 'run.json'}: error: run {OLD} was started with the secret parameter")
    shutil.rmtree("runs")
    record = write_run(Path("runs"), OLD, notebook="typed_parameters.ipynb", parameters={"epochs": "many"}, notebook_sha256="")
    code, _, err = cli(capsys, "verify", "latest", "--runs-dir", "runs")  # the recorded value no longer fits
    assert code == 2 and err.startswith(f"{record.directory / 'run.json'}: error: 'epochs' expects an int, got 'many'")
    code, _, err = cli(capsys, "verify", "latest", "--runs-dir", "runs", "-p", "epochs=None")
    assert code == 2 and err.startswith("typed_parameters.ipynb: error: 'epochs' expects an int, got 'None'")
    (copied / "typed_parameters.ipynb").unlink()
    code, _, err = cli(capsys, "verify", "latest", "--runs-dir", "runs", "-p", "api_token=y")
    assert code == 2 and err.startswith(f"{record.directory / 'run.json'}: error: the notebook of run {OLD} is not there")
