"""Where users switch findings off: ``# nb2prod: noqa`` in a cell, the notebook's metadata, and
``per-path-ignores``. Shared by lint (which drops suppressed findings) and ``--fix`` (which must
not fix what the user suppressed)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

NOQA = re.compile(r"#\s*nb2prod:\s*noqa\b(?::?\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*))?", re.IGNORECASE)


def matches(code: str, selectors: Iterable[str]) -> bool:
    """Whether ``code`` is named by one of ``selectors`` (a code, a prefix of one, or ALL)."""
    return any(selector.upper() == "ALL" or code.startswith(selector.upper()) for selector in selectors)


def cell_suppresses(source: str, code: str) -> bool:
    """Whether a ``# nb2prod: noqa [CODES]`` comment in the cell's source suppresses ``code``."""
    for match in NOQA.finditer(source):
        codes = match.group("codes")
        if codes is None or matches(code, [c.strip() for c in codes.split(",")]):
            return True
    return False


def metadata_ignores(metadata: Mapping[str, Any]) -> tuple[str, ...]:
    """The codes listed under ``metadata.nb2prod.ignore`` of a notebook."""
    section = metadata.get("nb2prod")
    ignore = section.get("ignore") if isinstance(section, Mapping) else None
    return tuple(code for code in ignore if isinstance(code, str)) if isinstance(ignore, list) else ()


def path_ignores(shown: str, per_path: Mapping[str, tuple[str, ...]], root: Path | None) -> tuple[str, ...]:
    """The codes ``per-path-ignores`` switches off for a file (patterns relative to the project root)."""
    if not per_path:
        return ()
    try:
        relative = Path(shown).resolve().relative_to((root or Path.cwd()).resolve()).as_posix()
    except ValueError:
        relative = Path(shown).as_posix()
    codes: list[str] = []
    for pattern, ignored in per_path.items():
        if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(Path(shown).name, pattern):
            codes.extend(ignored)
    return tuple(codes)
