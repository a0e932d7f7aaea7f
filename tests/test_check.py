"""``nb2prod check`` (``nb2prod.check``): strip, fmt and lint in one process, as the three commands do them one after another.

The file it writes is byte for byte what ``nb2prod strip`` then ``nb2prod fmt`` write; each
notebook is read once and written once; every line of output names its check; the exit code is
1 when a check changed something or lint found something, 2 when a notebook could not be read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import nb2prod
import nb2prod.check as check_module
from nb2prod.cli import main

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def notebook(*sources: str, outputs: bool = False) -> dict[str, Any]:
    cells = []
    for index, source in enumerate(sources):
        stream = {"name": "stdout", "output_type": "stream", "text": "done\n"}
        cells.append(
            {
                "cell_type": "code",
                "execution_count": index + 1 if outputs else None,
                "id": f"c{index}",
                "metadata": {"ExecuteTime": {"end_time": "2024-01-01"}} if outputs else {},
                "outputs": [stream] if outputs else [],
                "source": source,
            }
        )
    meta = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["check", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


DIRTY = ("import os\nx   =   [1,2,3]", "print( x )")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder (its own pyproject.toml), the current folder."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_dirty_notebook_is_stripped_and_formatted_in_one_write_and_every_check_is_named(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(project / "one.ipynb", notebook(*DIRTY, outputs=True))
    expected = write(project / "expected.ipynb", notebook(*DIRTY, outputs=True))
    assert main(["strip", "--quiet", str(expected)]) == 0 and main(["fmt", "--quiet", str(expected)]) == 0
    capsys.readouterr()
    writes: list[str] = []
    original = check_module.write_notebook
    monkeypatch.setattr(check_module, "write_notebook", lambda nb, data: writes.append(nb.display_path) or original(nb, data))

    code, out, err = run(capsys, "one.ipynb")
    assert code == 1
    assert path.read_bytes() == expected.read_bytes(), "what strip, then fmt, write"
    assert writes == ["one.ipynb"], "one write for both rewrites"
    lines = out.splitlines()
    assert lines[:3] == [
        "strip: one.ipynb: outputs, execution counts or volatile metadata cleared",
        "fmt: one.ipynb: code cells reformatted",
        "lint:",
    ]
    assert "one.ipynb:cell 1:line 1:col 8: F401 " in out
    summary = "nb2prod check failed: strip (1 notebook stripped), fmt (1 notebook reformatted), lint (findings above)"
    assert err.strip().splitlines()[-1] == summary

    code, out, err = run(capsys, "one.ipynb")
    assert code == 1 and "strip:" not in out and "fmt:" not in out and "F401" in out
    assert err.strip() == "nb2prod check failed: lint (findings above)"
    assert writes == ["one.ipynb"], "nothing left to write"


def test_a_clean_notebook_passes_silently_and_is_not_written(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(project / "one.ipynb", notebook("x = [1, 2, 3]", "print(x)"))
    before = path.stat().st_mtime_ns, path.read_bytes()
    assert run(capsys, "one.ipynb") == (0, "", "")
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before


def test_no_write_reports_what_would_change_and_lints_the_file_as_it_is(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(project / "one.ipynb", notebook(*DIRTY, outputs=True))
    raw = path.read_bytes()
    code, out, err = run(capsys, "--no-write", "one.ipynb")
    assert code == 1 and path.read_bytes() == raw
    assert "strip: one.ipynb: outputs, execution counts or volatile metadata would be cleared" in out
    assert "fmt: one.ipynb: code cells would be reformatted" in out and "F401" in out
    assert "strip (1 notebook would be stripped), fmt (1 notebook would be reformatted)" in err


def test_only_lint_findings_fail_without_a_write(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project / "one.ipynb", notebook("import os"))
    result = nb2prod.check(["one.ipynb"])
    assert result.stripped == [] and result.formatted == [] and result.lint_fails and not result.passed and not result.failed
    assert [f.code for f in result.lint.findings] == ["F401"]


def test_an_unreadable_notebook_is_reported_once_and_the_others_are_checked(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "broken.ipynb").write_text("{not json", encoding="utf-8")
    good = write(project / "good.ipynb", notebook(*DIRTY, outputs=True))
    code, out, err = run(capsys, "broken.ipynb", "good.ipynb")
    assert code == 2, "an input error wins over findings"
    assert "strip: good.ipynb: outputs" in out and "fmt: good.ipynb: code cells reformatted" in out
    assert (out + err).count("broken.ipynb: error:") == 1, out + err
    assert json.loads(good.read_text(encoding="utf-8"))["cells"][0]["outputs"] == []
    assert "errors above" in err


def test_a_text_notebook_is_formatted_not_stripped(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project / "explore.py"
    path.write_text("# %%\nx   =   [1,2,3]\nprint( x )\n", encoding="utf-8")
    code, out, _ = run(capsys, "explore.py")
    assert code == 1 and out.splitlines() == ["fmt: explore.py: code cells reformatted"]
    assert "x = [1, 2, 3]\nprint(x)\n" in path.read_text(encoding="utf-8")


def test_the_formatter_option_and_setting_choose_black_as_fmt_does(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--formatter black`` (or ``[tool.nb2prod.lint] formatter``) formats as ``nb2prod fmt --formatter black`` does."""
    (project / "pyproject.toml").write_text('[project]\nname = "p"\n\n[tool.black]\nskip-string-normalization = true\n', encoding="utf-8")
    source = "x = {'a':1}\nprint( x )"  # black, told so, keeps the quotes; ruff's formatter would make them double
    path = write(project / "one.ipynb", notebook(source))
    expected = write(project / "expected.ipynb", notebook(source))
    assert main(["fmt", "--quiet", "--formatter", "black", str(expected)]) == 0
    code, out, _ = run(capsys, "--formatter", "black", "one.ipynb")
    assert code == 1 and out.splitlines() == ["fmt: one.ipynb: code cells reformatted"]
    assert path.read_bytes() == expected.read_bytes() and "x = {'a': 1}" in path.read_text(encoding="utf-8")
    with pytest.raises(nb2prod.UsageError, match="unknown formatter"):
        nb2prod.check(["one.ipynb"], formatter="yapf")


def test_a_notebook_only_fmt_rewrites_is_linted_as_written(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Notebooks strip leaves alone are linted while fmt runs; one fmt then rewrites is linted again, on its new lines."""
    write(project / "one.ipynb", notebook("import os\ny = undefined_name+1"))  # fmt adds a blank line after the import
    result = nb2prod.check(["one.ipynb"])
    assert result.stripped == [] and result.formatted == ["one.ipynb"]
    assert {(f.code, f.line) for f in result.lint.findings if f.code in ("F401", "NB105")} == {("F401", 1), ("NB105", 3)}
