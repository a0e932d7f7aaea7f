"""``nb2prod verify``: re-run a recorded run and compare its metrics.

The comparison rules, the warnings and the command line are tested with a stand-in for
``run_notebook`` (no kernel); the tests marked ``slow`` run real notebooks in a real ipykernel
kernel through ``nb2prod.run.run_notebook``: verify passes on the seeded example notebook and on a
deterministic fixture, and fails on a notebook that draws unseeded random numbers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from nb2prod.cli import main
from nb2prod.errors import ParameterError, RecordError
from nb2prod.records import RunRecord, read_record, write_record
from nb2prod.run import run_notebook
from nb2prod.runs import MISSING
from nb2prod.verify import (
    DEFAULT_ATOL,
    DEFAULT_RTOL,
    MAX_PACKAGES_LISTED,
    compare_metrics,
    environment_warnings,
    package_changes,
    values_match,
    verify,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "runs"
EXAMPLE = ROOT / "notebooks" / "train.ipynb"
RUN_ID = "20261128T090000Z-aaaaaa"


def write_run(runs_dir: Path, notebook: Path, **fields: Any) -> RunRecord:
    """Write a run record of ``notebook`` (which must exist for verify) and return it."""
    directory = runs_dir / notebook.stem / RUN_ID
    directory.mkdir(parents=True)
    values: dict[str, Any] = {
        "notebook_sha256": hashlib.sha256(notebook.read_bytes()).hexdigest(),
        "parameters": {"seed": 0},
        "status": "ok",
        "started": "2026-11-28T09:00:00Z",
        "metrics": {"accuracy": 0.9},
        "environment": {"python": "3.11.7", "platform": "Linux", "packages": {"numpy": "1.26.4"}},
        "kernel": "python3",
    }
    values.update(fields)
    record = RunRecord(id=RUN_ID, notebook=str(notebook), directory=directory, **values)
    write_record(record)
    return record


def rerun_of(record: RunRecord, **changes: Any) -> RunRecord:
    """The record of a re-run: the same as ``record`` but for ``changes``."""
    return dataclasses.replace(record, id="20261128T100000Z-bbbbbb", **changes)


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    path = tmp_path / "deterministic.ipynb"
    shutil.copyfile(DATA / "deterministic.ipynb", path)
    return path


class FakeRun:
    """Stands in for ``run_notebook``: remembers its arguments, returns a prepared record."""

    def __init__(self, result: RunRecord | Exception) -> None:
        self.result = result
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    def __call__(self, notebook: Any, **kwargs: Any) -> RunRecord:
        self.calls.append((notebook, kwargs))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


@pytest.fixture
def fake_run(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(result: RunRecord | Exception) -> FakeRun:
        fake = FakeRun(result)
        monkeypatch.setattr("nb2prod.run.run_notebook", fake)
        return fake

    return install


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- comparison rules -----------------------------------------------------------------------------


def test_default_tolerances() -> None:
    assert (DEFAULT_RTOL, DEFAULT_ATOL) == (1e-6, 0.0)


@pytest.mark.parametrize(
    ("recorded", "now", "same"),
    [
        (0.95, 0.95, True),
        (0.95, 0.95 * (1 + 1e-7), True),
        (0.95, 0.95 * (1 + 1e-5), False),
        (1, 1.0, True),
        (0.0, 1e-15, False),  # atol=0: a value near zero must be exactly zero
        (True, 1, False),
        (True, True, True),
        ("nan", "nan", True),  # non-finite values are recorded as strings
        ("rf", "gbm", False),
        (None, None, True),
        (None, 0, False),
        ([0.1, 0.2], [0.1, 0.2 * (1 + 1e-9)], True),
        ([0.1, 0.2], [0.1], False),
        ({"a": 1.0}, {"a": 1.0 + 1e-12}, True),
        ({"a": 1.0}, {"b": 1.0}, False),
    ],
)
def test_values_match_with_default_tolerance(recorded: Any, now: Any, same: bool) -> None:
    assert values_match(recorded, now) is same


def test_values_match_tolerances() -> None:
    assert values_match(0.0, 1e-15, atol=1e-12)
    assert values_match(100.0, 101.0, rtol=0.01) and not values_match(100.0, 102.0, rtol=0.01)
    assert not values_match(0.9, 0.9 + 1e-12, rtol=0, atol=0)


def test_compare_metrics_names_missing_on_either_side() -> None:
    comparisons = compare_metrics({"accuracy": 0.9, "loss": 0.3}, {"accuracy": 0.91, "f1": 0.8})
    assert [(c.name, c.ok) for c in comparisons] == [("accuracy", False), ("loss", False), ("f1", False)]
    assert comparisons[0].delta == pytest.approx(0.01)
    assert comparisons[1].now is MISSING and comparisons[1].delta is None
    assert comparisons[1].to_json()["missing"] == ["now"] and comparisons[2].to_json()["missing"] == ["recorded"]
    assert compare_metrics({"accuracy": 0.9}, {"accuracy": 0.9 + 1e-9})[0].ok


def test_package_changes() -> None:
    then = {"numpy": "1.26.4", "pandas": "2.2.0", "old": "1.0"}
    now = {"numpy": "2.0.0", "pandas": "2.2.0", "New": "0.1"}
    assert package_changes(then, now) == ["New (absent) -> 0.1", "numpy 1.26.4 -> 2.0.0", "old 1.0 -> (absent)"]


def test_environment_warnings(tmp_path: Path, notebook: Path) -> None:
    record = write_run(
        tmp_path / "runs",
        notebook,
        git={"commit": "a" * 40, "dirty": False},
        inputs={"data.csv": "sha256:" + "1" * 64},
        environment={"python": "3.11.7", "packages": {f"pkg{i:02d}": "1.0" for i in range(12)}},
    )
    assert environment_warnings(record, rerun_of(record)) == []
    rerun = rerun_of(
        record,
        notebook_sha256="f" * 64,
        git={"commit": "b" * 40, "dirty": True},
        inputs={"data.csv": "sha256:" + "2" * 64},
        environment={"python": "3.12.1", "packages": {f"pkg{i:02d}": "2.0" for i in range(12)}},
    )
    warnings = environment_warnings(record, rerun)
    assert warnings[0].startswith(f"the notebook {notebook} changed since the run (sha256 {record.notebook_sha256[:12]}")
    assert warnings[1] == f"the git commit differs: {'a' * 12} then, {'b' * 12} now"
    assert "uncommitted changes now (it had none then)" in warnings[2]
    assert warnings[3] == "the Python version differs: 3.11.7 then, 3.12.1 now"
    assert warnings[4].startswith("12 packages differ from the record: pkg00 1.0 -> 2.0, ")
    assert warnings[4].endswith("pkg09 1.0 -> 2.0 and 2 more") and warnings[4].count("->") == MAX_PACKAGES_LISTED
    assert warnings[5] == f"the input data.csv differs from the record ({'1' * 12} then, {'2' * 12} now)"


# --- verify with a stand-in for the kernel ----------------------------------------------------------


def test_verify_reruns_with_the_recorded_parameters(tmp_path: Path, notebook: Path, fake_run: Any) -> None:
    runs = tmp_path / "runs"
    record = write_run(runs, notebook, parameters={"seed": 3, "label": "x"}, kernel="python3")
    fake = fake_run(rerun_of(record, metrics={"accuracy": 0.9 * (1 + 1e-8)}))
    result = verify(RUN_ID[:12], runs_dir=runs, timeout=30, cwd=tmp_path, overrides={"label": "y"})
    assert fake.calls == [
        (
            str(notebook),
            {
                "strings": {"label": "y"},
                "values": {"seed": 3},
                "environ": {},
                "runs_dir": runs,
                "timeout": 30,
                "kernel": "python3",
                "cwd": tmp_path,
            },
        )
    ]
    assert result.reproduced and result.differences == [] and result.warnings == []
    assert result.to_json()["reproduced"] is True and result.to_json()["rerun"] == "20261128T100000Z-bbbbbb"


def test_verify_not_reproduced(tmp_path: Path, notebook: Path, fake_run: Any) -> None:
    record = write_run(tmp_path / "runs", notebook, metrics={"accuracy": 0.9, "f1": 0.8})
    fake_run(rerun_of(record, metrics={"accuracy": 0.8, "f1": 0.8}))
    result = verify("latest", runs_dir=tmp_path / "runs")
    assert not result.reproduced and result.differences == ["accuracy"]
    fake_run(rerun_of(record, status="failed", metrics={}, error={"cell_index": 1, "ename": "KeyError", "evalue": "'x'"}))
    result = verify("latest", runs_dir=tmp_path / "runs")
    assert result.differences == ["status failed (recorded: ok)", "accuracy", "f1"]


def test_verify_without_metrics_compares_the_status_and_says_so(tmp_path: Path, notebook: Path, fake_run: Any) -> None:
    record = write_run(tmp_path / "runs", notebook, metrics={})
    fake_run(rerun_of(record))
    result = verify("latest", runs_dir=tmp_path / "runs")
    assert result.reproduced and result.metrics == []
    assert result.warnings == ["neither run recorded metrics (nb2prod.record(name, value)): only the status was compared"]


def test_verify_of_a_failed_run_checks_it_fails_again(tmp_path: Path, notebook: Path, fake_run: Any) -> None:
    record = write_run(tmp_path / "runs", notebook, status="failed", metrics={})
    fake_run(rerun_of(record))
    result = verify("latest", runs_dir=tmp_path / "runs")
    assert result.reproduced and "the recorded run did not succeed (status failed)" in result.warnings[0]
    fake_run(rerun_of(record, status="ok"))
    assert not verify("latest", runs_dir=tmp_path / "runs").reproduced


def test_verify_refuses_redacted_secrets_before_any_kernel(tmp_path: Path, notebook: Path, fake_run: Any) -> None:
    record = write_run(tmp_path / "runs", notebook, parameters={"seed": 0, "api_token": "secret-value", "db_password": "pw"})
    assert read_record(record.directory).parameters["api_token"] == "***"  # write_record redacted them
    fake = fake_run(rerun_of(record))
    with pytest.raises(ParameterError, match="secret parameters api_token, db_password") as raised:
        verify("latest", runs_dir=tmp_path / "runs")
    assert raised.value.hint == (
        "pass them again: -p api_token=VALUE -p db_password=VALUE, or set NB2PROD_PARAM_API_TOKEN, NB2PROD_PARAM_DB_PASSWORD"
    )
    with pytest.raises(ParameterError, match="secret parameter db_password,"):
        verify("latest", runs_dir=tmp_path / "runs", overrides={"api_token": "t"})
    assert fake.calls == []
    verify("latest", runs_dir=tmp_path / "runs", overrides={"api_token": "t", "db_password": "p"})
    assert fake.calls[0][1]["strings"] == {"api_token": "t", "db_password": "p"} and fake.calls[0][1]["values"] == {"seed": 0}


def test_verify_errors(tmp_path: Path, notebook: Path, fake_run: Any) -> None:
    runs = tmp_path / "runs"
    with pytest.raises(RecordError, match="no runs here"):
        verify("latest", runs_dir=runs)
    write_run(runs, notebook)
    with pytest.raises(ParameterError, match="negative"):
        verify("latest", runs_dir=runs, rtol=-1)
    fake_run(ParameterError("unknown parameter 'seed'", hint="the notebook's parameters are n"))
    with pytest.raises(ParameterError) as raised:
        verify("latest", runs_dir=runs)
    assert raised.value.message == "unknown parameter 'seed'"
    notebook.write_text(notebook.read_text(encoding="utf-8").replace("seed = 0", "n = 0"), encoding="utf-8")
    with pytest.raises(ParameterError, match=f"unknown parameter 'seed'; the notebook changed since run {RUN_ID}"):
        verify("latest", runs_dir=runs)
    notebook.unlink()
    with pytest.raises(RecordError, match=f"the notebook of run {RUN_ID} is not there") as raised:
        verify("latest", runs_dir=runs)
    assert "the folder the run was started in" in str(raised.value)


def test_cli_verify_reproduced(tmp_path: Path, notebook: Path, fake_run: Any, capsys: pytest.CaptureFixture[str]) -> None:
    record = write_run(tmp_path / "runs", notebook, metrics={"accuracy": 0.9, "label": "rf"})
    fake_run(rerun_of(record))
    code, out, err = cli(capsys, "verify", "latest", "--runs-dir", str(tmp_path / "runs"))
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == f"run {RUN_ID} ({notebook}) re-run as 20261128T100000Z-bbbbbb"
    assert lines[1].split() == ["metric", "recorded", "now", "delta", "ok"]
    assert lines[2].split() == ["status", "ok", "ok", "yes"]
    assert lines[3].split() == ["accuracy", "0.9", "0.9", "+0.0", "yes"]
    assert lines[4].split() == ["label", "rf", "rf", "yes"]
    assert lines[-1] == "reproduced: 2 metrics match within rtol=1e-06, atol=0"


def test_cli_verify_not_reproduced(tmp_path: Path, notebook: Path, fake_run: Any, capsys: pytest.CaptureFixture[str]) -> None:
    record = write_run(tmp_path / "runs", notebook, metrics={"accuracy": 0.9}, environment={"packages": {"numpy": "1.26.4"}})
    fake_run(rerun_of(record, metrics={"accuracy": 0.85, "extra": 1}, environment={"packages": {"numpy": "2.0.0"}}))
    code, out, err = cli(capsys, "verify", "latest", "--runs-dir", str(tmp_path / "runs"), "--rtol", "0.01")
    assert code == 1
    assert err == "warning: 1 package differs from the record: numpy 1.26.4 -> 2.0.0\n"
    assert out.splitlines()[3].split() == ["accuracy", "0.9", "0.85", "-0.05", "NO"]
    assert out.splitlines()[4].split() == ["extra", "—", "1", "NO"]
    assert out.splitlines()[-1] == "NOT reproduced (rtol=0.01, atol=0): accuracy, extra"
    code, out, _ = cli(capsys, "verify", "latest", "--runs-dir", str(tmp_path / "runs"), "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["reproduced"] is False and data["differences"] == ["accuracy", "extra"]
    assert data["warnings"] == ["1 package differs from the record: numpy 1.26.4 -> 2.0.0"]
    assert data["rerun_record"]["id"] == "20261128T100000Z-bbbbbb"


def test_scenario_59_cli_verify_escapes_names_values_and_warnings(
    tmp_path: Path, notebook: Path, fake_run: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = "\x1b]0;pwned\x07\x9b\nx"
    record = write_run(tmp_path / "runs", notebook, metrics={hostile: 0.9}, environment={"packages": {hostile: "1"}})
    fake_run(rerun_of(record, metrics={hostile: 0.5}, environment={"packages": {hostile: "2"}}, error={"evalue": hostile}))
    code, out, err = cli(capsys, "verify", "latest", "--runs-dir", str(tmp_path / "runs"))
    assert code == 1
    assert not any(char in out + err for char in "\x1b\x07\x9b")
    assert "\\x1b]0;pwned\\x07\\x9b\\nx" in out and "\\x1b]0;pwned" in err and len(err.splitlines()) == 1


def test_cli_verify_rerun_error_is_shown(tmp_path: Path, notebook: Path, fake_run: Any, capsys: pytest.CaptureFixture[str]) -> None:
    record = write_run(tmp_path / "runs", notebook)
    fake_run(rerun_of(record, status="failed", metrics={}, error={"cell_index": 1, "ename": "KeyError", "evalue": "'x'"}))
    code, out, _ = cli(capsys, "verify", "latest", "--runs-dir", str(tmp_path / "runs"))
    assert code == 1
    assert out.splitlines()[2].split() == ["status", "ok", "failed", "NO"]
    assert "the re-run failed: KeyError: 'x' (cell 2); see " in out and "output.ipynb" in out


@pytest.mark.parametrize(("status", "code"), [("timeout", 124), ("kernel_died", 138), ("interrupted", 130)])
def test_cli_verify_unfinished_rerun_exits_like_run(
    tmp_path: Path, notebook: Path, fake_run: Any, capsys: pytest.CaptureFixture[str], status: str, code: int
) -> None:
    record = write_run(tmp_path / "runs", notebook)
    fake_run(rerun_of(record, status=status, metrics={}))
    assert cli(capsys, "verify", "latest", "--runs-dir", str(tmp_path / "runs"))[0] == code


def test_cli_verify_input_errors_are_exit_2(tmp_path: Path, notebook: Path, fake_run: Any, capsys: pytest.CaptureFixture[str]) -> None:
    write_run(tmp_path / "runs", notebook, parameters={"api_key": "k"})
    fake = fake_run(ParameterError("should not be called"))
    code, out, err = cli(capsys, "verify", "latest", "--runs-dir", str(tmp_path / "runs"))
    assert code == 2 and out == "" and "-p api_key=VALUE" in err and fake.calls == []
    code, _, err = cli(capsys, "verify", "nosuch", "--runs-dir", str(tmp_path / "runs"))
    assert code == 2 and "no run 'nosuch'" in err
    for argv in (["--rtol", "-1"], ["--atol", "x"], ["--atol", "nan"], ["--timeout", "0"]):
        with pytest.raises(SystemExit) as exited:
            main(["verify", "latest", *argv])
        assert exited.value.code == 2
    for bad in ("novalue", "=1"):
        code, _, err = cli(capsys, "verify", "latest", "--runs-dir", str(tmp_path / "runs"), "-p", bad)
        assert code == 2 and "expected NAME=VALUE" in err
    assert fake.calls == []


# --- real kernels ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_verify_passes_on_the_example_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The seeded example notebook gives the same metrics again (a copy: others may edit the original)."""
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(EXAMPLE, "train.ipynb")
    record = run_notebook("train.ipynb", strings={"n_estimators": "20"}, runs_dir="runs", timeout=300)
    assert record.status == "ok", record.error
    result = verify(record.id, runs_dir="runs", timeout=300)
    assert result.reproduced, result.to_json()
    assert result.rerun.id != record.id and result.rerun.parameters == record.parameters == {**record.parameters, "n_estimators": 20}
    assert {"accuracy", "f1"} <= set(record.metrics), "the example reports accuracy and f1 with nb2prod.record"
    assert [metric.name for metric in result.metrics if metric.ok] == list(record.metrics)


