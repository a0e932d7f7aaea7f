"""What the CLI prints itself, outside lint and runs, never shows a secret (issue #9; scenario 45/46)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from nb2prod.cli import main

OPENAI = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"
PASSWORD = "correct-horse-" + "battery-staple"


def _notebook(tmp_path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    source = f'api_password = "{PASSWORD}"  # the database password\nmodel_name = "{OPENAI}"\nseed = 1  # key: {OPENAI}\n'
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    path = tmp_path / "secret_defaults.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("form", ["text", "json"])
def test_params_never_prints_a_secret_default(tmp_path: Path, capsys: pytest.CaptureFixture[str], form: str) -> None:
    path = _notebook(tmp_path)
    assert main(["params", str(path), "--format", form]) == 0
    out = capsys.readouterr()
    printed = out.out + out.err
    assert OPENAI not in printed and PASSWORD not in printed
    assert "seed" in printed and "api_password" in printed
    if form == "json":
        defaults = {p["name"]: p["default"] for p in json.loads(out.out)["parameters"]}
        assert defaults == {"api_password": "***", "model_name": "***", "seed": 1}


def test_an_internal_error_message_is_masked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import nb2prod.cli.params as params_cli

    def boom(args: object) -> int:
        raise RuntimeError(f"unexpected value {OPENAI!r}")

    monkeypatch.setattr(params_cli, "run", boom)
    assert main(["params", str(_notebook(tmp_path))]) == 3
    err = capsys.readouterr().err
    assert "internal error" in err and OPENAI not in err


def test_running_out_of_memory_is_said_as_such_not_as_a_bug(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import nb2prod.cli.params as params_cli

    def oom(args: object) -> int:
        raise MemoryError

    monkeypatch.setattr(params_cli, "run", oom)
    assert main(["params", str(_notebook(tmp_path))]) == 3
    err = capsys.readouterr().err
    assert err.startswith("nb2prod: error: out of memory (") and "bug" not in err and len(err.splitlines()) == 1
