"""ruff's safe fixes for ``lint --fix``, applied by nb2prod edit by edit so that each can be refused.

``ruff check --fix`` applies every safe fix of a notebook at once and says only how many of each
code it applied. That once deleted a whole cell without a word: F401 removed
``from sklearn.experimental import enable_halving_search_cv`` (imported for its side effect) and the
import below it, and the cell, now empty, was removed as NB502. So nb2prod asks ruff for its
diagnostics with their fixes (``--output-format json``, nothing written) and applies the edits
itself, refusing:

- a fix in a cell whose ``# nb2prod: noqa`` comment suppresses its code;
- a fix that touches a line with a ``# noqa`` comment (any codes: such a line was marked on
  purpose; ruff itself only honours the comment on the diagnostic's own line and codes);
- removing an import kept for its side effect (:func:`nb2prod.lint.ruff.side_effect_import`:
  ``enable_*`` modules, ``__future__``);
- every fix of a round that would leave a cell that held code empty: the cell stays as it was and a
  note says so (a fix never removes a cell; delete it yourself if it is not needed);
- a fix whose edits overlap one already taken in that round (ruff's own rule; the next round
  takes it up if it still applies).

Like ruff, the fixes are applied in rounds until none is left (a removed variable can leave an
import unused), at most :data:`MAX_ROUNDS`. Each fix applied is recorded with its cell and ruff's
description (``cell 3: F401 removed unused import 'os'``) for the summary; like every note, with the notebook's secrets masked (a fix title
or a syntax error may quote the code).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import Nb2prodError, ToolError
from ..formatting import _checkable, _python_of
from ..model import source_text
from ..notebook import Notebook
from .redact import Redactor
from .ruff import ruff_executable, side_effect_import
from .suppress import cell_suppresses

MAX_ROUNDS = 10
_NEWLINE = re.compile(r"\r\n|\r|\n")
_NOQA = re.compile(r"#\s*noqa\b", re.IGNORECASE)
_BACKTICKED = re.compile(r"`([^`]*)`")
_IRREGULAR = {"rewrite": "rewrote", "split": "split", "set": "set", "run": "ran", "make": "made"}


@dataclass(frozen=True)
class AppliedFix:
    """One fix applied: the cell (0-based index in the notebook as read; None: the notebook), code, what it did."""

    cell_index: int | None
    code: str
    description: str


@dataclass
class RuffFixes:
    """ruff's safe fixes for one notebook: changed cell sources, what was applied, notes, or an error."""

    sources: dict[int, str] = field(default_factory=dict)
    applied: list[AppliedFix] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: Nb2prodError | None = None

    @property
    def fixed(self) -> Counter[str]:
        """Fixes applied, by code."""
        return Counter(fix.code for fix in self.applied)


def minimal_copy(cells: Sequence[Mapping[str, Any]], sources: Sequence[str], metadata: Mapping[str, Any]) -> str:
    """The notebook as ruff needs it: every cell's type and the given source (positions kept), no outputs."""
    minimal_cells = []
    for cell, source in zip(cells, sources, strict=True):
        minimal: dict[str, Any] = {"cell_type": cell["cell_type"], "metadata": {}, "source": source}
        vscode = (cell.get("metadata") or {}).get("vscode")
        if vscode is not None:
            minimal["metadata"]["vscode"] = vscode  # ruff skips cells VS Code marks as another language
        if cell["cell_type"] == "code":
            minimal.update(execution_count=None, outputs=[])
        minimal_cells.append(minimal)
    kept = {key: value for key, value in metadata.items() if key in ("kernelspec", "language_info")}
    return json.dumps({"cells": minimal_cells, "metadata": kept, "nbformat": 4, "nbformat_minor": 4})


def past_tense(description: str) -> str:
    """``Remove unused import: `os``` -> ``removed unused import 'os'`` (ruff's fix titles are imperatives)."""
    words = description.split(" ", 1)
    verb = words[0].lower()
    if verb in _IRREGULAR:
        verb = _IRREGULAR[verb]
    elif verb.endswith("e"):
        verb += "d"
    elif verb.endswith("y") and len(verb) > 1 and verb[-2] not in "aeiou":
        verb = verb[:-1] + "ied"
    elif verb.isalpha():
        verb += "ed"
    rest = words[1] if len(words) > 1 else ""
    rest = re.sub(r":\s*(?=`)", " ", rest)
    return " ".join(part for part in (verb, _BACKTICKED.sub(r"'\1'", rest)) if part)


