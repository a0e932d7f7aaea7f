"""What ``nb2prod.lint`` returns: the per-file results, able to show themselves as text or as an HTML table.

A list of :class:`~nb2prod.lint.rule.FileResult` (code that iterates results keeps working) that
also renders itself: ``str()`` is the plain text report of ``nb2prod lint``; ``_repr_html_`` is
the table Jupyter displays for ``%nb2prod lint`` (or for ``nb2prod.lint(...)`` as a cell's
value), each finding naming its cell by number and first line. Text from the notebook goes
through the same secret masking as the text report, then HTML escaping.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from ..text import printable
from .live import first_line
from .redact import Redactor
from .report import Summary, render_text, sort_key
from .rule import FileResult, Finding, Severity

_SEVERITY_COLOUR = {Severity.ERROR: "#b00020", Severity.WARNING: "#9a6700", Severity.INFO: "#0550ae"}
_CELL = "padding:2px 8px;text-align:left;vertical-align:top;border-bottom:1px solid #ddd"


class LintResults(list[FileResult]):
    """Lint's results, one per file, in the order given; ``header`` lines (which file, when saved) lead both renderings."""

    def __init__(self, results: Iterable[FileResult] = (), *, header: Iterable[str] = ()):
        super().__init__(results)
        self.header = list(header)

    @property
    def findings(self) -> list[Finding]:
        """Every finding of every file."""
        return [finding for result in self for finding in result.findings]

    def fails(self, fail_on: Severity = Severity.WARNING) -> bool:
        """Whether a finding is at or above ``fail_on`` (``nb2prod lint`` then exits 1)."""
        return any(f.severity >= fail_on for f in self.findings)

    def text(self) -> str:
        """The plain text report (the header lines, then what ``nb2prod lint`` prints)."""
        return "\n".join([*(printable(line) for line in self.header), render_text(self, color=False)])

    def __str__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's text display: the report, not the list's repr."""
        printer.text(self.text())

    def _repr_html_(self) -> str:
        """A table per file: cell (number and first line), line, code, severity, message; then the summary."""
        parts = [f"<p>{html.escape(printable(line))}</p>" for line in self.header]
        for result in self:
            parts.append(_file_html(result))
        parts.append(f"<p><b>{html.escape(Summary.of(self).sentence())}</b></p>")
        return '<div class="nb2prod-lint">' + "".join(parts) + "</div>"


def _file_html(result: FileResult) -> str:
    """One file's heading, notes or error, and its table of findings."""
    shown = html.escape(printable(result.path))
    if result.error is not None:
        return f'<p style="color:#b00020">{html.escape(printable(str(result.error)))}</p>'
    redactor = Redactor(result.notebook)
    parts = [f"<p><code>{shown}</code>: {len(result.findings)} finding{'s' * (len(result.findings) != 1)}</p>"]
    parts += [f"<p><i>note: {html.escape(printable(redactor.text(note)))}</i></p>" for note in result.notes]
    if not result.findings:
        return "".join(parts)
    head = "".join(f'<th style="{_CELL}">{name}</th>' for name in ("cell", "line", "code", "", "message"))
    rows = []
    for finding in sorted(result.findings, key=sort_key):
        cell = _cell_label(result, finding, redactor)
        colour = _SEVERITY_COLOUR[finding.severity]
        cells = (
            cell,
            "" if finding.line is None else str(finding.line),
            f'<b style="color:{colour}">{html.escape(finding.code)}</b>',
            finding.severity.name.lower(),
            html.escape(printable(redactor.text(finding.message, finding.cell_index))),
        )
        rows.append("<tr>" + "".join(f'<td style="{_CELL}">{value}</td>' for value in cells) + "</tr>")
    parts.append(f'<table style="border-collapse:collapse"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')
    return "".join(parts)


def _cell_label(result: FileResult, finding: Finding, redactor: Redactor) -> str:
    """``[3] b = a * 2``: the cell's number as Jupyter shows it and its first line (secrets masked); ``notebook`` for the whole file."""
    if finding.cell_index is None:
        return "<i>notebook</i>"
    notebook = result.notebook
    line = ""
    if notebook is not None and finding.cell_index < len(notebook.cells):
        line = first_line(redactor.text(notebook.cells[finding.cell_index].source, finding.cell_index))
    label = f"cell {finding.cell_index + 1}"
    return f'{label} <code style="white-space:nowrap">{html.escape(printable(line))}</code>' if line else label
