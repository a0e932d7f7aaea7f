"""``nb2prod run`` refuses, before any run folder exists, input that a run could not carry to the end.

reliability.md scenario 54: a notebook that strip, lint and fmt accept — metadata nested 900 deep,
a lone surrogate in a cell — used to end in an internal error (exit 3) half-way through a run.
"""

from __future__ import annotations

import json
import time
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


# --- scenario 58: what a parameters file expands to is capped ------------------------------------------

BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n" for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
)  # 9**9 = 387 million strings once expanded, in 600 bytes


def test_scenario_58_yaml_alias_bomb_is_refused_fast(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import tracemalloc

    (work / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    tracemalloc.start()
    started = time.monotonic()
    try:
        err = refused(capsys, work, "typed_parameters.ipynb", "-f", "bomb.yaml")
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert time.monotonic() - started < 10 and peak < 100 * 2**20
    assert err.startswith("bomb.yaml: error: the parameters file expands to more than 100,000 values once its aliases (*name) are followed")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("self.yaml", "a: &a [1, *a]\n", "expands to more than 100,000 values"),  # an alias that contains itself
        ("long.yaml", "a: &a " + "x" * 1_000_000 + "\nb: [" + ", ".join(["*a"] * 20) + "]\n", "expands to more than 10,000,000 characters"),
        ("deep.yaml", "x: " + "[" * 5000 + "]" * 5000 + "\n", "the YAML is nested too deep to read"),
        ("deep.json", '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}", "the JSON is nested too deep to read"),
        ("many.json", json.dumps({"x": list(range(100_001))}), "expands to more than 100,000 values (write"),
    ],
)
def test_parameters_files_beyond_the_caps_are_refused(
    work: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, message: str
) -> None:
    (work / name).write_text(text, encoding="utf-8")
    assert message in refused(capsys, work, "typed_parameters.ipynb", "-f", name)


def test_a_parameters_file_with_modest_aliases_is_read(work: Path) -> None:
    from nb2prod.run import load_parameters_file

    (work / "aliases.yaml").write_text(BOMB.split("c:")[0], encoding="utf-8")  # 9 + 81 values
    loaded = load_parameters_file(work / "aliases.yaml")
    assert loaded["b"] == [["lol"] * 9] * 9
