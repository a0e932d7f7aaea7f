"""The read-only view of a notebook's cells that every feature works from.

A ``Cell`` is parsed once — source joined, tags and ``#|`` directives extracted, its role decided —
so lint, export and run never re-parse cell markup and never disagree about it (DESIGN.md,
"Cell markup").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# `#| name args`, also the spacing variants `#|name` and `# | name`; quarto-style `#| key: value`
# keeps its value in ``args``.
_DIRECTIVE = re.compile(r"^\s*#\s*\|\s*([A-Za-z_][\w-]*)\s*:?\s*(.*?)\s*$")

#: Roles a cell can have, and the tags and directive names that give them.
ROLE_TAGS: Mapping[str, str] = {
    "parameters": "parameters",
    "export": "export",
    "export-internal": "export-internal",
    "test": "test",
    "main": "main",
    "skip": "skip",
}
ROLE_DIRECTIVES: Mapping[str, str] = {
    "parameters": "parameters",
    "export": "export",
    "exports": "export",  # nbdev: exported and shown in docs
    "exporti": "export-internal",
    "test": "test",
    "main": "main",
    "skip": "skip",
    "hide": "skip",
}


@dataclass(frozen=True)
class Directive:
    """One ``#| name args`` line at the top of a cell; ``line`` is 1-based within the cell."""

    name: str
    args: str
    line: int


@dataclass(frozen=True)
class Cell:
    """A cell as features see it. ``raw`` is the cell's JSON object: read it, never mutate it."""

    index: int
    id: str | None
    cell_type: str
    source: str
    tags: tuple[str, ...]
    directives: tuple[Directive, ...]
    execution_count: int | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def number(self) -> int:
        """The 1-based cell number Jupyter shows, used in ``path:cell N:line L`` locations."""
        return self.index + 1

    @property
    def roles(self) -> frozenset[str]:
        """The cell's roles (``export``, ``test``, ``parameters``…) from its tags and directives."""
        roles = {role for tag, role in ROLE_TAGS.items() if tag in self.tags}
        roles.update(ROLE_DIRECTIVES[d.name] for d in self.directives if d.name in ROLE_DIRECTIVES)
        return frozenset(roles)

    def directive(self, name: str) -> Directive | None:
        """The first directive called ``name``, or None."""
        return next((d for d in self.directives if d.name == name), None)


def source_text(source: str | Sequence[str]) -> str:
    """A cell source as one string; nbformat allows a string or a list of lines."""
    return source if isinstance(source, str) else "".join(source)


def parse_directives(source: str) -> tuple[Directive, ...]:
    """The directives of a cell: the ``#|`` lines at its top (blank lines between them allowed)."""
    found = []
    for number, line in enumerate(source.splitlines(), start=1):
        match = _DIRECTIVE.match(line)
        if match:
            found.append(Directive(match.group(1), match.group(2), number))
        elif line.strip():
            break
    return tuple(found)


def make_cell(index: int, raw: Mapping[str, Any]) -> Cell:
    """Build the view of one validated cell object."""
    source = source_text(raw.get("source", ""))
    metadata = raw.get("metadata") or {}
    cell_type = raw["cell_type"]
    return Cell(
        index=index,
        id=raw.get("id"),
        cell_type=cell_type,
        source=source,
        tags=tuple(metadata.get("tags", ())),
        directives=parse_directives(source) if cell_type == "code" else (),
        execution_count=raw.get("execution_count"),
        raw=raw,
    )