def _describe(item: Mapping[str, Any]) -> str:
    """What a fix does, from ruff's fix title and, when the title names nothing, the diagnostic's name."""
    title = str((item.get("fix") or {}).get("message") or "")
    message = str(item.get("message") or "")
    if not title:
        return "fixed: " + _BACKTICKED.sub(r"'\1'", message)
    named = _BACKTICKED.search(message)
    if "`" not in title and named is not None:
        title += f": `{named.group(1)}`"
    return past_tense(title)


def _line_starts(source: str) -> list[int]:
    return [0, *(match.end() for match in _NEWLINE.finditer(source))]


def _offset(starts: Sequence[int], length: int, location: Mapping[str, Any]) -> int:
    """A ruff location (1-based row and character column, cell-relative) as an offset into the cell's source."""
    row, column = int(location.get("row", 1)), int(location.get("column", 1))
    if row > len(starts):
        return length
    return min(starts[max(row, 1) - 1] + max(column, 1) - 1, length)


def _touched_lines(source: str, starts: Sequence[int], spans: Sequence[tuple[int, int]]) -> list[str]:
    """The lines of ``source`` an edit touches (an edit ending at the start of a line does not touch it)."""
    lines = _NEWLINE.split(source)
    found = []
    for start, end in spans:
        first = max(sum(1 for s in starts if s <= start) - 1, 0)
        last = max(sum(1 for s in starts if s < end) - 1, first) if end > start else first
        found.extend(lines[first : last + 1])
    return found


def _run_ruff(name: str, document: str, args: Sequence[str]) -> tuple[list[Mapping[str, Any]] | None, Nb2prodError | None]:
    command = [ruff_executable(), *args, "--stdin-filename", name, "-"]
    try:
        done = subprocess.run(command, input=document, capture_output=True, text=True, check=False)
    except OSError as exc:
        return None, ToolError(f"cannot run ruff: {exc.strerror or exc}", hint="reinstall nb2prod (ruff is a dependency)")
    if done.returncode not in (0, 1):
        first = (done.stderr.strip().splitlines() or ["no message"])[0]
        return None, ToolError(f"ruff failed (exit {done.returncode}): {first}", hint="check the ruff configuration of the project")
    try:
        items = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        return None, ToolError("ruff's output is not the JSON nb2prod asked for", hint="upgrade ruff to 0.6 or newer")
    return items, None


def ruff_fixes(notebook: Notebook, args: Sequence[str]) -> RuffFixes:
    """Apply ruff's safe fixes to a copy of the notebook's cell sources, refusing the ones the module docstring lists.

    ``args`` are ``ruff check`` arguments giving JSON diagnostics without fixing (the selection of
    :func:`nb2prod.lint.ruff.ruff_arguments`). The notebook is not modified.
    """
    result = RuffFixes()
    cells = notebook.data["cells"]
    original = [source_text(cell.get("source", "")) for cell in cells]
    current = list(original)
    frozen: set[int] = set()  # cells a fix would have emptied: left as they are
    name = os.fspath(notebook.path) + (".ipynb" if notebook.is_text else "")
    for round_number in range(MAX_ROUNDS):
        items, error = _run_ruff(name, minimal_copy(cells, current, notebook.data.get("metadata") or {}), args)
        if error is not None:
            result.error = error
            return result
        broken = [item for item in items or () if (item.get("code") or "invalid-syntax") in ("invalid-syntax", "E999")]
        if broken:
            item = broken[0]
            where = f"cell {item.get('cell')} does not parse (line {(item.get('location') or {}).get('row')}: {item.get('message')})"
            cell = item.get("cell")
            where = Redactor(notebook).text(where, cell - 1 if isinstance(cell, int) else None)
            if round_number == 0:
                result.notes.append(f"ruff's fixes not applied: {where}")
            else:
                result.error = ToolError(f"ruff's fixes would break the notebook: {where}; nothing written", hint="please report this")
            return result
        taken = _take_round(items or (), current, frozen, result)
        if not taken:
            break
    redactor = Redactor(notebook)
    result.notes = [redactor.text(note) for note in result.notes]
    result.applied = [AppliedFix(fix.cell_index, fix.code, redactor.text(fix.description, fix.cell_index)) for fix in result.applied]
    for index, (before, after) in enumerate(zip(original, current, strict=True)):
        if before == after:
            continue
        if cells[index]["cell_type"] != "code":
            kind = cells[index]["cell_type"]
            result.error = ToolError(f"ruff changed {kind} cell {index + 1}; nothing written", hint="please report this")
            return result
        if not _checkable(before) or not _checkable(after) or _magics(before) != _magics(after):
            result.error = ToolError(
                f"cell {index + 1}: ruff's fix cannot be verified (the cell does not parse before or after, or its IPython syntax "
                "changed); nothing written",
                hint="fix the cell by hand, or report this to ruff",
            )
            return result
        result.sources[index] = after
    return result


