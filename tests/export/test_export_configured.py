"""``[[tool.nb2prod.export]]`` and ``nb2prod export [--check]`` without notebooks (the nb2prod-export-check hook).

The entries are validated like every other table (unknown keys with a did-you-mean, wrong types,
``out`` or ``into`` required); a stale package is named with its notebooks and the exact command
that refreshes it; the result does not depend on the folder the command starts in.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from nb2prod.cli import main
from nb2prod.config import ExportEntry, load_config
from nb2prod.errors import ConfigError
from nb2prod.export.configured import refresh_command

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
TINY = [
    ("markdown", "# Tiny model", []),
    ("code", "n = 3  # how many numbers", ["parameters"]),
    ("code", "def total(k: int) -> int:\n    return sum(range(k))", ["export"]),
    ("code", "assert total(3) == 3", ["test"]),
    ("code", "result = total(n)", ["main"]),
]


def write_notebook(path: Path, cells: list[tuple[str, str, list[str]]]) -> None:
    """A small nbformat 4.5 notebook: ``(cell_type, source, tags)`` per cell."""
    built = []
    for index, (kind, source, tags) in enumerate(cells):
        cell: dict[str, Any] = {"cell_type": kind, "id": f"cell-{index}", "metadata": {"tags": tags} if tags else {}, "source": source}
        if kind == "code":
            cell |= {"execution_count": None, "outputs": []}
        built.append(cell)
    data = {"cells": built, "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


PYPROJECT = """\
[project]
name = "demo"

[[tool.nb2prod.export]]
notebooks = ["notebooks/tiny.ipynb"]
out = "build/tiny"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git root holding ``notebooks/tiny.ipynb`` and a pyproject.toml that exports it to build/tiny."""
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    write_notebook(root / "notebooks" / "tiny.ipynb", TINY)
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    monkeypatch.chdir(root)
    return root


def export_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["export", *args])
    return code, capsys.readouterr().err


def test_entries_load_with_their_defaults(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        PYPROJECT
        + '\n[[tool.nb2prod.export]]\nnotebooks = ["a.ipynb", "b.ipynb"]\ninto = "src/pkg"\nname = "pkg"\npin = "exact"\nall = true\n',
        encoding="utf-8",
    )
    assert load_config(project / "pyproject.toml").exports == (
        ExportEntry(notebooks=("notebooks/tiny.ipynb",), out="build/tiny"),
        ExportEntry(notebooks=("a.ipynb", "b.ipynb"), into="src/pkg", name="pkg", pin="exact", all_cells=True),
    )


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ('[[tool.nb2prod.export]]\nnotebook = ["a.ipynb"]\nout = "o"\n', "unknown key 'tool.nb2prod.export[0].notebook'", "did you mean"),
        ('[tool.nb2prod.export]\nnotebooks = ["a.ipynb"]\n', "'tool.nb2prod.export' must be a list of tables", "[[tool.nb2prod.export]]"),
        (
            '[[tool.nb2prod.export]]\nnotebooks = "a.ipynb"\nout = "o"\n',
            "'tool.nb2prod.export[0].notebooks' must be a list of strings",
            None,
        ),
        ('[[tool.nb2prod.export]]\nout = "o"\n', "'tool.nb2prod.export[0]' needs 'notebooks'", "notebooks = ["),
        (
            '[[tool.nb2prod.export]]\nnotebooks = ["a.ipynb"]\n',
            "'tool.nb2prod.export[0]' needs one of 'out' and 'into'",
            "existing package",
        ),
        ('[[tool.nb2prod.export]]\nnotebooks = ["a.ipynb"]\nout = "o"\ninto = "p"\n', "needs one of 'out' and 'into', not both", None),
        ('[[tool.nb2prod.export]]\nnotebooks = ["a.ipynb"]\nout = "o"\npin = "loose"\n', "'tool.nb2prod.export[0].pin' must be", None),
    ],
    ids=["typo", "table-not-list", "notebooks-a-string", "no-notebooks", "no-out", "out-and-into", "bad-pin"],
)
def test_bad_entries_are_errors_naming_the_key(
    project: Path, capsys: pytest.CaptureFixture[str], text: str, message: str, hint: str | None
) -> None:
    (project / "pyproject.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(project / "pyproject.toml")
    assert message in info.value.message
    assert hint is None or hint in (info.value.hint or "")
    code, err = export_cli(capsys, "--check")
    assert code == 2 and message in err and "Traceback" not in err


def test_check_fails_on_a_stale_package_naming_the_notebook_and_the_command(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = export_cli(capsys, "--check")
    assert code == 1 and not (project / "build").exists()
    assert (
        "build/tiny: out of date with notebooks/tiny.ipynb (7 files); refresh it with: nb2prod export notebooks/tiny.ipynb -o build/tiny\n"
        in err
    )

    code, err = export_cli(capsys)  # the refresh: every configured package
    assert code == 0 and "exported tiny into build/tiny: 7 written" in err
    assert export_cli(capsys, "--check") == (0, "tiny in build/tiny: up to date (7 unchanged)\n")

    write_notebook(project / "notebooks" / "tiny.ipynb", [("markdown", "# Renamed", []), *TINY[1:]])
    code, err = export_cli(capsys, "--check", "--quiet")
    assert code == 1 and "refresh it with: nb2prod export notebooks/tiny.ipynb -o build/tiny" in err


def test_a_hand_edited_file_asks_for_force(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert export_cli(capsys)[0] == 0
    module = project / "build" / "tiny" / "src" / "tiny" / "tiny.py"
    module.write_text(module.read_text(encoding="utf-8") + "\nEDITED = 1\n", encoding="utf-8")
    code, err = export_cli(capsys, "--check")
    assert code == 1 and err.rstrip().endswith("refresh it with: nb2prod export notebooks/tiny.ipynb -o build/tiny --force")
    assert "EDITED = 1" in module.read_text(encoding="utf-8"), "a check writes nothing"


def test_the_result_is_the_same_from_a_subfolder(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Generated headers name the notebook as given, so the exports run at the project root wherever the command starts."""
    assert export_cli(capsys)[0] == 0
    os.chdir(project / "notebooks")
    assert export_cli(capsys, "--check")[0] == 0
    write_notebook(project / "notebooks" / "tiny.ipynb", [("markdown", "# Renamed", []), *TINY[1:]])
    code, err = export_cli(capsys, "--check")
    assert code == 1 and "refresh it with: cd .. && nb2prod export notebooks/tiny.ipynb -o build/tiny" in err
    assert Path.cwd() == project / "notebooks", "the working folder is restored"


def test_nothing_configured_is_an_error_that_says_what_to_add(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text("[tool.nb2prod]\n", encoding="utf-8")
    code, err = export_cli(capsys, "--check")
    assert code == 2 and "no exports are configured in [[tool.nb2prod.export]]" in err


def test_per_package_options_need_notebooks(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = export_cli(capsys, "--check", "-o", "elsewhere")
    assert code == 2 and "--out need notebooks to apply to" in err


def test_refresh_command_quotes_paths() -> None:
    entry = ExportEntry(notebooks=("my notebooks/a.ipynb",), into="src/pkg", name="pkg", pin="exact", all_cells=True)
    assert refresh_command(entry) == "nb2prod export 'my notebooks/a.ipynb' --into src/pkg --name pkg --pin exact --all"
