"""``fmt``'s cell selection: which code cells of a notebook are formatted, and notes about those that cannot be.

Non-Python notebooks, non-Python cell magics (``%%bash``…) and cells VS Code marks as another
language are skipped; a cell that does not parse after the IPython rewrite gets a note.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .fmtverify import PYTHON_CELL_MAGICS, _checkable_view, _parse_problem, _View
from .model import source_text

#: Kernel languages formatted as Python.
PYTHON_LANGUAGES = frozenset({"python", "python3", "ipython", "ipython3"})


_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t\f]*\r?\n)+")


def _language(data: Mapping[str, Any]) -> str | None:
    meta = data.get("metadata") or {}
    kernelspec, info = meta.get("kernelspec"), meta.get("language_info")
    language = (kernelspec.get("language") if isinstance(kernelspec, Mapping) else None) or (
        info.get("name") if isinstance(info, Mapping) else None
    )
    return language if isinstance(language, str) else None


def is_python_notebook(data: Mapping[str, Any]) -> bool:
    """Whether the notebook's kernel language is Python (or not stated, which is taken as Python, as ruff does)."""
    language = _language(data)
    return language is None or language.lower() in PYTHON_LANGUAGES


def _cell_magic(source: str) -> str | None:
    """The name of the cell's ``%%magic`` (IPython skips blank lines before it), or None."""
    text = _LEADING_BLANK_LINES.sub("", source)
    if not text.startswith("%%"):
        return None
    first = text.split("\n", 1)[0][2:].split()
    return first[0] if first else ""


def _plan(data: Mapping[str, Any], views: dict[int, _View] | None = None, *, plain: bool = False) -> tuple[dict[int, str], list[str]]:
    """The code cells to format (index -> source) and notes about the cells that cannot be.

    ``views``, when given, receives the :func:`_python_of` view of each cell to format. ``plain``:
    the cells are plain Python known to parse, taken as they are.
    """
    if not is_python_notebook(data):
        return {}, [f"not formatted: the kernel language is {_language(data)}, not Python"]
    sources: dict[int, str] = {}
    notes: list[str] = []
    for index, cell in enumerate(data["cells"]):
        if cell.get("cell_type") != "code":
            continue
        vscode = (cell.get("metadata") or {}).get("vscode") or {}
        language = vscode.get("languageId") if isinstance(vscode, Mapping) else None
        if isinstance(language, str) and language.lower() not in PYTHON_LANGUAGES:
            continue
        source = source_text(cell.get("source", ""))
        if not source.strip():
            continue
        magic = _cell_magic(source)
        if magic is not None and magic not in PYTHON_CELL_MAGICS:
            continue  # %%bash, %%html…: not Python, never formatted
        view = (source, ()) if plain else _checkable_view(source)
        if view is None:
            notes.append(f"cell {index + 1} not formatted: {_parse_problem(source)}")
            continue
        sources[index] = source
        if views is not None:
            views[index] = view
    return sources, notes
