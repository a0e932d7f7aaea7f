"""``nb2prod run`` refuses, before any run folder exists, input that a run could not carry to the end.

reliability.md scenario 54: a notebook that strip, lint and fmt accept — metadata nested 900 deep,
a lone surrogate in a cell — used to end in an internal error (exit 3) half-way through a run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from run_helpers import copy_fixtures

from nb2prod.cli import main
from nb2prod.errors import EXIT_INPUT


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_fixtures(tmp_path, monkeypatch)


def refused(capsys: pytest.CaptureFixture[str], work: Path, *args: str) -> str:
    """Run ``nb2prod run ARGS``; assert exit 2, one line on stderr and no runs folder; return that line."""
    code = main(["run", *args, "--runs-dir", "runs"])
    err = capsys.readouterr().err
    assert code == EXIT_INPUT, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err and "internal error" not in err
    assert not (work / "runs").exists(), "a run folder was created for a run that could not start"
    return err


def test_scenario_54_metadata_nested_900_deep_is_refused(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(capsys, work, "metadata_nested_900_deep.ipynb")
    assert err.startswith("metadata_nested_900_deep.ipynb: error: cell 1 is nested more than 100 levels deep")


def test_scenario_54_a_lone_surrogate_is_refused(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(capsys, work, "lone_surrogate.ipynb")
    assert err.startswith("lone_surrogate.ipynb: error: cell 2 holds a lone surrogate '\\ud800'")


def test_a_parameter_with_a_lone_surrogate_is_refused(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Bytes that are not UTF-8 on a command line reach Python as lone surrogates (surrogateescape)."""
    err = refused(capsys, work, "typed_parameters.ipynb", "-p", "text=\udcff")
    assert "error: the parameter 'text' holds a lone surrogate '\\udcff'" in err


def test_a_parameter_value_nested_too_deep_is_refused(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nested: list = []
    for _ in range(900):
        nested = [nested]
    (work / "deep.json").write_text(json.dumps({"options": {"x": nested}}), encoding="utf-8")
    err = refused(capsys, work, "typed_parameters.ipynb", "-f", "deep.json")
    assert "error: the parameter 'options' is nested more than 100 levels deep" in err
