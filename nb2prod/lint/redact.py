"""Keep the secrets of a notebook out of everything lint prints.

NB302 reports a credential with its message masked, but a report also shows the offending source
line (text format), a ruff or nbqa finding on the same line shows that line too, and another tool's
message may quote a literal (mypy's ``Literal['…']``). :class:`Redactor` finds the secrets of one
notebook the way NB302 does — credentials in a known format anywhere in a cell (comments included)
and string literals bound to a password-, token- or key-like name — and masks every place they
would appear: a shown source line (with the caret column mapped onto the masked line), a message
(the secrets of the finding's own cell, and credentials in a known format wherever they come
from), and the line text hashed into a SARIF fingerprint (a hash of a line with a short password in
it can be brute-forced). Cells are examined only when something about them is shown.

A secret is shown as its first 4 characters and an ellipsis when it is at least
:data:`SHOWN_PREFIX_MIN` characters long (a token's prefix says its kind, ``sk-a…``), else as an
ellipsis alone; the part of a secret that continues on another line (a private key block) becomes
an ellipsis. The detection is the NB302 rule's, imported from it, so the two agree on what a
secret is; masking does not depend on NB302 being selected or suppressed.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from .ipython import TransformedCell, parse_quietly, transform_cell
from .rules.portability import find_tokens, looks_like_secret, named_values, secret_kind

if TYPE_CHECKING:
    from ..notebook import Notebook

#: Secrets shorter than this are masked without showing their first characters.
SHOWN_PREFIX_MIN = 12
ELLIPSIS = "…"
_NEWLINE = re.compile(r"\r\n|\r|\n")
#: Every name NB302 takes for a secret's contains one of these: cells without any are not parsed.
_NAME_HINT = re.compile(r"pass|pwd|secret|credential|key|token|auth|bearer", re.IGNORECASE)
_KEY_BLOCK_END = re.compile(r"-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----")


def mask_secret(secret: str) -> str:
    """How a secret is shown: ``sk-a…`` for a long one, ``…`` for a short one (a 6-character password)."""
    return secret[:4] + ELLIPSIS if len(secret) >= SHOWN_PREFIX_MIN else ELLIPSIS


def _line_starts(source: str) -> list[int]:
    """Offsets where each line of ``source`` starts, split as Python and ruff number lines."""
    return [0, *(match.end() for match in _NEWLINE.finditer(source))]


class _CellSecrets:
    """The secret ranges of one cell's source: ``(start, end)`` offsets, sorted and merged."""

    def __init__(self, source: str, *, code: bool):
        self.source = source
        self.starts = _line_starts(source)
        self.values: set[str] = set()
        ranges = list(self._token_ranges()) + (list(self._named_ranges()) if code else [])
        for value in sorted(self.values, key=len, reverse=True):  # the same value elsewhere in the cell (a comment, a print)
            position = source.find(value)
            while position >= 0:
                ranges.append((position, position + len(value)))
                position = source.find(value, position + 1)
        self.ranges = _merged(ranges)

    def _token_ranges(self) -> Iterator[tuple[int, int]]:
        for kind, match in find_tokens(self.source):
            start, end = match.span()
            if kind == "private key":  # the header only matches: the key material follows it
                closing = _KEY_BLOCK_END.search(self.source, end)
                end = closing.end() if closing else len(self.source)
            self.values.add(match.group())
            yield start, end

    def _named_ranges(self) -> Iterator[tuple[int, int]]:
        if not _NAME_HINT.search(self.source):
            return
        transformed = transform_cell(self.source)
        try:
            tree = parse_quietly(transformed.python)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return
        python_lines = transformed.python.split("\n")
        for name, value in named_values(list(ast.walk(tree))):
            if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                continue
            kind = secret_kind(name)
            if kind is None or not looks_like_secret(kind, value.value):
                continue
            self.values.add(value.value)
            if value.end_lineno is None or value.end_col_offset is None:
                continue
            start = self._offset(transformed, python_lines, value.lineno, value.col_offset)
            end = self._offset(transformed, python_lines, value.end_lineno, value.end_col_offset)
            if value.value not in self.source[start:end]:  # written with escapes or implicit concatenation
                yield start, end

    def _offset(self, transformed: TransformedCell, python_lines: Sequence[str], line: int, byte_column: int) -> int:
        """The offset in the cell of an AST position (a UTF-8 byte column of the transformed Python)."""
        text = python_lines[line - 1] if 0 < line <= len(python_lines) else ""
        column = len(text.encode("utf-8")[:byte_column].decode("utf-8", errors="ignore"))
        column = transformed.original_column(line, column)
        base = self.starts[line - 1] if 0 < line <= len(self.starts) else len(self.source)
        return min(base + column, len(self.source))

    def line(self, number: int, text: str) -> tuple[str, list[tuple[int, int, int]]]:
        """Line ``number`` (1-based) masked, and the ``(start, end, replacement length)`` of each masked part."""
        if not self.ranges or not 0 < number <= len(self.starts):
            return text, []
        begin = self.starts[number - 1]
        stop = begin + len(text)
        pieces: list[str] = []
        parts: list[tuple[int, int, int]] = []
        cursor = 0
        first = bisect.bisect_left(self.ranges, (begin,)) - 1
        for start, end in self.ranges[max(first, 0) :]:
            if start >= stop:
                break
            if end <= begin:
                continue
            left, right = max(start, begin) - begin, min(end, stop) - begin
            replacement = mask_secret(self.source[start:end]) if start >= begin else ELLIPSIS
            pieces += [text[cursor:left], replacement]
            parts.append((left, right, len(replacement)))
            cursor = right
        pieces.append(text[cursor:])
        return "".join(pieces), parts


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif end > start:
            merged.append((start, end))
    return merged


