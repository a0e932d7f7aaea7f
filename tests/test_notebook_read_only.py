"""Read-only reads: nbformat 3 upgraded in memory, cells of unknown types skipped with a notice; writing commands refuse both."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nb2prod.config import Config
from nb2prod.errors import NotebookFormatError
from nb2prod.lint.engine import lint
from nb2prod.lint.fix import fix
from nb2prod.notebook import read_notebook

DATA = Path(__file__).parent / "data" / "lint"
V3 = "nbformat3_notebook_read_for_lint.ipynb"
UNKNOWN = "unknown_cell_type_skipped_by_lint.ipynb"


def test_nbformat_3_is_upgraded_in_memory_for_read_only_use() -> None:
    """As nbformat upgrades it (heading -> markdown, input -> source), without random ids: two reads agree."""
    notebook = read_notebook(DATA / V3, read_only=True)
    assert notebook.upgraded_from == 3 and notebook.nbformat == (4, 4)
    assert [(cell.cell_type, cell.source) for cell in notebook.cells] == [
        ("markdown", "# Sampling"),
        ("code", "import numpy as np\nx = np.arange(3)"),
        ("code", "print(y)"),
        ("markdown", "Done."),
    ]
    assert [cell.execution_count for cell in notebook.cells if cell.cell_type == "code"] == [1, 2]
    assert all(cell.id is None for cell in notebook.cells)
    assert read_notebook(DATA / V3, read_only=True).data == notebook.data
    assert notebook.raw == (DATA / V3).read_bytes()
    [notice] = notebook.notices
    assert notice.startswith("nbformat 3 notebook, read as nbformat 4 in memory; convert it with `jupyter nbconvert")


def test_nbformat_3_is_refused_by_writing_reads_with_how_to_convert() -> None:
    with pytest.raises(NotebookFormatError) as caught:
        read_notebook(DATA / V3, display_path="old.ipynb")
    assert caught.value.message == "nbformat 3 notebook; this command needs nbformat 4"
    assert "jupyter nbconvert --to notebook --nbformat 4 --inplace old.ipynb" in (caught.value.hint or "")


def test_lint_reads_nbformat_3_and_reports_its_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lint is read-only: it reads an nbformat 3 notebook instead of refusing it, says so once, and skips ruff."""
    shutil.copy(DATA / V3, tmp_path / V3)
    monkeypatch.chdir(tmp_path)
    (result,) = lint([tmp_path / V3], config=Config())
    assert result.error is None
    assert ("NB105", 2) in [(f.code, f.cell_index) for f in result.findings]  # `y` is defined nowhere
    assert not [f for f in result.findings if f.origin == "ruff"]
    assert result.notes[0].startswith("nbformat 3 notebook, read as nbformat 4 in memory")


def test_unknown_cell_type_is_skipped_with_one_notice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = read_notebook(DATA / UNKNOWN, read_only=True)
    assert [cell.cell_type for cell in notebook.cells] == ["markdown", "heading", "code"]
    assert notebook.notices == ['cell 2 skipped: unknown cell_type "heading" (nbformat 4 knows code, markdown and raw)']
    shutil.copy(DATA / UNKNOWN, tmp_path / UNKNOWN)
    monkeypatch.chdir(tmp_path)
    (result,) = lint([tmp_path / UNKNOWN], config=Config())
    assert result.error is None and result.findings == []
    assert result.notes[0] == notebook.notices[0]
    with pytest.raises(NotebookFormatError, match='cell_type "heading"'):
        read_notebook(DATA / UNKNOWN)


def test_fix_refuses_nbformat_3_and_unknown_cells_saying_how_to_convert(tmp_path: Path) -> None:
    """A writing command never rewrites what it had to upgrade or skip; the note says how to convert."""
    for name in (V3, UNKNOWN):
        shutil.copy(DATA / name, tmp_path / name)
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    results = {Path(r.path).name: r for r in fix([tmp_path / V3, tmp_path / UNKNOWN], config=Config())}
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before
    assert all(not r.written and r.error is None for r in results.values())
    assert results[V3].notes[0].startswith("not fixed: nbformat 3 notebook; this command needs nbformat 4; convert it with")
    assert "--inplace" in results[V3].notes[0]
    assert results[UNKNOWN].notes[0].startswith('not fixed: cell 2 has cell_type "heading"')
