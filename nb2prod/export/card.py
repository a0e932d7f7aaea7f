"""The model card's text from the notebook's markdown: its title and description, as plain text.

The title is the first line of the notebook's first markdown cell when that line is a heading (any
level) or bold text alone (``**Churn model**``, a common way to title a notebook); otherwise the
first level-1 heading (``# Churn model``) of any markdown cell. The description is the markdown
after the title, up to the first code cell or the next heading.

Both end up in TOML strings, Python docstrings and README.md, so control characters are dropped
from them (tabs and newlines stay; Unicode's line and paragraph separators become newlines; a lone
surrogate, which no file can hold in UTF-8, becomes U+FFFD): a notebook always gives valid files
(reliability.md scenario 56). Dropped rather than escaped: they are invisible in the notebook, so
an escape such as ``\x7f`` in the card would show what the author never saw.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..model import Cell
from ..notebook import Notebook

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+|$)(.*?)(?:[ \t]+#+)?[ \t]*$")
_BOLD = re.compile(r"^ {0,3}(\*\*|__)((?:(?!\1).)+)\1[ \t]*$")
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_INLINE = (
    (re.compile(r"^ {0,3}> ?", re.MULTILINE), ""),  # block quotes (nbdev's `> summary` line)
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images: their alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links: their text
    (re.compile(r"</?[A-Za-z][^>]*>"), ""),  # HTML tags
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),  # strong
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"\1"),  # emphasis
    (re.compile(r"`([^`]*)`"), r"\1"),  # code
)


def _clean(text: str) -> str:
    """``text`` without control characters (see the module docstring)."""

    def replace(match: re.Match[str]) -> str:
        char = match.group()
        return "\n" if char in "\u2028\u2029" else "\ufffd" if "\ud800" <= char <= "\udfff" else ""

    return _UNSAFE.sub(replace, text)


def _plain(markdown: str) -> str:
    """Markdown as plain text: control characters dropped, inline markup removed, lines kept, runs of blank lines collapsed."""
    markdown = _clean(markdown)
    for pattern, replacement in _INLINE:
        markdown = pattern.sub(replacement, markdown)
    lines = [line.rstrip() for line in markdown.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def title_and_description(notebook: Notebook) -> tuple[str, str]:
    """The card's title and description, as plain text (see the module docstring); empty strings when there is no title."""
    cells = notebook.cells
    found = _first_line_title(cells) or _first_heading(cells)
    if found is None:
        return "", ""
    position, start, title = found
    parts: list[str] = []
    for index in range(position, len(cells)):
        cell = cells[index]
        if cell.cell_type == "code":
            break
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.split("\n")
        begin = start if index == position else 0
        stop = next((i for i in range(begin, len(lines)) if _HEADING.match(lines[i])), None)
        parts.append("\n".join(lines[begin:stop]))
        if stop is not None:
            break
    return title, _plain("\n\n".join(parts))


def _first_line_title(cells: Sequence[Cell]) -> tuple[int, int, str] | None:
    """(cell position, line after the title, title) when the first markdown cell's first line is a heading or bold text alone."""
    position = next((index for index, cell in enumerate(cells) if cell.cell_type == "markdown"), None)
    if position is None:
        return None
    lines = cells[position].source.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return None
    match = _HEADING.match(lines[first]) or _BOLD.match(lines[first])
    title = _plain(match.group(2)) if match else ""
    return (position, first + 1, title) if title else None


def _first_heading(cells: Sequence[Cell]) -> tuple[int, int, str] | None:
    """(cell position, line after the heading, its text) of the first level-1 heading of any markdown cell."""
    for position, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        for i, line in enumerate(cell.source.split("\n")):
            match = _HEADING.match(line)
            if match and len(match.group(1)) == 1 and (title := _plain(match.group(2))):
                return position, i + 1, title
    return None
