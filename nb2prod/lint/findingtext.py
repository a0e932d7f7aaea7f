"""What every lint output format shares: the order of findings, a finding's position and source line, an unreadable file's error text.

:mod:`nb2prod.lint.report` (text, JSON, GitHub annotations) and :mod:`nb2prod.lint.sarif` both
build on these, so the formats agree on order and wording.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .filelines import split_lines
from .rule import FileResult, Finding

if TYPE_CHECKING:
    from ..errors import Nb2prodError
    from ..notebook import Notebook


def sort_key(finding: Finding) -> tuple[int, int, int, str, str]:
    """Order of findings within a file: notebook-level first, then by cell, line, column, code (and message)."""
    cell = -1 if finding.cell_index is None else finding.cell_index
    return (cell, finding.line or 0, finding.column or 0, finding.code, finding.message)


def sorted_findings(result: FileResult) -> list[Finding]:
    """A file's findings in report order (see :func:`sort_key`)."""
    return sorted(result.findings, key=sort_key)


def error_line(result: FileResult) -> str:
    """The one-line ``path: error: …`` of a file that could not be read."""
    text = str(result.error)
    return text if result.error is not None and result.error.path else f"{result.path}: {text}"


def error_message(error: Nb2prodError) -> str:
    """The error of an unreadable file without the leading path (for formats that carry the path apart)."""
    return f"{error.message} ({error.hint})" if error.hint else error.message


def source_line(notebook: Notebook | None, finding: Finding) -> str | None:
    """The text of the line a finding points at, if the notebook and the position are known."""
    if notebook is None or finding.cell_index is None or finding.line is None:
        return None
    if not 0 <= finding.cell_index < len(notebook.cells):
        return None
    lines = split_lines(notebook.cells[finding.cell_index].source)
    return lines[finding.line - 1] if 1 <= finding.line <= len(lines) else None


def cell_position(finding: Finding) -> str:
    """``cell 3, line 2, col 5`` (1-based cell number as Jupyter shows it; missing parts omitted)."""
    parts = [] if finding.cell_index is None else [f"cell {finding.cell_index + 1}"]
    if finding.line is not None:
        parts.append(f"line {finding.line}")
    if finding.column is not None:
        parts.append(f"col {finding.column}")
    return ", ".join(parts)
