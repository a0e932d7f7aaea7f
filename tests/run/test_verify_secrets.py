"""``nb2prod verify`` and secrets: a secret the run was given must be given again (``-p`` or
``NB2PROD_PARAM_<NAME>``); a secret the run took from the notebook's default is left to the notebook.

The record's ``given`` tells the two apart without keeping the value. Tests with a stand-in for
``run_notebook`` check what verify asks for and passes on; the slow ones run a real kernel.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from nb2prod.cli import main
from nb2prod.errors import ParameterError
from nb2prod.records import RunRecord, write_record
from nb2prod.run import run_notebook
from nb2prod.verify import verify

DATA = Path(__file__).resolve().parents[1] / "data" / "runs"
KEY = "sk-proj-Ab3dEf6hIjCoreKey9kLm2nOp5qRs8tUv"


class FakeRun:
    """Stands in for ``run_notebook``: remembers its arguments, returns the record it is given."""

    def __init__(self, result: RunRecord) -> None:
        self.result = result
        self.calls: list[dict[str, Any]] = []

    def __call__(self, notebook: Any, **kwargs: Any) -> RunRecord:
        self.calls.append(kwargs)
        return self.result


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Write a run of a copy of deterministic.ipynb with ``parameters`` and ``given``; return the stand-in run_notebook."""
    notebook = tmp_path / "deterministic.ipynb"
    shutil.copyfile(DATA / "deterministic.ipynb", notebook)

    def write(parameters: dict[str, Any], given: list[str] | None) -> FakeRun:
        directory = tmp_path / "runs" / "deterministic" / "20261128T090000Z-aaaaaa"
        directory.mkdir(parents=True)
        record = RunRecord(
            id=directory.name, notebook=str(notebook), notebook_sha256="", parameters=parameters, given=given, status="ok",
            started="2026-11-28T09:00:00Z", directory=directory,
        )  # fmt: skip
        write_record(record)
        fake = FakeRun(record)
        monkeypatch.setattr("nb2prod.run.run_notebook", fake)
        return fake

    return write


def test_a_secret_the_run_took_from_the_notebook_default_is_not_asked_for(tmp_path: Path, recorded: Any) -> None:
    fake = recorded({"seed": 0, "api_token": "none", "name": KEY}, given=["seed"])
    verify("latest", runs_dir=tmp_path / "runs", environ={})
    assert fake.calls[0]["values"] == {"seed": 0}  # api_token and the key-shaped name: the notebook's defaults again
    assert fake.calls[0]["strings"] == {} and fake.calls[0]["environ"] == {}


def test_a_secret_the_run_was_given_comes_from_p_or_the_environment(tmp_path: Path, recorded: Any) -> None:
    fake = recorded({"seed": 0, "api_token": "t0ken-value", "name": KEY}, given=["api_token", "name"])
    with pytest.raises(ParameterError, match="secret parameters api_token, name") as raised:
        verify("latest", runs_dir=tmp_path / "runs", environ={"NB2PROD_PARAM_SEED": "7"})
    assert raised.value.hint == "pass them again: -p api_token=VALUE -p name=VALUE, or set NB2PROD_PARAM_API_TOKEN, NB2PROD_PARAM_NAME"
    assert fake.calls == []
    environ = {"NB2PROD_PARAM_API_TOKEN": "from-env", "NB2PROD_PARAM_NAME": "ignored: -p wins", "NB2PROD_PARAM_SEED": "7"}
    verify("latest", runs_dir=tmp_path / "runs", overrides={"name": KEY}, environ=environ)
    call = fake.calls[0]
    assert call["values"] == {"seed": 0}  # the recorded seed is replayed: the environment only fills in secrets
    assert call["strings"] == {"name": KEY} and call["environ"] == {"NB2PROD_PARAM_API_TOKEN": "from-env"}


@pytest.mark.slow
def test_verify_reproduces_a_run_that_used_the_secret_default_and_one_given_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(DATA / "deterministic.ipynb", "deterministic.ipynb")
    monkeypatch.delenv("NB2PROD_PARAM_API_TOKEN", raising=False)
    record = run_notebook("deterministic.ipynb", strings={"samples": "300"}, runs_dir="runs")
    assert record.status == "ok" and record.parameters["api_token"] == "***" and record.given == ["samples"]
    code = main(["verify", record.id, "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["reproduced"] and data["rerun_record"]["given"] == ["seed", "samples", "label"], data

    monkeypatch.setenv("NB2PROD_PARAM_API_TOKEN", "env-t0ken-Core")
    record = run_notebook("deterministic.ipynb", strings={"samples": "300"}, runs_dir="runs")
    assert record.status == "ok" and record.given == ["samples", "api_token"]
    monkeypatch.delenv("NB2PROD_PARAM_API_TOKEN")
    code = main(["verify", record.id])
    assert code == 2 and "NB2PROD_PARAM_API_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("NB2PROD_PARAM_API_TOKEN", "env-t0ken-Core")
    code = main(["verify", record.id])
    out = capsys.readouterr().out
    assert code == 0 and "reproduced" in out
    assert not any("t0ken-Core" in path.read_text(encoding="utf-8") for path in Path("runs").rglob("*.*"))