def _take_round(items: Sequence[Mapping[str, Any]], current: list[str], frozen: set[int], result: RuffFixes) -> int:
    """Apply one round of fixes to ``current`` in place; return how many were applied."""
    by_cell: dict[int, list[tuple[list[tuple[int, int, str]], Mapping[str, Any]]]] = {}
    for item in items:
        fix = item.get("fix") or {}
        cell = item.get("cell")
        code = item.get("code") or ""
        if fix.get("applicability") != "safe" or not isinstance(cell, int) or not 1 <= cell <= len(current) or cell - 1 in frozen:
            continue
        index = cell - 1
        source = current[index]
        if cell_suppresses(source, code) or (code == "F401" and side_effect_import(str(item.get("message") or ""))):
            continue
        starts = _line_starts(source)
        length = len(source)
        edits = [
            (
                _offset(starts, length, edit.get("location") or {}),
                _offset(starts, length, edit.get("end_location") or {}),
                edit.get("content") or "",
            )
            for edit in fix.get("edits") or ()
        ]
        own_line = _offset(starts, length, {"row": (item.get("location") or {}).get("row", 1), "column": 1})
        spans = [(own_line, own_line), *((start, end) for start, end, _ in edits)]
        if not edits or any(_NOQA.search(line) for line in _touched_lines(source, starts, spans)):
            continue
        by_cell.setdefault(index, []).append((sorted(edits), item))
    applied = 0
    for index, fixes in sorted(by_cell.items()):
        source = current[index]
        accepted: list[tuple[int, int, str]] = []
        records: list[AppliedFix] = []
        for edits, item in sorted(fixes, key=lambda pair: (pair[0][0][0], str(pair[1].get("code")))):
            same = all(edit in accepted for edit in edits)
            if not same and any(_overlaps(edit, other) for edit in edits for other in accepted):
                continue  # the next round takes it up if it still applies
            if not same:
                accepted.extend(edits)
            records.append(AppliedFix(index, str(item.get("code")), _describe(item)))
        new = source
        for start, end, content in sorted(accepted, reverse=True):
            new = new[:start] + content + new[end:]
        if source.strip() and not new.strip():
            frozen.add(index)
            codes = ", ".join(sorted({record.code for record in records}))
            result.notes.append(
                f"cell {index + 1}: {codes} fix not applied: it would leave the cell empty, and a fix never removes a cell "
                "(delete the cell yourself if it is not needed)"
            )
            continue
        if new != source:
            current[index] = new
            result.applied.extend(records)
            applied += len(records)
    return applied


def _overlaps(one: tuple[int, int, str], other: tuple[int, int, str]) -> bool:
    """Whether two edits touch the same text (two insertions at one point count as overlapping)."""
    return (one[0] < other[1] and other[0] < one[1]) or one[0] == other[0]


def _magics(source: str) -> tuple[tuple[str, str, str], ...]:
    view = _python_of(source)
    return view[1] if view is not None else ()
