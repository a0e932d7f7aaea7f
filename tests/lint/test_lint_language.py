"""Per-notebook language decision: Python 2 and non-Python notebooks get one notice, not a flood of false findings."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from nb2prod.config import Config
from nb2prod.lint.engine import lint
from nb2prod.lint.language import notebook_language

DATA = Path(__file__).parent.parent / "data" / "lint"


@pytest.mark.parametrize(
    ("metadata", "name", "python2"),
    [
        ({}, None, False),
        ({"kernelspec": {"name": "python3", "display_name": "Python 3"}}, "python", False),
        ({"kernelspec": {"name": "python2", "display_name": "Python 2", "language": "python"}}, "python", True),
        ({"kernelspec": {"name": "conda-env-py27", "display_name": "Python 2 (legacy)", "language": "python"}}, "python", True),
        ({"language_info": {"name": "python", "version": "2.7.18"}, "kernelspec": {"name": "python3"}}, "python", True),
        ({"language_info": {"name": "python", "version": "3.11.4"}, "kernelspec": {"display_name": "Python 2"}}, "python", False),
        ({"language_info": {"name": "python", "codemirror_mode": {"name": "ipython", "version": 2}}}, "python", True),
        ({"language_info": {"name": "python", "pygments_lexer": "ipython3"}, "kernelspec": {"name": "python2"}}, "python", False),
        ({"kernelspec": {"name": "ir", "display_name": "R"}}, "r", False),
        ({"kernelspec": {"name": ".net-pwsh", "display_name": ".NET (PowerShell)"}}, "powershell", False),
        ({"jupytext": {"main_language": "powershell"}}, "powershell", False),
        ({"jupytext": {"main_language": "python"}, "kernelspec": {"name": "python3"}}, "python", False),
        ({"language_info": {"name": "R"}, "kernelspec": {"name": "python3", "language": "python"}}, "r", False),
        ({"kernelspec": "not a mapping", "language_info": ["nor", "this"]}, None, False),
    ],
)
def test_notebook_language(metadata: dict[str, Any], name: str | None, python2: bool) -> None:
    """language_info first (the kernel wrote it), then the kernelspec, then jupytext's main_language."""
    language = notebook_language(metadata)
    assert (language.name, language.python2) == (name, python2)
    assert language.is_python3 == (name in (None, "python") and not python2)


def _lint(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int | None]]:
    """Lint a fixture with ruff, from a folder with no configuration (the repository's excludes tests/data from ruff)."""
    path = tmp_path / name
    shutil.copy(DATA / name, path)
    monkeypatch.chdir(tmp_path)
    (result,) = lint([path], config=Config())
    assert result.error is None
    return [(f.code, f.cell_index) for f in result.findings]


def test_python2_notebook_gets_one_notice_not_undefined_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Python 2 kernel (`xrange`, `print x`): no NB105 for `xrange`/`unicode`, no ruff syntax errors; NB510 says why, once."""
    found = _lint("nb105_python2_kernel_not_linted_as_python3.ipynb", tmp_path, monkeypatch)
    assert found == [("NB510", None)]


def test_powershell_jupytext_notebook_gets_one_notice_not_syntax_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A jupytext Markdown notebook whose main_language is PowerShell is not read as Python (it gave one syntax error per line)."""
    found = _lint("nb208_powershell_jupytext_not_linted_as_python.md", tmp_path, monkeypatch)
    assert found == [("NB510", None)]


def test_python2_kernel_with_python3_code_is_linted_with_python2_builtins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Python 2 kernel whose cells all parse as Python 3 is linted: `xrange`, `unicode`, `reduce` are builtins there,
    a name no cell defines is still reported, and a note (not a finding) says how it was read."""
    name = "nb105_python2_kernel_python3_compatible_code.ipynb"
    shutil.copy(DATA / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    (result,) = lint([tmp_path / name], config=Config())
    assert [(f.code, f.cell_index, f.message.split("'")[1]) for f in result.findings if f.code.startswith("NB1")] == [("NB105", 3, "ghost")]
    assert not [f for f in result.findings if f.code == "NB510" or f.origin == "ruff"]
    assert result.notes == ["Python 2 kernel, but every cell parses as Python 3: linted as Python 3 with Python 2's builtins; ruff skipped"]
