"""Turn lint results into what a person, a script, GitHub Actions or GitHub code scanning reads.

Four formats, all pure functions of the results (nothing here prints or touches the disk):

- ``render_text``: grouped by file, one ``path:cell N:line L:col C: CODE [W] message`` line per
  finding with the offending source line and a caret under it, then a summary line. Colour comes
  from rich, imported only when colour is asked for, so ``import nb2prod.lint.report`` stays cheap.
- ``render_json``: ``{"findings": [...], "errors": [...], "summary": {...}}``.
- ``render_github``: GitHub Actions workflow commands (``::warning file=…::…``).
- ``render_sarif``: SARIF 2.1.0 for GitHub code scanning, with a fingerprint per finding that
  survives moving cells.

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
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..text import printable as _printable
from .filelines import FileLines, split_lines
from .redact import Redactor, masked_column
from .rule import FileResult, Finding, Rule, RuleDoc, Severity

if TYPE_CHECKING:
    from ..errors import Nb2prodError
    from ..notebook import Notebook

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/nb2prod/nb2prod"
RUFF_RULES_URI = "https://docs.astral.sh/ruff/rules/"
#: The key of ``partialFingerprints``. GitHub's upload action fills this key from the raw file
#: line when a tool leaves it out, which inside an .ipynb is a line of JSON that moves with every
#: edit above it; providing it keeps GitHub on nb2prod's cell-aware fingerprint.
FINGERPRINT_KEY = "primaryLocationLineHash"

_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_GITHUB_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
_SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "bold yellow", Severity.INFO: "bold blue"}
_SOURCE_INDENT = "    "

# A line of text output as (text, rich style) pieces; the plain form joins the texts.
_Line = list[tuple[str, str]]


def sort_key(finding: Finding) -> tuple[int, int, int, str, str]:
    """Order of findings within a file: notebook-level first, then by cell, line, column, code (and message)."""
    cell = -1 if finding.cell_index is None else finding.cell_index
    return (cell, finding.line or 0, finding.column or 0, finding.code, finding.message)


def _sorted_findings(result: FileResult) -> list[Finding]:
    return sorted(result.findings, key=sort_key)


def _error_line(result: FileResult) -> str:
    """The one-line ``path: error: …`` of a file that could not be read."""
    text = str(result.error)
    return text if result.error is not None and result.error.path else f"{result.path}: {text}"


def _error_message(error: Nb2prodError) -> str:
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
            group.append([(_error_line(result), "red")])
        elif result.findings or result.notes:
            group.append([(result.path, "bold underline")])
        redactor = Redactor(result.notebook)
        group.extend([[("  note: ", "cyan"), (_printable(redactor.text(note)), "")] for note in result.notes])
        for finding in _sorted_findings(result):
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
        findings.extend(finding_json(finding, redactor) for finding in _sorted_findings(result))
    document = {
        "findings": findings,
        "errors": [{"path": result.path, "message": _error_line(result)} for result in results if result.error is not None],
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
            commands.append(f"::error file={_escape_property(result.path)}::{_escape_data(_error_message(result.error))}")
        lines = FileLines(result.notebook)
        redactor = Redactor(result.notebook)
        for finding in _sorted_findings(result):
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
                message = f"{_cell_position(finding)}: {redactor.text(finding.message, finding.cell_index)}"
            properties.append(f"title={_escape_property(finding.code)}")
            commands.append(f"::{_GITHUB_COMMAND[finding.severity]} {','.join(properties)}::{_escape_data(message)}")
    return "\n".join(commands)


def _cell_position(finding: Finding) -> str:
    """``cell 3, line 2, col 5`` (1-based cell number as Jupyter shows it; missing parts omitted)."""
    parts = [] if finding.cell_index is None else [f"cell {finding.cell_index + 1}"]
    if finding.line is not None:
        parts.append(f"line {finding.line}")
    if finding.column is not None:
        parts.append(f"col {finding.column}")
    return ", ".join(parts)


def _escape_data(text: str) -> str:
    """Escape a workflow command's message the way GitHub's toolkit does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """Escape a workflow command's property value: as a message, plus ``:`` and ``,``."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


# --- sarif --------------------------------------------------------------------------------------


def render_sarif(results: Sequence[FileResult], rules: Mapping[str, Rule], *, tool_version: str) -> str:
    """``--format sarif``: a SARIF 2.1.0 log with one run, as GitHub code scanning takes it.

    - ``tool.driver.rules`` describes the codes that occur, nb2prod's from ``rules`` (with the
      ``nb2prod rules CODE`` page as help); codes of ruff or other tools get a minimal entry.
    - Each result's physical location is the file (a relative URI with forward slashes) and, as
      region, the line of the file holding the cell's line where it is known (.ipynb), else line 1.
      The cell-relative position is in a ``logicalLocations`` entry (``cell 3``, kind ``module``: a
      cell is a unit of code) and in ``properties`` (``cell_index``, ``cell_id``, ``line``, ``column``).
    - ``partialFingerprints`` holds a fingerprint that survives moving cells (see ``fingerprints``).
    - Unreadable files become ``toolExecutionNotifications`` and ``executionSuccessful`` false.
    """
    ordered = [(result, _sorted_findings(result)) for result in results]
    codes = sorted({finding.code for _, findings in ordered for finding in findings})
    first_severity: dict[str, Severity] = {}
    for _, findings in ordered:
        for finding in findings:
            first_severity.setdefault(finding.code, finding.severity)
    origins = {finding.code: finding.origin for _, findings in ordered for finding in findings}
    rule_index = {code: index for index, code in enumerate(codes)}
    descriptors = [
        _rule_descriptor(rules[code]) if code in rules else _foreign_descriptor(code, origins[code], first_severity[code]) for code in codes
    ]
    sarif_results = []
    for result, findings in ordered:
        lines = FileLines(result.notebook)
        redactor = Redactor(result.notebook)
        for finding, fingerprint in zip(findings, fingerprints(result.notebook, findings, redactor), strict=True):
            sarif_results.append(_sarif_result(finding, rule_index[finding.code], fingerprint, lines.file_line(finding), redactor))
    notifications = [
        {
            "level": "error",
            "message": {"text": _error_line(result)},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": artifact_uri(result.path)}}}],
        }
        for result in results
        if result.error is not None
    ]
    invocation: dict[str, Any] = {"executionSuccessful": not notifications}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run = {
        "tool": {"driver": {"name": "nb2prod", "version": tool_version, "informationUri": INFORMATION_URI, "rules": descriptors}},
        "invocations": [invocation],
        "results": sarif_results,
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2, ensure_ascii=False)


def _sarif_result(finding: Finding, index: int, fingerprint: str, file_line: int | None, redactor: Redactor) -> dict[str, Any]:
    if file_line is None and finding.cell_index is None and finding.line is not None:
        file_line = finding.line  # a position in the file itself, not in a cell
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {"uri": artifact_uri(finding.path)}, "region": {"startLine": file_line or 1}},
    }
    if finding.cell_index is not None:
        cell = f"cell {finding.cell_index + 1}"
        location["logicalLocations"] = [{"name": cell, "fullyQualifiedName": f"{finding.path}:{cell}", "kind": "module"}]
    message = redactor.text(finding.message, finding.cell_index)
    text = message if finding.cell_index is None else f"{message} ({_cell_position(finding)})"
    return {
        "ruleId": finding.code,
        "ruleIndex": index,
        "level": _SARIF_LEVEL[finding.severity],
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
        "properties": {
            "cell_index": finding.cell_index,
            "cell_number": None if finding.cell_index is None else finding.cell_index + 1,
            "cell_id": finding.cell_id,
            "line": finding.line,
            "column": finding.column,
            "fixable": finding.fixable,
            "origin": finding.origin,
        },
    }


def _rule_descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.doc.what},
        "help": {"text": _help_text(rule.doc), "markdown": _help_markdown(rule.doc)},
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity], "enabled": rule.default_on},
        "properties": {"origin": "nb2prod", "fixable": rule.fixable},
    }


def _foreign_descriptor(code: str, origin: str, severity: Severity) -> dict[str, Any]:
    """A minimal rule entry for a code nb2prod does not describe (ruff's, another tool's)."""
    descriptor: dict[str, Any] = {
        "id": code,
        "shortDescription": {"text": f"{code} (reported by {origin})"},
        "defaultConfiguration": {"level": _SARIF_LEVEL[severity]},
        "properties": {"origin": origin},
    }
    if origin == "ruff":
        descriptor["helpUri"] = RUFF_RULES_URI
    return descriptor


def _help_text(doc: RuleDoc) -> str:
    sections = [doc.what, f"Why it matters in production: {doc.why}", f"Bad:\n{doc.bad}", f"Good:\n{doc.good}", f"Fix: {doc.fix}"]
    if doc.limits:
        sections.append(f"Limits: {doc.limits}")
    return "\n\n".join(sections)


def _help_markdown(doc: RuleDoc) -> str:
    sections = [
        doc.what,
        f"**Why it matters in production:** {doc.why}",
        f"**Bad**\n\n```python\n{doc.bad}\n```",
        f"**Good**\n\n```python\n{doc.good}\n```",
        f"**Fix:** {doc.fix}",
    ]
    if doc.limits:
        sections.append(f"**Limits:** {doc.limits}")
    return "\n\n".join(sections)


def artifact_uri(path: str) -> str:
    """The SARIF URI of a path: relative with forward slashes (absolute paths below the working
    directory are made relative to it; others become ``file://`` URIs), percent-encoded."""
    target = Path(path)
    if target.is_absolute():
        try:
            target = target.relative_to(Path.cwd())
        except ValueError:
            return target.as_uri()
    return quote(target.as_posix().removeprefix("./"), safe="/")


def fingerprints(notebook: Notebook | None, findings: Sequence[Finding], redactor: Redactor | None = None) -> list[str]:
    """A fingerprint per finding (in the given order) that stays the same when cells move.

    It hashes the path, the code, the cell (its id, or the hash of its source for notebooks
    without ids), the offending line's text with whitespace normalised, and the occurrence index
    among findings with the same code and line text in that cell — never the cell index or line
    number, so inserting or reordering cells keeps it, while editing the offending line changes it.
    Without the notebook, the line text is unknown and only the occurrence index separates findings.
    The line is hashed with its secrets masked: a hash of a line holding a short password could be
    brute-forced.
    """
    redactor = redactor if redactor is not None else Redactor(notebook)
    seen: Counter[tuple[str, str, str, str]] = Counter()
    prints = []
    for finding in findings:
        line = source_line(notebook, finding) or ""
        text = " ".join(redactor.line(finding.cell_index, finding.line, line)[0].split())
        key = (artifact_uri(finding.path), finding.code, _cell_anchor(notebook, finding), text)
        occurrence = seen[key]
        seen[key] += 1
        payload = json.dumps([*key, occurrence], ensure_ascii=False)
        prints.append(_sha256(payload.encode("utf-8")).hexdigest()[:32])
    return prints


def _cell_anchor(notebook: Notebook | None, finding: Finding) -> str:
    """What identifies a finding's cell independently of its position."""
    if finding.cell_index is None:
        return "notebook"
    if finding.cell_id:
        return f"id:{finding.cell_id}"
    if notebook is not None and 0 <= finding.cell_index < len(notebook.cells):
        cell = notebook.cells[finding.cell_index]
        if cell.id:
            return f"id:{cell.id}"
        return "source:" + _sha256(cell.source.encode("utf-8", "surrogatepass")).hexdigest()
    return f"index:{finding.cell_index}"  # nothing better is known: not stable under moves


def _sha256(data: bytes) -> Any:
    """hashlib's SHA-256 of ``data``, imported here: only SARIF needs it, and hashlib costs every lint process ~3 ms."""
    import hashlib

    return hashlib.sha256(data)
