"""Where a cell's source line sits in an .ipynb file, for reports that place findings on file lines.

Notebook positions are cell-relative (``cell 3, line 2``) while GitHub places annotations, and
SARIF regions, on lines of the file. nbformat stores a cell's source as a JSON list with one string
per line (or as one string, all on one line of the file); the raw JSON is walked with positions,
so this works for any indent and key order.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .rule import Finding

if TYPE_CHECKING:
    from ..notebook import Notebook

_NEWLINE = re.compile(r"\r\n|\r|\n")
_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def split_lines(source: str) -> list[str]:
    """A cell's lines, split the way Python and ruff number them (``\\n``, ``\\r\\n``, ``\\r``)."""
    return _NEWLINE.split(source)


class FileLines:
    """Maps a cell-relative line to the line of the .ipynb file that holds it, computed on first use.

    nbformat stores a cell's source as a JSON list with one string per line (or as one string, all
    on one line of the file). The raw JSON is walked with positions, so this works for any indent
    and key order; anything unexpected (a text notebook, a source list not split at line ends)
    gives None rather than a wrong line.
    """

    def __init__(self, notebook: Notebook | None):
        self._notebook = notebook
        self._cells: list[list[int] | None] | None = None

    def file_line(self, finding: Finding) -> int | None:
        """The 1-based line of the file holding the finding's line, or None when it is not known."""
        if self._notebook is None or self._notebook.is_text or finding.cell_index is None or finding.line is None:
            return None
        if self._cells is None:
            self._cells = _ipynb_source_lines(self._notebook.raw)
        if not 0 <= finding.cell_index < len(self._cells):
            return None
        lines = self._cells[finding.cell_index]
        return lines[finding.line - 1] if lines is not None and 1 <= finding.line <= len(lines) else None


def _ipynb_source_lines(raw: bytes) -> list[list[int] | None]:
    """For each cell of an .ipynb file, the file line of each of its source lines (None: unknown)."""
    try:
        text = raw.decode("utf-8-sig")
        newlines = [match.start() for match in re.finditer("\n", text)]
        found: list[list[int] | None] = []
        for key, start, _ in _json_members(text, 0):
            if key != "cells":
                continue
            for cell_start, _ in _json_elements(text, start):
                source = next(((begin, end) for name, begin, end in _json_members(text, cell_start) if name == "source"), None)
                found.append(None if source is None else _source_positions(text, newlines, *source))
        return found
    except (ValueError, IndexError):  # not the JSON the notebook reader accepted: no mapping
        return []


def _source_positions(text: str, newlines: list[int], start: int, end: int) -> list[int] | None:
    """File lines of the source value at ``text[start:end]`` (a string, or a list of line strings)."""

    def line_at(position: int) -> int:
        return bisect.bisect_left(newlines, position) + 1

    if text[start] == '"':
        value = json.loads(text[start:end])
        return [line_at(start)] * len(split_lines(value))
    elements = list(_json_elements(text, start))
    pieces = [json.loads(text[begin:stop]) for begin, stop in elements]
    if not all(isinstance(piece, str) and _is_one_line(piece, last=number == len(pieces)) for number, piece in enumerate(pieces, 1)):
        return None  # not split at line ends: element k is not line k
    lines = [line_at(begin) for begin, _ in elements]
    if pieces and pieces[-1].endswith(("\n", "\r")):
        lines.append(lines[-1])  # the empty line after a final newline
    return lines or [line_at(start)]


def _is_one_line(piece: str, *, last: bool) -> bool:
    """Whether a source list element is exactly one line: one line end at its end (optional for the last)."""
    ending = _NEWLINE.search(piece)
    if ending is None:
        return last
    return ending.end() == len(piece)


def _skip_space(text: str, position: int) -> int:
    match = _JSON_SPACE.match(text, position)
    return match.end() if match else position


def _json_value_end(text: str, position: int) -> int:
    return json.JSONDecoder().raw_decode(text, position)[1]


def _json_members(text: str, position: int) -> Iterator[tuple[str, int, int]]:
    """``(key, value_start, value_end)`` of each member of the JSON object starting at ``position``."""
    position = _skip_space(text, position)
    if text[position] != "{":
        raise ValueError("not an object")
    position = _skip_space(text, position + 1)
    while text[position] != "}":
        key, position = json.JSONDecoder().raw_decode(text, position)
        position = _skip_space(text, position)
        if text[position] != ":":
            raise ValueError("':' expected")
        start = _skip_space(text, position + 1)
        end = _json_value_end(text, start)
        yield key, start, end
        position = _skip_space(text, end)
        if text[position] == ",":
            position = _skip_space(text, position + 1)


def _json_elements(text: str, position: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each element of the JSON array starting at ``position``."""
    position = _skip_space(text, position)
    if text[position] != "[":
        raise ValueError("not an array")
    position = _skip_space(text, position + 1)
    while text[position] != "]":
        end = _json_value_end(text, position)
        yield position, end
        position = _skip_space(text, end)
        if text[position] == ",":
            position = _skip_space(text, position + 1)