@pytest.mark.slow
def test_cli_verify_passes_on_a_deterministic_notebook_with_a_secret(
    tmp_path: Path, notebook: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    record = run_notebook(notebook.name, strings={"api_token": "s3cret", "samples": "400"}, runs_dir="runs")
    assert record.status == "ok", record.error
    assert record.parameters["api_token"] == "***" and set(record.metrics) == {"mean", "above_half", "label", "quartiles"}
    code, _, err = cli(capsys, "verify", record.id)
    assert code == 2 and "-p api_token=VALUE" in err
    code, out, err = cli(capsys, "verify", record.id, "-p", "api_token=other", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["reproduced"] is True, data
    assert [m["name"] for m in data["metrics"] if m["ok"]] == ["mean", "above_half", "label", "quartiles"]
    assert data["rerun_record"]["parameters"] == record.parameters  # samples=400 replayed, the secret redacted again
    assert data["warnings"] == []


@pytest.mark.slow
def test_cli_verify_fails_on_unseeded_random_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(DATA / "unseeded_random.ipynb", "unseeded_random.ipynb")
    record = run_notebook("unseeded_random.ipynb", runs_dir="runs")
    assert record.status == "ok" and isinstance(record.metrics["draw"], float), record.error
    code, out, _ = cli(capsys, "verify", "latest")
    assert code == 1
    draw = next(line for line in out.splitlines() if line.startswith("draw"))
    assert draw.split()[1] == repr(record.metrics["draw"]) and draw.split()[-1] == "NO"
    assert out.splitlines()[-1] == "NOT reproduced (rtol=1e-06, atol=0): draw"
    assert len(list(Path("runs").glob("unseeded_random/*/run.json"))) == 2  # the re-run has its own record
