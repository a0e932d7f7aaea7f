"""The model card's text from the notebook's markdown: its title and description, as plain text."""

from __future__ import annotations

import re

from ..notebook import Notebook

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+|$)(.*?)(?:[ \t]+#+)?[ \t]*$")
_INLINE = (
    (re.compile(r"^ {0,3}> ?", re.MULTILINE), ""),  # block quotes (nbdev's `> summary` line)
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images: their alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links: their text
    (re.compile(r"</?[A-Za-z][^>]*>"), ""),  # HTML tags
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),  # strong
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"\1"),  # emphasis
    (re.compile(r"`([^`]*)`"), r"\1"),  # code
)


def _plain(markdown: str) -> str:
    """Markdown as plain text: inline markup removed, lines kept, runs of blank lines collapsed."""
    for pattern, replacement in _INLINE:
        markdown = pattern.sub(replacement, markdown)
    lines = [line.rstrip() for line in markdown.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def title_and_description(notebook: Notebook) -> tuple[str, str]:
    """The first ``# `` heading and the markdown after it, up to the first code cell or the next heading (plain text)."""
    title = ""
    parts: list[str] = []
    for cell in notebook.cells:
        if title and cell.cell_type == "code":
            break
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.split("\n")
        start = 0
        if not title:
            found = next(((i, m) for i, line in enumerate(lines) if (m := _HEADING.match(line)) and len(m.group(1)) == 1), None)
            if found is None:
                continue
            start, match = found[0] + 1, found[1]
            title = _plain(match.group(2))
        stop = next((i for i in range(start, len(lines)) if _HEADING.match(lines[i])), None)
        parts.append("\n".join(lines[start:stop]))
        if stop is not None:
            break
    return title, _plain("\n\n".join(parts))
