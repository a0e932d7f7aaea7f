"""``--format sarif``: lint results as a SARIF 2.1.0 log for GitHub code scanning.

Each finding gets a fingerprint that survives moving cells (:func:`fingerprints`), and a line of
the file where one is known (for an ``.ipynb``, the JSON line holding the cell's source line).
A pure function of the results: nothing here prints or touches the disk.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .filelines import FileLines
from .findingtext import cell_position, error_line, sorted_findings, source_line
from .redact import Redactor
from .rule import FileResult, Finding, Rule, RuleDoc, Severity

if TYPE_CHECKING:
    from ..notebook import Notebook

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


INFORMATION_URI = "https://github.com/nb2prod/nb2prod"


RUFF_RULES_URI = "https://docs.astral.sh/ruff/rules/"


#: The key of ``partialFingerprints``. GitHub's upload action fills this key from the raw file
#: line when a tool leaves it out, which inside an .ipynb is a line of JSON that moves with every
#: edit above it; providing it keeps GitHub on nb2prod's cell-aware fingerprint.
FINGERPRINT_KEY = "primaryLocationLineHash"


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


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
    ordered = [(result, sorted_findings(result)) for result in results]
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
            "message": {"text": error_line(result)},
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
    text = message if finding.cell_index is None else f"{message} ({cell_position(finding)})"
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