def masked_column(parts: Sequence[tuple[int, int, int]], column: int) -> int:
    """A 0-based column of the original line moved onto the masked line (inside a secret: its start)."""
    shift = 0
    for start, end, length in parts:
        if column < start:
            break
        if column < end:
            return start + shift
        shift += length - (end - start)
    return column + shift


class Redactor:
    """The secrets of one notebook, found on first use, and the masking of text that may show them."""

    def __init__(self, notebook: Notebook | None):
        self._notebook = notebook
        self._cells: dict[int, _CellSecrets] = {}

    def _cell(self, index: int) -> _CellSecrets | None:
        if self._notebook is None or not 0 <= index < len(self._notebook.cells):
            return None
        if index not in self._cells:
            cell = self._notebook.cells[index]
            self._cells[index] = _CellSecrets(cell.source, code=cell.cell_type == "code")
        return self._cells[index]

    def line(self, cell_index: int | None, line: int | None, text: str) -> tuple[str, list[tuple[int, int, int]]]:
        """A source line of a cell with its secrets masked, and the masked parts (for :func:`masked_column`)."""
        cell = self._cell(cell_index) if cell_index is not None and line is not None else None
        if cell is None or line is None:
            return text, []
        return cell.line(line, text)

    def secrets(self, cell_index: int) -> list[str]:
        """The secret values of one cell, longest first."""
        cell = self._cell(cell_index)
        return sorted(cell.values, key=len, reverse=True) if cell is not None else []

    def text(self, text: str, cell_index: int | None = None) -> str:
        """``text`` (a message, a note) with any credential in a known format masked, and the secrets of cell
        ``cell_index`` (the cell a finding is about: a message quotes code of its own cell)."""
        for value in self.secrets(cell_index) if cell_index is not None else ():
            if value in text:
                text = text.replace(value, mask_secret(value))
        if any(True for _ in find_tokens(text)):
            text = "".join(_masked_tokens(text))
        return text


def _masked_tokens(text: str) -> Iterator[str]:
    cursor = 0
    for _, match in find_tokens(text):
        if match.start() < cursor:
            continue
        yield text[cursor : match.start()]
        yield mask_secret(match.group())
        cursor = match.end()
    yield text[cursor:]


def mask_source(source: str) -> str:
    """Code that is not a cell of the notebook (what a kernel ran, ``%nb2prod lint``'s live rules quote it) with its secrets masked."""
    secrets = _CellSecrets(source, code=True)
    masked, cursor = [], 0
    for start, end in secrets.ranges:
        masked += [source[cursor:start], mask_secret(source[start:end])]
        cursor = end
    return "".join([*masked, source[cursor:]])
