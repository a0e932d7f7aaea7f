"""Turn lint results into what a person, a script, GitHub Actions or GitHub code scanning reads.

Four formats, all pure functions of the results (nothing here prints or touches the disk):

- ``render_text``: grouped by file, one ``path:cell N:line L:col C: CODE [W] message`` line per
  finding with the offending source line and a caret under it, then a summary line. Colour comes
  from rich, imported only when colour is asked for, so ``import nb2prod.lint.report`` stays cheap.
- ``render_json``: ``{"findings": [...], "errors": [...], "summary": {...}}``.
- ``render_github``: GitHub Actions workflow commands (``::warning file=…::…``).
- ``render_sarif``: SARIF 2.1.0 for GitHub code scanning, with a fingerprint per finding that
  survives moving cells (in :mod:`nb2prod.lint.sarif`, re-exported here).

Every format lists files in the order given and the findings of a file sorted by cell, line,
column and code (notebook-level findings first). Returned strings carry no trailing newline.

Notebook positions are cell-relative (``cell 3, line 2``) while GitHub places annotations on lines
of the file. For an ``.ipynb`` file the line of the file that holds a cell's source line is found
by walking the raw JSON (``FileLines``); the GitHub and SARIF formats use it where it is known and
always also say the cell and line in the message or the result's properties.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..text import printable as _printable
from .filelines import FileLines
from .findingtext import cell_position, error_line, error_message, sort_key, sorted_findings, source_line
from .redact import Redactor, masked_column
from .rule import FileResult, Finding, Severity
from .sarif import FINGERPRINT_KEY, INFORMATION_URI, RUFF_RULES_URI, SARIF_SCHEMA, artifact_uri, fingerprints, render_sarif

if TYPE_CHECKING:
    from ..notebook import Notebook

__all__ = [
    "FINGERPRINT_KEY",
    "INFORMATION_URI",
    "RUFF_RULES_URI",
    "SARIF_SCHEMA",
    "FileLines",
    "Summary",
    "artifact_uri",
    "finding_json",
    "fingerprints",
    "render_github",
    "render_json",
    "render_sarif",
    "render_text",
    "sort_key",
    "source_line",
]


_GITHUB_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
_SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "bold yellow", Severity.INFO: "bold blue"}
_SOURCE_INDENT = "    "

# A line of text output as (text, rich style) pieces; the plain form joins the texts.
_Line = list[tuple[str, str]]


# --- summary ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """The counts that end the text report and the JSON document."""

    files: int  # files given, readable or not
    unreadable: int
    files_with_findings: int
    findings: int
    by_severity: Mapping[Severity, int]
    fixable: int

    @classmethod
    def of(cls, results: Sequence[FileResult]) -> Summary:
        """Count the results."""
        findings = [finding for result in results for finding in result.findings]
        severities = Counter(finding.severity for finding in findings)
        return cls(
            files=len(results),
            unreadable=sum(result.error is not None for result in results),
            files_with_findings=sum(bool(result.findings) for result in results),
            findings=len(findings),
            by_severity={severity: severities[severity] for severity in Severity},
            fixable=sum(finding.fixable for finding in findings),
        )

    def to_json(self) -> dict[str, Any]:
        """The ``summary`` object of ``--format json``."""
        return {
            "files": self.files,
            "unreadable": self.unreadable,
            "files_with_findings": self.files_with_findings,
            "findings": self.findings,
            "by_severity": {severity.name.lower(): self.by_severity[severity] for severity in sorted(Severity, reverse=True)},
            "fixable": self.fixable,
        }

    def sentence(self) -> str:
        """``Found 3 problems (1 error, 2 warnings, 0 info) in 2 files; 1 fixable with --fix.`` and the like."""
        checked = self.files - self.unreadable
        if self.findings:
            counts = (
                f"{_plural(self.by_severity[Severity.ERROR], 'error')}, "
                f"{_plural(self.by_severity[Severity.WARNING], 'warning')}, "
                f"{self.by_severity[Severity.INFO]} info"
            )
            parts = [f"Found {_plural(self.findings, 'problem')} ({counts}) in {_plural(self.files_with_findings, 'file')}"]
            if self.fixable:
                parts.append(f"{self.fixable} fixable with --fix")
        elif self.unreadable:
            parts = [f"No problems found in {_plural(checked, 'file')}"]
        else:
            parts = [f"All checks passed ({_plural(checked, 'file')})"]
        if self.unreadable:
            parts.append(f"{_plural(self.unreadable, 'file')} could not be read")
        return "; ".join(parts) + "."


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# --- text ---------------------------------------------------------------------------------------


def render_text(results: Sequence[FileResult], *, color: bool, show_source: bool = True) -> str:
    """The human report: per file a heading, its notes, its findings with source lines; a summary.

    Files without findings, notes or errors are not listed. A file that could not be read shows
    its ``path: error: …`` line. ``color=False`` gives plain text without escape codes (rich is
    not even imported); ``color=True`` renders ANSI colours through rich.
    """
    groups: list[list[_Line]] = []
    for result in results:
        group: list[_Line] = []
        if result.error is not None:
            group.append([(error_line(result), "red")])
        elif result.findings or result.notes:
            group.append([(result.path, "bold underline")])
        redactor = Redactor(result.notebook)
        group.extend([[("  note: ", "cyan"), (_printable(redactor.text(note)), "")] for note in result.notes])
        for finding in sorted_findings(result):
            group.append(_finding_line(finding, redactor))
            if show_source:
                group.extend(_source_snippet(result.notebook, finding, redactor))
        if group:
            groups.append(group)
    lines: list[_Line] = []
    for group in groups:
        lines.extend(group)
        lines.append([])
    lines.append([(Summary.of(results).sentence(), "bold")])
    return _render_color(lines) if color else "\n".join("".join(text for text, _ in line) for line in lines)


def _finding_line(finding: Finding, redactor: Redactor) -> _Line:
    location = finding.location + (f":col {finding.column}" if finding.column is not None else "")
    line: _Line = [(location, "bold"), (": ", ""), (finding.code, _SEVERITY_STYLE[finding.severity])]
    line.append((f" [{finding.severity.letter}]", ""))
    if finding.fixable:
        line.append((" [*]", "cyan"))
    line.append((f" {_printable(redactor.text(finding.message, finding.cell_index))}", ""))
    return line


def _source_snippet(notebook: Notebook | None, finding: Finding, redactor: Redactor) -> list[_Line]:
    """The source line under a finding (secrets masked), indented, with a caret under the column when it is known."""
    text = source_line(notebook, finding)
    if text is None:
        return []
    text, masked = redactor.line(finding.cell_index, finding.line, text)
    lines: list[_Line] = [[(_SOURCE_INDENT + _printable(text).expandtabs(), "")]]
    if finding.column is not None:
        prefix = _printable(text[: masked_column(masked, max(finding.column - 1, 0))]).expandtabs()
        lines.append([(_SOURCE_INDENT + " " * _display_width(prefix), ""), ("^", "bold red")])
    return lines


def _display_width(text: str) -> int:
    """Terminal columns ``text`` takes: wide East Asian characters count 2, combining marks 0."""
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _render_color(lines: list[_Line]) -> str:
    """Render styled lines to ANSI text with rich (imported here, only when colour is wanted)."""
    import io

    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    # Colour was asked for explicitly: ignore NO_COLOR and the (absent) terminal; never wrap.
    console = Console(file=buffer, force_terminal=True, color_system="standard", no_color=False, highlight=False, width=10_000)
    for line in lines:
        text = Text(no_wrap=True)
        for piece, style in line:
            text.append(piece, style=style or None)
        console.print(text, soft_wrap=True)
    return buffer.getvalue().rstrip("\n")


# --- json ---------------------------------------------------------------------------------------


def render_json(results: Sequence[FileResult]) -> str:
    """``--format json``: every finding (``Finding.to_json``), every unreadable file, and the counts."""
    findings = []
    for result in results:
        redactor = Redactor(result.notebook)
        findings.extend(finding_json(finding, redactor) for finding in sorted_findings(result))
    document = {
        "findings": findings,
        "errors": [{"path": result.path, "message": error_line(result)} for result in results if result.error is not None],
        "summary": Summary.of(results).to_json(),
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def finding_json(finding: Finding, redactor: Redactor | None = None) -> dict[str, Any]:
    """A finding as ``--format json`` shows it: ``Finding.to_json`` plus ``cell_number``, the message masked.

    ``cell_index`` counts cells from 0 (as nbformat's list does); ``cell_number`` is the number
    Jupyter shows and the text report prints (``cell 3``), i.e. ``cell_index + 1``.
    """
    document: dict[str, Any] = {}
    for key, value in finding.to_json().items():
        document[key] = value
        if key == "cell_index":
            document["cell_number"] = None if finding.cell_index is None else finding.cell_index + 1
    if redactor is not None and isinstance(document.get("message"), str):
        document["message"] = redactor.text(document["message"], finding.cell_index)
    return document


# --- github -------------------------------------------------------------------------------------


def render_github(results: Sequence[FileResult]) -> str:
    """``--format github``: one GitHub Actions workflow command per finding and per unreadable file.

    The message starts with the cell-relative position (``cell 3, line 2, col 5: …``), which is
    what a reader of a notebook needs. ``line=`` is passed only when it is a line of the file
    itself: for an .ipynb, the line of the JSON that holds the cell's source line (so the
    annotation lands on that line in the pull request's diff); for a finding outside any cell,
    its own line. Text notebooks (jupytext) and positions that cannot be mapped get a file-level
    annotation. ``col=`` is never passed for cells: JSON escaping shifts columns.
    """
    commands: list[str] = []
    for result in results:
        if result.error is not None:
            commands.append(f"::error file={_escape_property(result.path)}::{_escape_data(error_message(result.error))}")
        lines = FileLines(result.notebook)
        redactor = Redactor(result.notebook)
        for finding in sorted_findings(result):
            properties = [f"file={_escape_property(finding.path)}"]
            if finding.cell_index is None:
                if finding.line is not None:
                    properties.append(f"line={finding.line}")
                    if finding.column is not None:
                        properties.append(f"col={finding.column}")
                message = redactor.text(finding.message)
            else:
                mapped = lines.file_line(finding)
                if mapped is not None:
                    properties.append(f"line={mapped}")
                message = f"{cell_position(finding)}: {redactor.text(finding.message, finding.cell_index)}"
            properties.append(f"title={_escape_property(finding.code)}")
            commands.append(f"::{_GITHUB_COMMAND[finding.severity]} {','.join(properties)}::{_escape_data(message)}")
    return "\n".join(commands)


def _escape_data(text: str) -> str:
    """Escape a workflow command's message the way GitHub's toolkit does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """Escape a workflow command's property value: as a message, plus ``:`` and ``,``."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
